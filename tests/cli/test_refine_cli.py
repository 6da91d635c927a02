"""The refinery commands: genes import / ls, refine, qn-targets (--json shapes, errors)."""

from __future__ import annotations

import json

import pytest

import exprhub.cli.refine  # noqa: F401  (registers the commands)
from exprhub.cli import main
from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.simulate import simulate
from tests.conftest import copy_hub


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate(out, series=2, samples=6, platforms=1, seed=4, probes=200, rnaseq_series=0)
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory, sim):
    """A hub holding the two simulated series (built once; tests get copies)."""
    path = tmp_path_factory.mktemp("imported") / "hub"
    with Hub.init(path) as hub:
        for name in ("GSE900001_family.soft.gz", "GSE900002_family.soft.gz"):
            import_file(hub, sim / name)
    return path


@pytest.fixture
def home(tmp_path, imported):
    return copy_hub(imported, tmp_path / "hub")


def test_genes_import_and_ls(home, sim, capsys):
    code, out, _ = run(
        capsys,
        "genes",
        "import",
        str(sim / "gene_info.gz"),
        str(sim / "gene2ensembl.gz"),
        "--home",
        str(home),
        "--json",
    )
    assert code == 0
    counts = json.loads(out)["genes"]
    assert list(counts) == ["9606"] and counts["9606"] > 0
    code, out, _ = run(capsys, "genes", "ls", "--home", str(home), "--json")
    assert code == 0 and json.loads(out) == {"9606": {"gene_info": counts["9606"]}}
    with Hub(home) as hub:
        gene = store.gene_rows(hub, 9606)[0]
    assert gene.symbol and gene.ensembl_ids


def test_genes_import_needs_gene_info(home, sim, capsys):
    code, _, err = run(capsys, "genes", "import", str(sim / "gene2ensembl.gz"), "--home", str(home))
    assert code != 0 and "gene_info" in err


def test_refine_json_then_qn_targets(home, sim, capsys):
    run(capsys, "genes", "import", str(sim / "gene_info.gz"), "--home", str(home))
    code, out, _ = run(capsys, "refine", "--home", str(home), "--workers", "0", "--json")
    assert code == 0
    report = json.loads(out)
    assert list(report) == [
        "samples",
        "gene_level",
        "normalized",
        "current",
        "failed",
        "targets",
        "executor",
        "seconds",
        "waiting",
        "missing",
        "moves",
        "target_notices",
        "skipped",
        "flags",
    ]
    assert report["samples"] == 12 and report["failed"] == {}
    # the stored flags of the refined values of every series (docs/analysis.md)
    assert {(f["value_kind"], f["status"]) for f in report["flags"]} == {("refined", "new")}
    code, out, _ = run(capsys, "qn-targets", "--home", str(home), "--json")
    [target] = json.loads(out)
    assert target["n_samples"] == 12 and target["current"] and len(target["sha256"]) == 64
    # re-running is a no-op
    code, out, _ = run(
        capsys, "refine", "GSE900001", "--home", str(home), "--workers", "0", "--json"
    )
    again = json.loads(out)
    assert again["current"] == 6 and again["gene_level"] == 0 and again["normalized"] == 0
    assert again["flags"] == []  # nothing refined again: the stored flags are current


def test_refine_skip_qn_text_output(home, capsys):
    code, out, _ = run(
        capsys, "refine", "GSE900002", "--skip-qn", "--home", str(home), "--workers", "0"
    )
    assert code == 0 and "6 samples: 6 mapped to genes, 6 normalized" in out
    code, out, _ = run(capsys, "qn-targets", "--home", str(home), "--json")
    assert json.loads(out) == []


def test_refine_retarget_with_skip_qn_is_one_line_error(home, capsys):
    code, out, err = run(
        capsys, "refine", "--retarget", "--skip-qn", "--home", str(home), "--workers", "0"
    )
    assert code != 0 and out == ""
    assert err.strip() == "error: --retarget and --skip-qn contradict each other: give one of them"


def test_refine_unknown_accession_is_one_line_error(home, capsys):
    code, _, err = run(capsys, "refine", "GSE1", "--home", str(home), "--workers", "0")
    assert code == 1 and err.startswith("error: ") and "GSE1" in err


def test_refine_quant_dir(home, sim, tmp_path, capsys):
    from tests.refine.test_pipeline import _write_quants

    with Hub(home) as hub:
        import_file(hub, sim / "GSE900001_family.soft.gz")
        samples = hub.related("GSE900001")["sample"]
    run(
        capsys,
        "genes",
        "import",
        str(sim / "gene_info.gz"),
        str(sim / "gene2ensembl.gz"),
        "--home",
        str(home),
    )
    # pretend the series' samples were sequenced: quantifications given per sample
    _, tx2gene = _write_quants(tmp_path / "q" / "quant", samples, n_genes=30)
    code, out, err = run(
        capsys,
        "refine",
        "--quant-dir",
        str(tmp_path / "q" / "quant"),
        "--tx2gene",
        str(tx2gene),
        "--skip-qn",
        "--home",
        str(home),
        "--workers",
        "0",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["failed"] == {} and report["gene_level"] == len(samples)
    code, _, err = run(
        capsys,
        "refine",
        "--quant",
        "GSM1=nowhere.sf",
        "--tx2gene",
        str(tx2gene),
        "--home",
        str(home),
    )
    assert code == 1 and "nowhere.sf" in err
