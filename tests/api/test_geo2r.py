"""GEO2R on hub data (Hub.differential, `exprhub de`, GET /api/v1/analysis/{acc}/de): groups
by a field or as named sets, on GDS507 (RCC vs normal kidney), checked against R limma 3.54's
table for the same DataSet (tests/reference/limma, made by make_limma_reference.R)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import exprhub
from exprhub.cli import main
from exprhub.web import create_app

REFERENCE = Path(__file__).parents[1] / "reference" / "limma" / "gds507_expected.tsv"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, geo_fixtures: Path):
    with exprhub.Hub.init(tmp_path_factory.mktemp("geo2r") / "hub") as opened:
        opened.import_files(
            [geo_fixtures / "geoquery/GDS507.soft.gz", geo_fixtures / "geoquery/GPL97.annot.gz"]
        )
        yield opened


def _agrees_with_r(table: pd.DataFrame, sign: float) -> None:
    """R computed normal - RCC; ``sign`` -1 for RCC - normal."""
    expected = pd.read_csv(REFERENCE, sep="\t", index_col=0)
    got = table.loc[expected.index]
    np.testing.assert_allclose(got["t"], sign * expected["t_1"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["logFC"], sign * expected["logFC_1"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["P.Value"], expected["P.Value_1"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["adj.P.Val"], expected["adj.P.Val_1"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(got["B"], expected["B_1"], rtol=0, atol=1e-6)


def test_groups_by_a_subset_type_agree_with_r_limma(hub):
    result = hub.differential("GDS507", by="disease state")
    summary = result.summary()
    assert list(summary["contrasts"]) == ["RCC-normal"] and summary["log2"]
    assert summary["genes_tested"] == 22645 and len(result.samples) == 17
    assert result.table.columns[0] == "identifier"  # gene symbols from GPL97.annot
    assert result.table.loc["228581_at", "identifier"] == "KCNJ10"
    _agrees_with_r(result.table, -1.0)


def test_named_groups_and_a_contrast(hub):
    result = hub.differential(
        "GDS507",
        groups={"normal": "disease state=normal", "tumour": "GDS507_1"},
        contrasts=["normal-tumour"],
    )
    assert result.summary()["groups"]["GSM11815"] == "tumour"
    _agrees_with_r(result.table, 1.0)


def test_groups_that_cannot_be_formed_are_one_line_errors(hub):
    with pytest.raises(ValueError, match="fewer than two groups"):
        hub.differential("GDS507", groups={"only": "disease state=RCC"})
    with pytest.raises(ValueError, match="in two groups"):
        hub.differential("GDS507", groups={"a": "GDS507_1", "b": "GSM11815,GSM11810"})
    with pytest.raises(ValueError, match="by a field"):
        hub.differential("GDS507")
    with pytest.raises(ValueError, match="no field"):
        hub.differential("GDS507", by="no such field")


def test_cli_de(hub, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    home = str(hub.home)
    table, image = tmp_path / "de.tsv", tmp_path / "volcano.png"
    code = main(
        ["de", "GDS507", "--by", "disease state", "--home", home, "--json", "--limit", "5",
         "-o", str(table), "--image", str(image)]
    )  # fmt: skip
    assert code == 0
    body = json.loads(capsys.readouterr().out)
    assert body["rows_total"] == 22645 and len(body["table"]) == 5
    assert body["table"][0]["ID"] == "228581_at" and body["by"] == "disease state"
    written = pd.read_csv(table, sep="\t", index_col=0)
    assert len(written) == 22645 and list(written.columns[:3]) == ["identifier", "logFC", "AveExpr"]
    assert image.read_bytes()[:4] == b"\x89PNG"
    code = main(["de", "GDS507", "--group", "x=GDS507_1", "--home", home])
    assert code == 1 and "fewer than two groups" in capsys.readouterr().err


def test_http_de(hub):
    with TestClient(create_app(hub)) as client:
        response = client.get(
            "/api/v1/analysis/GDS507/de",
            params={"by": "disease state", "limit": 3, "figure": "true"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["table"][0]["ID"] == "228581_at" and len(body["table"]) == 3
        assert body["figure"]["data"] and body["contrasts"] == {
            "RCC-normal": {"RCC": 1.0, "normal": -1.0}
        }
        tsv = client.get(
            "/api/v1/analysis/GDS507/de",
            params=[("group", "t=GDS507_1"), ("group", "n=GDS507_2"), ("format", "tsv")],
        )
        assert tsv.status_code == 200 and tsv.text.count("\n") == 22646
        bad = client.get("/api/v1/analysis/GDS507/de", params={"by": "nope"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_analysis"


def test_http_samples_and_explicit_groups(hub):
    """GET /samples lists the samples with their fields; POST /de takes the groups as sample
    lists and gives GET's numbers (R's, see _agrees_with_r)."""
    with TestClient(create_app(hub)) as client:
        listing = client.get("/api/v1/analysis/GDS507/samples").json()
        assert listing["samples_total"] == 17 and listing["varying"][0] == "disease state"
        by_state: dict[str, list[str]] = {}
        for row in listing["samples"]:
            by_state.setdefault(row["fields"]["disease state"], []).append(row["sample"])
        assert sorted(map(len, by_state.values())) == [8, 9]
        body = {"groups": {"tumour": by_state["RCC"], "normal": by_state["normal"]}}
        answer = client.post("/api/v1/analysis/GDS507/de", json={**body, "limit": 5})
        assert answer.status_code == 200, answer.text
        assert list(answer.json()["contrasts"]) == ["tumour-normal"]
        tsv = client.post("/api/v1/analysis/GDS507/de", json={**body, "format": "tsv"})
        assert tsv.status_code == 200 and tsv.text.count("\n") == 22646
        table = pd.read_csv(io.StringIO(tsv.text), sep="\t", index_col=0)
        _agrees_with_r(table, -1.0)
        same = client.get(
            "/api/v1/analysis/GDS507/de",
            params=[("group", "tumour=" + ",".join(by_state["RCC"])),
                    ("group", "normal=" + ",".join(by_state["normal"])), ("limit", "5")],
        )  # fmt: skip
        assert same.json()["table"] == answer.json()["table"]
        overlap = {"groups": {"a": by_state["RCC"], "b": by_state["RCC"][:2]}}
        bad = client.post("/api/v1/analysis/GDS507/de", json=overlap)
        assert bad.status_code == 400 and "in two groups" in bad.json()["error"]["message"]
        empty = client.post("/api/v1/analysis/GDS507/de", json={"groups": {"a": []}})
        assert empty.status_code == 422
        unknown = client.post("/api/v1/analysis/GDS507/de", json={"groupz": {}})
        assert unknown.status_code == 422


def test_rnaseq_read_counts_go_through_voom(tmp_path, geo_fixtures):
    """GSE29006 (RNA-seq, real records) with a counts table in NCBI's layout: values="counts"
    reads the counts as imported, and GEO2R on them is limma-voom (R parity of voom and of
    its top table: tests/analysis/test_voom.py)."""
    from exprhub.analysis.differential import differential_expression
    from tests.refine.test_counts import GSE29006, GSE29006_SAMPLES, _counts, _write_ncbi

    with exprhub.Hub.init(tmp_path / "hub") as rnaseq:
        rnaseq.import_files(geo_fixtures / GSE29006)
        genes = [str(1000 + i) for i in range(500)]
        written = _counts(len(genes), 8, seed=3)
        table = tmp_path / "GSE29006_raw_counts_GRCh38.p13_NCBI.tsv.gz"
        _write_ncbi(table, genes, GSE29006_SAMPLES, written)
        rnaseq.import_files(table, series="GSE29006")
        counts = rnaseq.expression("GSE29006", "counts")
        assert list(counts.columns) == GSE29006_SAMPLES
        groups = {
            "illumina": ",".join(GSE29006_SAMPLES[:4]),
            "nugen": ",".join(GSE29006_SAMPLES[4:]),
        }
        result = rnaseq.differential("GSE29006", values="counts", groups=groups)
        assert result.summary()["log2_reason"].startswith("read counts: voom")
        assigned = {s: "illumina" if i < 4 else "nugen" for i, s in enumerate(GSE29006_SAMPLES)}
        direct = differential_expression(counts, assigned, counts=True)
        pd.testing.assert_frame_equal(
            result.table.drop(columns="identifier", errors="ignore"), direct.table
        )
