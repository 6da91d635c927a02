"""Where a platform's genes come from (its own gene column, GEO's ``.annot``, GenBank accessions
through NCBI gene2accession), what refine says when one is missing, and the share of real GEO
microarray samples that refine when the commands it names have been run.

NCBI gene files are written from org.Hs.eg.db (``ncbi_human``) and served, with the GEO
fixtures, by a local server in NCBI's layout; nothing here touches the internet.
"""

from __future__ import annotations

import collections
import gzip
import re
import shlex
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.mapping import split_multi
from exprhub.refine.pipeline import RefineOptions, refine
from exprhub.refine.pipeline_plan import plan_platform, plan_samples
from tests.conftest import copy_hub
from tests.ingest.geo_server import GeoServer
from tests.refine.conftest import ncbi_gene_layout


def _refine(hub: Hub, *accessions: str) -> dict:
    return refine(
        hub, list(accessions), executor=SerialExecutor(), options=RefineOptions(skip_qn=True)
    ).to_dict()


def _run_suggested(command: str, home: Path, base_url: str) -> None:
    """Run a command refine printed (``exprhub ...``) against the test server."""
    argv = shlex.split(command)
    assert argv[0] == "exprhub"
    assert main([*argv[1:], "--home", str(home), "--base-url", base_url]) == 0


def _keep_columns(source: Path, target: Path, keep: tuple[str, ...]) -> None:
    """Write a platform SOFT file with only the ``keep`` columns of its table (as GenBank-keyed
    platforms such as GNF custom or cDNA arrays come: an ID and an accession column)."""
    out: list[str] = []
    index: list[int] | None = None
    in_table = False
    with gzip.open(source, "rt", encoding="latin-1", newline="") as handle:
        for line in handle:
            body = line.rstrip("\r\n")
            if body.startswith("#") and " = " in body and body[1:].split(" = ")[0] not in keep:
                continue
            if body.startswith("!platform_table_begin"):
                in_table = True
            elif body.startswith("!platform_table_end"):
                in_table = False
            elif in_table:
                cells = body.split("\t")
                if index is None:
                    index = [cells.index(k) for k in keep]
                out.append("\t".join(cells[i] if i < len(cells) else "" for i in index) + "\n")
                continue
            out.append(body + "\n")
    target.write_text("".join(out), encoding="latin-1")


def _entrez_column(platform: Path) -> dict[str, str]:
    """Probe -> gene of GPL96's own ENTREZ_GENE_ID column (single-gene probes only)."""
    out = {}
    with gzip.open(platform, "rt", encoding="latin-1") as handle:
        lines = iter(handle)
        for line in lines:
            if line.startswith("!platform_table_begin"):
                break
        header = next(lines).rstrip("\r\n").split("\t")
        col = header.index("ENTREZ_GENE_ID")
        for line in lines:
            if line.startswith("!platform_table_end"):
                break
            cells = line.rstrip("\r\n").split("\t")
            genes = split_multi(cells[col]) if col < len(cells) else []
            if len(genes) == 1:
                out[cells[0]] = genes[0]
    return out


@pytest.fixture
def hub(tmp_path):
    with Hub.init(tmp_path / "hub") as opened:
        yield opened


@pytest.fixture(scope="module")
def human_genes_home(tmp_path_factory, geo_fixtures, ncbi_human) -> Path:
    """A hub holding NCBI's human gene tables, brought by the command refine names for them
    (``exprhub genes fetch "Homo sapiens"``, from the local server); built once per module,
    tests work on copies (:func:`~tests.conftest.copy_hub`)."""
    home = tmp_path_factory.mktemp("human-genes") / "hub"
    Hub.init(home).close()
    with GeoServer(geo_fixtures, ncbi_gene_layout(ncbi_human)) as server:
        _run_suggested('exprhub genes fetch "Homo sapiens"', home, server.url)
    return home


