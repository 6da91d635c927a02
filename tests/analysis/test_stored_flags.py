"""Stored profile flags: the rows stored are exactly the flags computed on request; refine
stores the flags of refined values and recomputes them, announced, when the refined values
change; a hub made before stored flags upgrades; the CLI and HTTP show the sets' states."""

from __future__ import annotations

import json

import numpy as np
import pytest
from alembic import command
from fastapi.testclient import TestClient

import exprhub
from exprhub.cli import main
from exprhub.hub.migrate import alembic_config, current_revision, head_revision
from exprhub.hub.profile_flags import flagged_rows
from exprhub.web import create_app
from tests.analysis.conftest import (
    GDS507,
    GDS1794,
    GPL97_ANNOT,
    GSE1623,
    GSE2870,
    write_mouse_gene_info,
)


def test_stored_rows_are_the_computed_flags(tmp_path, geo_fixtures):
    with exprhub.Hub.init(tmp_path / "hub") as hub:
        hub.import_files([geo_fixtures / GDS507, geo_fixtures / GPL97_ANNOT])
        (update,) = hub.compute_stored_flags("GDS507", values="submitted")
        computed = hub.profile_flags("GDS507")
        stored = flagged_rows(hub, "GDS507", "submitted", "GPL97")
        assert update.after == len(stored) == len(computed) > 1000
        by_pair = {(k, f): (q, d) for k, f, q, d in stored}
        for row in computed.itertuples(index=False):
            q, d = by_pair[(row.subset_type, row.feature)]
            assert q == pytest.approx(row.fdr, rel=1e-12) and d == pytest.approx(row.log2_fold)
        (again,) = hub.compute_stored_flags("GDS507", values="submitted")
        assert again.status == "current" and again.after == update.after
        (forced,) = hub.compute_stored_flags("GDS507", values="submitted", force=True)
        assert (forced.status, forced.reason, forced.added, forced.removed) == (
            "recomputed", "forced", 0, 0,
        )  # fmt: skip
        with pytest.raises(ValueError, match="DataSets \\(GDS\\) and series"):
            hub.compute_stored_flags("GPL97")
        with pytest.raises(exprhub.RecordNotFound):
            hub.compute_stored_flags("GSE999999")


def test_a_series_without_accession_is_passed_over(tmp_path, geo_fixtures):
    # biopython's example family names its series "Murine ES Cells", not GSE...: refining
    # every sample (no accession named) and computing every set must not stop at it
    with exprhub.Hub.init(tmp_path / "hub") as hub:
        hub.import_files([geo_fixtures / "biopython/soft_ex_family.txt"])
        assert hub.has("Murine ES Cells")
        assert hub.compute_stored_flags() == []
        assert hub.stored_flags_status() == []
        assert hub.refine(workers=0).flags == []


def test_refine_stores_and_recomputes_refined_flags(tmp_path, geo_fixtures):
    from exprhub.refine.store import import_genes

    with exprhub.Hub.init(tmp_path / "hub") as hub:
        hub.import_files([geo_fixtures / GSE1623])
        gene_info = write_mouse_gene_info(
            exprhub.read(geo_fixtures / GSE1623), tmp_path / "Mus_musculus.gene_info.gz"
        )
        import_genes(hub, [str(gene_info)])
        report = hub.refine("GSE1623", workers=0)
        assert [(f["accession"], f["value_kind"], f["status"]) for f in report.flags] == [
            ("GSE1623", "refined", "new")
        ]
        assert report.to_dict()["flags"] == report.flags
        states = {s["value_kind"]: s["state"] for s in hub.stored_flags_status("GSE1623")}
        assert states == {"submitted": "missing", "refined": "current"}
        again = hub.refine("GSE1623", workers=0)  # nothing refined again: flags current
        assert again.flags == []
        forced = hub.refine("GSE1623", workers=0, force=True)
        assert [(f["status"], f["reason"]) for f in forced.flags] == [
            ("recomputed", "data changed")
        ]


@pytest.fixture
def small_hub(tmp_path, geo_fixtures):
    with exprhub.Hub.init(tmp_path / "hub") as hub:
        hub.import_files([geo_fixtures / GDS1794, geo_fixtures / GSE2870])
    return tmp_path / "hub"


def test_a_hub_made_before_stored_flags_upgrades(small_hub):
    with exprhub.Hub(small_hub) as hub, hub.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    with exprhub.Hub(small_hub) as hub:
        assert current_revision(hub.engine) == head_revision()
        assert [s["state"] for s in hub.stored_flags_status(values="submitted")] == [
            "missing", "missing",
        ]  # fmt: skip
        updates = hub.compute_stored_flags(values="submitted")
        assert sorted((u.accession, u.status) for u in updates) == [
            ("GDS1794", "new"), ("GSE2870", "new"),
        ]  # fmt: skip
        subset_types = {s["accession"]: s["subset_types"] for s in hub.stored_flags_status()}
        # the series' groups are its DataSet's subsets
        assert subset_types == {"GDS1794": ["stress", "tissue"], "GSE2870": ["stress", "tissue"]}


def test_cli_and_http(small_hub, capsys):
    home = str(small_hub)
    assert main(["profiles", "flags", "--home", home]) == 0
    assert "2 missing or stale" in capsys.readouterr().out
    assert main(["profiles", "flags", "GDS1794", "--compute", "--json", "--home", home]) == 0
    updates = json.loads(capsys.readouterr().out)["updates"]
    assert [(u["value_kind"], u["status"]) for u in updates] == [
        ("submitted", "new"), ("refined", "unavailable"),
    ]  # fmt: skip
    assert main(["profiles", "flags", "--compute", "--values", "submitted", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "GDS1794 submitted (GPL1355): current" in out and "GSE2870 submitted" in out
    with exprhub.Hub(small_hub) as hub, TestClient(create_app(hub)) as client:
        body = client.get("/api/v1/stored-flags").json()
        assert [(s["accession"], s["state"]) for s in body["sets"]] == [
            ("GDS1794", "current"), ("GSE2870", "current"),
        ]  # fmt: skip
        assert np.isfinite(body["sets"][0]["rows_tested"])
        one = client.get("/api/v1/stored-flags", params={"accession": "GSE2870"}).json()
        assert [s["accession"] for s in one["sets"]] == ["GSE2870"]
        assert client.get("/api/v1/stored-flags", params={"accession": "GSE1"}).status_code == 404
