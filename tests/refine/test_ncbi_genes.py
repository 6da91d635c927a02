"""`genes fetch` against a local server in NCBI's gene/DATA layout: which files, filtering to
the organism, resume, kingdom fallback, the command line (small files written here)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.refine import store
from exprhub.refine.ncbi_genes import fetch_genes, gene_info_candidates, resolve_organism
from exprhub.refine.store import gene_accessions as links
from exprhub.transfer.download import NotOnServer
from tests.ingest.geo_server import GeoServer
from tests.refine.test_genes import GENE2ACCESSION, GENE2ENSEMBL, GENE_INFO


def _gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    return path


def _only(text: str, tax: str) -> str:
    header, *rows = text.splitlines(keepends=True)
    return header + "".join(r for r in rows if r.startswith(f"{tax}\t"))


CHIMP_GENE_INFO = GENE_INFO.splitlines(keepends=True)[0] + (
    "9598\t449497\tTP53\t-\t-\t-\t17\t-\ttumor protein p53\tprotein-coding\n"
)


@pytest.fixture
def ncbi_files(tmp_path: Path) -> dict[str, Path]:
    # gene2ensembl / gene2accession hold every organism, as NCBI's do
    return {
        "/gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz": _gz(
            tmp_path / "Homo_sapiens.gene_info.gz", _only(GENE_INFO, "9606")
        ),
        "/gene/DATA/GENE_INFO/Mammalia/All_Mammalia.gene_info.gz": _gz(
            tmp_path / "All_Mammalia.gene_info.gz", GENE_INFO
        ),
        "/gene/DATA/GENE_INFO/Mammalia/Pan_troglodytes.gene_info.gz": _gz(
            tmp_path / "Pan_troglodytes.gene_info.gz", CHIMP_GENE_INFO
        ),
        "/gene/DATA/gene2ensembl.gz": _gz(tmp_path / "gene2ensembl.gz", GENE2ENSEMBL),
        "/gene/DATA/gene2accession.gz": _gz(tmp_path / "gene2accession.gz", GENE2ACCESSION),
    }


@pytest.fixture
def server(geo_fixtures, ncbi_files):
    with GeoServer(geo_fixtures, ncbi_files) as running:
        yield running


@pytest.fixture
def hub(tmp_path):
    with Hub.init(tmp_path / "hub") as opened:
        yield opened


def test_organisms_and_where_their_files_are():
    assert resolve_organism("homo  Sapiens") == (9606, "Homo sapiens")
    assert resolve_organism("10090") == (10090, "Mus musculus")
    assert resolve_organism("9598") == (9598, None)
    assert resolve_organism("pan troglodytes") == (None, "Pan troglodytes")
    with pytest.raises(ValueError, match="expected an organism name or NCBI tax id"):
        resolve_organism("../etc")
    assert gene_info_candidates(9606, "Homo sapiens") == [
        "gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz",
        "gene/DATA/GENE_INFO/Mammalia/All_Mammalia.gene_info.gz",
        "gene/DATA/gene_info.gz",
    ]
    assert gene_info_candidates(9598, None) == ["gene/DATA/gene_info.gz"]
    assert gene_info_candidates(None, "Pan troglodytes")[:2] == [
        "gene/DATA/GENE_INFO/Mammalia/Pan_troglodytes.gene_info.gz",
        "gene/DATA/GENE_INFO/Non-mammalian_vertebrates/Pan_troglodytes.gene_info.gz",
    ]


def test_fetch_filters_to_the_organism_and_resumes(server, hub, ncbi_files):
    key = "/gene/DATA/gene2accession.gz"
    server.break_once.add(key)
    report = fetch_genes(hub, "Homo sapiens", base_url=server.url)
    assert (report.tax_id, report.genes, report.accessions) == (9606, 4, 6)
    ranges = [r for p, r in server.requests if p == key]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert [f["url"].split("/gene/DATA/")[1] for f in report.files] == [
        "GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz",
        "gene2ensembl.gz",
        "gene2accession.gz",
    ]
    for f in report.files:
        local = ncbi_files["/gene/DATA/" + f["url"].split("/gene/DATA/")[1]]
        assert f["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
        assert f["size"] == local.stat().st_size
    assert not [p for p in (hub.home / "downloads").rglob("*") if p.is_file()]
    assert {g.gene_id for g in store.gene_rows(hub, 9606)} == {"1", "7157", "5982", "780"}
    assert store.gene_rows(hub, 10090) == []  # only the organism asked for
    assert links.genes_for_accessions(hub, 9606, {"X02469", "NM_011640"}) == {"X02469": ("7157",)}
    assert not links.has_accessions(hub, 10090)


def test_kingdom_file_when_the_organism_has_none(server, hub):
    report = fetch_genes(hub, "Mus musculus", base_url=server.url, accessions=False)
    assert report.files[0]["url"].endswith("/Mammalia/All_Mammalia.gene_info.gz")
    assert (report.genes, report.accessions) == (1, 0)
    assert [g.symbol for g in store.gene_rows(hub, 10090)] == ["Trp53"]
    assert not links.has_accessions(hub, 10090)
    with pytest.raises(NotOnServer, match="HTTP 404"):
        fetch_genes(hub, "Danio rerio", base_url=server.url)


def test_organism_known_only_by_name(server, hub):
    report = fetch_genes(hub, "pan troglodytes", base_url=server.url, accessions=False)
    assert (report.tax_id, report.organism, report.genes) == (9598, "Pan troglodytes", 1)
    assert [g.symbol for g in store.gene_rows(hub, 9598)] == ["TP53"]
    with pytest.raises(ValueError, match="NCBI has no gene_info file for 'Homo erectus'"):
        fetch_genes(hub, "Homo erectus", base_url=server.url)


def test_cli_genes_fetch(server, hub, capsys):
    home = ["--home", str(hub.home), "--base-url", server.url]
    assert main(["genes", "fetch", "Homo sapiens", "--json", *home]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert list(report) == ["tax_id", "organism", "genes", "accessions", "files"]
    assert (report["tax_id"], report["genes"], report["accessions"]) == (9606, 4, 6)
    assert main(["genes", "ls", "--json", "--home", str(hub.home)]) == 0
    assert json.loads(capsys.readouterr().out) == {"9606": {"gene_info": 4, "gene2accession": 6}}
    assert main(["genes", "fetch", "Homo erectus", *home]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: NCBI has no gene_info file for 'Homo erectus'")
    assert err.count("\n") == 1


def test_cli_genes_import_gene2accession(hub, ncbi_files, capsys):
    g2a = str(ncbi_files["/gene/DATA/gene2accession.gz"])
    info = str(ncbi_files["/gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz"])
    home = ["--home", str(hub.home)]
    # NCBI's file holds every organism: which ones, if the hub has no gene_info yet?
    assert main(["genes", "import", g2a, *home]) != 0
    assert "give --tax-id" in capsys.readouterr().err
    assert main(["genes", "import", info, g2a, "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out) == {"genes": {"9606": 4}, "accessions": {"9606": 6}}
    assert not links.has_accessions(hub, 10090)
    assert main(["genes", "import", g2a, "--tax-id", "10090", "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out) == {"genes": {}, "accessions": {"10090": 1}}