def test_dataset_without_its_platform_waits_and_names_the_command(
    hub, geo_fixtures, capsys, tmp_path
):
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    report = _refine(hub, "GDS507")
    assert report["failed"] == {} and len(report["waiting"]) == 17
    assert report["missing"] == [
        {
            "platform": "GPL97",
            "tax_id": 9606,
            "reason": "platform GPL97 is not in the hub",
            "command": "exprhub fetch GPL97",
            "samples": 17,
        }
    ]
    key = sorted(report["waiting"])[0]
    prov = store.provenance(hub, key)
    assert prov["status"] == "waiting" and "`exprhub fetch GPL97`" in prov["message"]
    # the command line says it once for the platform, not once per sample
    code = main(["refine", "GDS507", "--home", str(hub.home), "--workers", "0", "--skip-qn"])
    out, err = capsys.readouterr()
    assert code == 0 and "0 failed, 17 waiting" in " ".join(out.split())
    assert [line for line in err.splitlines() if line.strip()] == [
        "waiting (17 samples): platform GPL97 is not in the hub; run `exprhub fetch GPL97`"
    ]
    # running the named command fixes it: it brings the platform and its GEO annotation
    record = tmp_path / "GPL97.soft.gz"
    _platform_block(geo_fixtures / "gemma/GSE3791_family.soft.gz", "GPL97", record)
    with GeoServer(geo_fixtures, {"acc:GPL97": record}) as server:
        _run_suggested(report["missing"][0]["command"], hub.home, server.url)
    capsys.readouterr()
    assert hub.has("GPL97") and hub.annotation("GPL97", table=False) is not None
    again = _refine(hub, "GDS507")
    assert again["waiting"] == {} and again["failed"] == {} and again["gene_level"] == 17
    # the annotation maps all 22,645 probes, the (chopped) platform table 180
    assert store.provenance(hub, key)["mapping"]["source"].startswith("GEO annotation GPL97")


def _platform_block(family: Path, platform: str, target: Path) -> None:
    """The ``^PLATFORM`` block of a family SOFT file, as GEO serves a platform record."""
    out: list[str] = []
    with gzip.open(family, "rt", encoding="latin-1", newline="") as handle:
        for line in handle:
            if line.startswith("^"):
                if out:
                    break
                if line.split("=", 1)[-1].strip() == platform and line.startswith("^PLATFORM"):
                    out.append(line)
            elif out:
                out.append(line)
    with gzip.open(target, "wt", encoding="latin-1", newline="") as handle:
        handle.write("".join(out))


def test_platform_without_gene_column_waits_for_its_annotation(hub, geo_fixtures, tmp_path):
    reduced = tmp_path / "GPL96.soft"
    _keep_columns(geo_fixtures / "geoquery/GPL96.txt.gz", reduced, ("ID", "SPOT_ID"))
    import_file(hub, reduced)
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    report = _refine(hub)
    assert report["failed"] == {} and list(report["waiting"]) == ["GSM11805"]
    [missing] = report["missing"]
    assert missing["command"] == "exprhub fetch GPL96 --annot"
    assert "no gene identifier column" in missing["reason"]


def test_genbank_keyed_platform_refines_through_gene2accession(
    hub, geo_fixtures, ncbi_human, tmp_path
):
    gpl96 = geo_fixtures / "geoquery/GPL96.txt.gz"
    reduced = tmp_path / "GPL96.soft"
    _keep_columns(gpl96, reduced, ("ID", "GB_ACC"))
    import_file(hub, reduced)
    import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
    report = _refine(hub)
    assert report["failed"] == {} and list(report["waiting"]) == ["GSM11805"]
    [missing] = report["missing"]
    assert missing["platform"] == "GPL96" and missing["samples"] == 1
    assert missing["command"] == 'exprhub genes fetch "Homo sapiens"'
    assert "'GB_ACC' holds GenBank accessions" in missing["reason"]

    with GeoServer(geo_fixtures, ncbi_gene_layout(ncbi_human)) as server:
        _run_suggested(missing["command"], hub.home, server.url)
    report = _refine(hub)
    assert report["waiting"] == {} and report["failed"] == {} and report["gene_level"] == 1
    mapping = store.provenance(hub, "GSM11805")["mapping"]
    assert mapping["column"] == "GB_ACC" and mapping["id_type"] == "genbank"
    stats = mapping["platform_stats"]
    assert stats["probes_total"] == 22283 and stats["control"] == 68
    assert stats["mapped"] + stats["multi_gene"] + stats["unresolved"] + stats["unmapped"] == (
        22283 - 68
    )
    # GenBank accessions lead to the genes Affymetrix's own ENTREZ_GENE_ID column names
    [sample] = plan_samples(hub, ["GSM11805"])
    assert sample.matrix is not None
    plan = plan_platform(hub, "GPL96", sample.matrix, None, RefineOptions(), tax_id=9606)
    by_accession = {p: g[0] for p, g in plan.probe_map.genes.items()}
    by_entrez = _entrez_column(gpl96)
    both = by_accession.keys() & by_entrez.keys()
    agree = sum(by_accession[p] == by_entrez[p] for p in both)
    assert len(by_accession) > 0.6 * (22283 - 68)
    assert len(both) > 14_000 and agree / len(both) > 0.95, (agree, len(both))


