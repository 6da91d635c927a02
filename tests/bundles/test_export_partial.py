"""A refined export after an interrupted (or partial) refine is never silently partial: the API
raises PartialExport (or warns with allow_partial), the CLI says on stderr and in --json how
many samples are refined and which command completes the record, and exits 1 unless
--allow-partial."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from exprhub.bundles.export import (
    PartialExport,
    PartialExportWarning,
    export_record,
    refined_coverage,
)
from exprhub.cli import main
from exprhub.hub import Hub, HubError
from exprhub.ingest.importer import import_file
from exprhub.refine import store
from exprhub.refine.executor import RefineInterrupted, SerialExecutor
from exprhub.refine.pipeline import refine
from exprhub.refine.pipeline_work import compute_normalized

FIRST = ["GSM27446", "GSM27447", "GSM27451"]


class _StoppedBeforeNormalizing(SerialExecutor):
    """Runs the gene-level phase, then stops the run as SIGTERM does when the normalization
    phase starts (deterministic stand-in for killing refine at that moment)."""

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Iterable[Any]
    ) -> Iterator[tuple[int, Any]]:
        if fn is compute_normalized:
            raise RefineInterrupted(signal.SIGTERM)
        yield from super().map_unordered(fn, items)


@pytest.fixture(scope="module")
def home(tmp_path_factory, geo_fixtures):
    """GSE1623 (8 samples): 3 refined; a second refine of the series stopped after the
    gene-level phase (5 left at status gene-level); GSM11805 waiting (its platform is missing)."""
    path = tmp_path_factory.mktemp("partial") / "hub"
    with Hub.init(path) as hub:
        import_file(hub, geo_fixtures / "gemma/GSE1623_family.soft.txt.gz")
        import_file(hub, geo_fixtures / "geoquery/GSM11805.txt.gz")
        refine(hub, FIRST, executor=SerialExecutor())
        with pytest.raises(RefineInterrupted):
            refine(hub, ["GSE1623"], executor=_StoppedBeforeNormalizing())
        refine(hub, ["GSM11805"], executor=SerialExecutor())
        states = store.refine_states(hub)
    assert sorted(k for k, st in states.items() if st.status == "done") == FIRST
    assert sum(st.status == "gene-level" for st in states.values()) == 5
    assert states["GSM11805"].status == "waiting"
    return path


def _export(home, accession: str, out, *extra: str) -> int:
    return main(
        ["export", accession, "--format", "refined", "-o", str(out), "--home", str(home), *extra]
    )


def _header(path) -> list[str]:
    return path.read_text().splitlines()[0].split("\t")


def test_coverage_counts(home):
    with Hub(home) as hub:
        coverage = refined_coverage(hub, "gse1623")
    assert coverage.accession == "GSE1623" and coverage.samples == 8
    assert sorted(coverage.refined) == FIRST and len(coverage.not_refined) == 5
    assert not coverage.complete and coverage.failed == {} and coverage.waiting == {}
    assert coverage.summary() == (
        "GSE1623: 3 of 8 samples are refined; 5 not refined yet "
        "(`exprhub refine GSE1623` refines them)"
    )
    assert coverage.to_dict()["command"] == "exprhub refine GSE1623"


def test_api_refuses_a_partial_export_unless_allowed(home, tmp_path):
    out = tmp_path / "gse.tsv"
    with Hub(home) as hub:
        with pytest.raises(PartialExport, match="3 of 8 samples are refined") as refused:
            export_record(hub, "GSE1623", "refined", out)
        assert not out.exists()
        assert len(refused.value.coverage.not_refined) == 5
        with pytest.warns(PartialExportWarning, match="3 of 8 samples") as caught:
            assert export_record(hub, "GSE1623", "refined", out, allow_partial=True) == [out]
    [warning] = caught.list
    assert isinstance(warning.message, PartialExportWarning)
    assert warning.message.coverage.to_dict()["not_refined"] == 5
    assert _header(out)[2:] == FIRST  # the refined samples, not stale or gene-level ones


def test_cli_partial_export_fails_with_counts_and_command(home, tmp_path, capsys):
    out = tmp_path / "gse.tsv"
    code = _export(home, "GSE1623", out, "--json")
    captured = capsys.readouterr()
    assert code == 1 and not out.exists()
    [line] = captured.err.splitlines()
    assert line.startswith("error: GSE1623: 3 of 8 samples are refined; 5 not refined yet")
    assert "`exprhub refine GSE1623`" in line and "--allow-partial" in line
    data = json.loads(captured.out)
    assert data["files"] == []
    assert data["refined"]["samples"] == 8 and data["refined"]["refined"] == 3
    assert data["refined"]["not_refined"] == 5 and data["refined"]["complete"] is False
    assert data["refined"]["command"] == "exprhub refine GSE1623"
    assert len(data["refined"]["not_refined_samples"]) == 5


def test_cli_allow_partial_writes_and_warns(home, tmp_path, capsys):
    out = tmp_path / "gse.tsv"
    code = _export(home, "GSE1623", out, "--allow-partial", "--json")
    captured = capsys.readouterr()
    assert code == 0 and _header(out)[2:] == FIRST
    [line] = captured.err.splitlines()
    assert line.startswith("warning: partial export, GSE1623: 3 of 8 samples are refined")
    assert "`exprhub refine GSE1623`" in line
    data = json.loads(captured.out)
    assert data["files"] == [str(out)] and data["refined"]["not_refined"] == 5


def test_complete_export_says_nothing(home, tmp_path, capsys):
    out = tmp_path / "one.tsv"
    code = _export(home, "GSM27446", out, "--json")
    captured = capsys.readouterr()
    assert code == 0 and captured.err == ""
    refined = json.loads(captured.out)["refined"]
    assert refined["complete"] is True and refined["samples"] == refined["refined"] == 1
    assert refined["command"] is None


def test_nothing_refined_names_what_is_missing(home, tmp_path):
    with Hub(home) as hub, pytest.raises(HubError) as failed:
        export_record(hub, "GSM11805", "refined", tmp_path / "x.tsv", allow_partial=True)
    message = str(failed.value)
    assert message.startswith("GSM11805: 0 of 1 samples are refined; 1 waiting (first: GSM11805:")
    assert "exprhub fetch GPL96" in message
    assert "nothing to export" in message and "\n" not in message


def test_http_refined_download_is_never_silently_partial(home):
    """The API's refined download follows the export rule: a partly refined series answers
    409 with the counts; a fully refined sample downloads; a sample with nothing refined is
    501."""
    from fastapi.testclient import TestClient

    from exprhub.web import create_app

    with Hub(home) as hub, TestClient(create_app(hub)) as client:
        partial = client.get("/api/v1/series/GSE1623/download", params={"format": "refined"})
        assert partial.status_code == 409, partial.text
        body = partial.json()
        assert body["error"]["code"] == "partially_refined"
        assert "3 of 8 samples are refined" in body["error"]["message"]
        assert body["error"]["detail"]["not_refined"] == 5
        whole = client.get(f"/api/v1/samples/{FIRST[0]}/download", params={"format": "refined"})
        assert whole.status_code == 200 and whole.text.split("\n")[0].endswith(FIRST[0])
        failed = client.get("/api/v1/samples/GSM11805/download", params={"format": "refined"})
        assert failed.status_code == 501 and failed.json()["error"]["code"] == "not_refined"
