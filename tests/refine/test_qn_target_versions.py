"""Values that never change silently (issue 15), on real GEO files: refining a second series
leaves the first one's refined values as they were (they keep QN target v1); the run says a
newer target would differ; ``exprhub refine --retarget`` builds v2, moves the samples and
announces how many moved from which version to which; provenance, ``exprhub qn-targets`` and
the HTTP API name the versions; v1 values are regenerated bit for bit from the stored v1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import exprhub
from exprhub.cli import main
from exprhub.ingest.importer import import_file
from exprhub.web import create_app

#: GSE3791 brings GPL97 (its table chopped) and 3 human GPL97 + 3 GPL96 samples (and mouse);
#: GDS507 holds the 17 GPL97 samples of GSE781, mapped through GEO's GPL97.annot.
FILES = ("gemma/GSE3791_family.soft.gz", "geoquery/GDS507.soft.gz", "geoquery/GPL97.annot.gz")


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return " ".join(out.split())  # rich wraps long lines


def _float32_bytes(frame) -> bytes:  # type: ignore[no-untyped-def]
    return np.ascontiguousarray(frame.to_numpy(dtype=np.float32)).tobytes()


@pytest.fixture
def home(tmp_path: Path, geo_fixtures: Path) -> Path:
    path = tmp_path / "hub"
    with exprhub.Hub(path, create=True) as hub:
        for name in FILES:
            import_file(hub, geo_fixtures / name)
    return path


def test_second_series_leaves_first_values_until_retarget(home, capsys):
    hub_arg = ("--home", str(home), "--workers", "0")
    out = _cli(capsys, "refine", "GDS507", *hub_arg)
    assert "QN target Homo sapiens intensity v1 (new): 17 samples" in out
    with exprhub.Hub(home) as hub:
        gds_samples = sorted(hub.samples_of("GDS507"))
        assert len(gds_samples) == 17
        under_v1 = hub.expression(gds_samples, values="refined")
        v1_provenance = hub.provenance(gds_samples[0])
    assert v1_provenance["qn_target_version"] == 1
    assert under_v1.attrs["provenance"][gds_samples[0]]["qn_target_version"] == 1
    # a real value of the first series, exactly as delivered under v1
    gene = str(under_v1.index[len(under_v1) // 2])
    value = under_v1.loc[gene, gds_samples[0]]

    out = _cli(capsys, "refine", "GSE3791", *hub_arg)
    assert "(new)" not in out
    assert (
        "QN target Homo sapiens intensity v1 was built from 17 samples; 20 reference samples "
        "now (3 refined since) would build a new version: run `exprhub refine --retarget`"
    ) in out
    with exprhub.Hub(home) as hub:
        after_second = hub.expression(gds_samples, values="refined")
        assert after_second.loc[gene, gds_samples[0]] == value
        assert _float32_bytes(after_second) == _float32_bytes(under_v1)
        # the new series was normalized to the current target, v1
        gse_human = [
            k
            for k in hub.samples_of("GSE3791")
            if hub.provenance(k).get("tax_id") == 9606 and k not in gds_samples
        ]
        assert len(gse_human) == 6
        assert {hub.provenance(k)["qn_target_version"] for k in gse_human} == {1}
        assert [(t["version"], t["samples_using"]) for t in hub.qn_targets()] == [(1, 23)]

    out = _cli(capsys, "refine", "--retarget", *hub_arg)
    assert "QN target Homo sapiens intensity v2 (new): 20 samples" in out
    assert "moved 23 samples of Homo sapiens intensity from QN target v1 to v2 (--retarget)" in out
    assert "would build" not in out

    with exprhub.Hub(home) as hub:
        retargeted = hub.expression(gds_samples, values="refined")
        assert retargeted.attrs["provenance"][gds_samples[0]]["qn_target_version"] == 2
        assert retargeted.loc[gene, gds_samples[0]] != value
        provenance = hub.provenance(gds_samples[0])
        assert provenance["qn_target_version"] == 2
        assert provenance["qn"]["target_version"] == 2 and provenance["qn"]["target_samples"] == 20
        assert provenance["qn"]["moved_from_version"] == 1
        [move] = provenance["qn_target_moves"]
        assert (move["from_version"], move["to_version"], move["reason"]) == (1, 2, "retarget")
        # every version stays in the hub: v1 values come back bit for bit
        again = hub.refined_with_target(gds_samples, 1).loc[under_v1.index, gds_samples]
        assert _float32_bytes(again) == _float32_bytes(under_v1)
        column = np.ascontiguousarray(
            hub.refined_with_target(gds_samples[0], 1)[gds_samples[0]].to_numpy(), dtype="<f4"
        )
        assert hashlib.sha256(column.tobytes()).hexdigest() == v1_provenance["refined_sha256"]
        current = hub.refined_with_target(gds_samples, 2).loc[retargeted.index, gds_samples]
        assert _float32_bytes(current) == _float32_bytes(retargeted)

        with TestClient(create_app(hub)) as client:
            listed = client.get("/api/v1/qn_targets").json()["results"]
            assert [(t["version"], t["current"], t["samples_using"]) for t in listed] == [
                (1, False, 0),
                (2, True, 23),
            ]
            [moved] = client.get("/api/v1/qn_targets/moves").json()["results"]
            assert (moved["from_version"], moved["to_version"], moved["samples"]) == (1, 2, 23)
            document = client.get(f"/api/v1/samples/{gds_samples[0]}/provenance").json()
            assert document["qn_target_version"] == 2
            # GDS507's samples are DataSet columns, not sample records: GSE3791's have a page
            page = client.get(f"/samples/{gse_human[0]}").text
            assert "version 2 (moved from version 1)" in " ".join(page.split())

    code = main(["qn-targets", "--all", "--json", "--home", str(home)])
    listed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [(t["version"], t["n_samples"], t["samples_using"]) for t in listed] == [
        (1, 17, 0),
        (2, 20, 23),
    ]
    code = main(["qn-targets", "--history", "--json", "--home", str(home)])
    [history] = json.loads(capsys.readouterr().out)
    assert code == 0 and history["samples"] == 23 and len(history["sample_ids"]) == 23
    assert gds_samples[0] in history["sample_ids"]
    table = _cli(capsys, "qn-targets", "--history", "--home", str(home))
    assert "retarget" in table and "23" in table