def _write_annotation(path: Path, platform: str, rows: list[tuple[str, str, str]]) -> None:
    lines = [
        "^Annotation",
        "!Annotation_date = 06/20/2008 15:39:40",
        f"!Annotation_platform = {platform}",
        "!Annotation_platform_organism = Homo sapiens",
        "#ID = ID from Platform data table",
        "#Gene symbol = Entrez Gene symbol",
        "#Gene ID = Entrez Gene identifier",
        "!platform_table_begin",
        "ID\tGene symbol\tGene ID",
        *("\t".join(row) for row in rows),
        "!platform_table_end",
    ]
    path.write_text("\n".join(lines) + "\n")


def test_annotation_gene_column_wins_over_genbank_accessions(
    human_genes_home, geo_fixtures, tmp_path
):
    gpl96 = geo_fixtures / "geoquery/GPL96.txt.gz"
    reduced = tmp_path / "GPL96.soft"
    _keep_columns(gpl96, reduced, ("ID", "GB_ACC"))
    # a hub holding NCBI's human GenBank accessions (gene2accession)
    with Hub(copy_hub(human_genes_home, tmp_path / "hub")) as hub:
        import_file(hub, reduced)
        import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
        # an annotation naming far fewer probes than the accessions map still wins: its Gene ID
        # column is GEO's own mapping, accessions are the last resort
        entrez = sorted(_entrez_column(gpl96).items())[:300]
        annot = tmp_path / "GPL96.annot"
        _write_annotation(annot, "GPL96", [(probe, "", gene) for probe, gene in entrez])
        import_file(hub, annot)
        report = _refine(hub)
        assert report["gene_level"] == 1
        mapping = store.provenance(hub, "GSM11805")["mapping"]
        assert mapping["source"].startswith("GEO annotation GPL96.annot")
        assert mapping["column"] == "Gene ID" and mapping["sample"]["mapped"] == 300


#: Real GEO microarray records (see ../shared/fixtures/geo/MANIFEST.md): human GDS507 (GPL97,
#: GEO's reference series GSE781), GSM11805 (GPL96), GSE3791 (human GPL96/97, mouse
#: GPL339/340), GSE11897 (mouse SuperSeries), GSE2870 + GDS1794 (rat GPL1355).
REAL_RECORDS = ("GDS507", "GSM11805", "GSE3791", "GSE11897", "GSE2870", "GDS1794")


def test_real_microarray_records_refine(
    tmp_path, geo_fixtures, ncbi_human, human_genes_home, capsys
):
    # NCBI's human gene tables are in the hub (`exprhub genes fetch "Homo sapiens"`)
    home = copy_hub(human_genes_home, tmp_path / "hub")
    with GeoServer(geo_fixtures, ncbi_gene_layout(ncbi_human)) as server:
        assert main(["fetch", *REAL_RECORDS, "--home", str(home), "--base-url", server.url]) == 0
    capsys.readouterr()
    assert main(["refine", "--home", str(home), "--workers", "0"]) == 0
    _, err = capsys.readouterr()
    with Hub(home) as hub:
        states = store.refine_states(hub)
        annotation = hub.annotation("GPL97", table=False)
    assert annotation is not None  # fetch brought GDS507's platform annotation along
    by_status = collections.Counter(st.status for st in states.values())
    by_platform = collections.Counter(
        (st.tax_id, st.platform_key, st.status) for st in states.values()
    )
    rest = {k: (st.status, st.message) for k, st in states.items() if st.status != "done"}
    print(f"refined {by_status['done']} of {len(states)} samples: {dict(by_platform)}")
    for key, (status, message) in sorted(rest.items()):
        print(f"  {key}: {status}: {message}")
    assert len(states) == 59
    assert by_status["done"] / len(states) >= 0.95, rest
    assert by_platform[(9606, "GPL97", "done")] == 20 and by_platform[(9606, "GPL96", "done")] == 4
    assert "failed" not in err


def test_failures_with_one_cause_are_printed_once(hub, geo_fixtures, tmp_path, capsys):
    import_file(hub, geo_fixtures / "geoquery/GDS507.soft.gz")
    annot = tmp_path / "GPL97.annot"
    # an annotation is there, but names no gene: a failure (nothing to fetch), not a wait
    _write_annotation(annot, "GPL97", [("222384_at", "", ""), ("222385_x_at", "", "")])
    import_file(hub, annot)
    code = main(["refine", "--home", str(hub.home), "--workers", "0", "--skip-qn"])
    out, err = capsys.readouterr()
    assert code == 0 and "17 failed" in " ".join(out.split())
    [line] = [line for line in err.splitlines() if line.strip()]
    assert re.match(r"failed GSM\d+(, GSM\d+){4} and 12 more: GEO annotation GPL97\.annot", line)
    assert "no gene identifier column" in line
