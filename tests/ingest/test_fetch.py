"""`fetch` against a local server in NCBI's layout: downloads, resume, 404, import."""

from __future__ import annotations

import pytest

from exprhub.cli import main
from exprhub.ingest.fetch import FetchError, RemoteFile, fetch, remote_files
from tests.hub.test_hub import hub_snapshot
from tests.ingest.geo_server import GeoServer


@pytest.fixture
def server(geo_fixtures):
    with GeoServer(geo_fixtures) as running:
        yield running


@pytest.fixture
def hub(tmp_path):
    from exprhub.hub import Hub

    with Hub.init(tmp_path / "hub") as opened:
        yield opened


def test_layout():
    assert remote_files("GSE1623") == [
        RemoteFile(
            "geo/series/GSE1nnn/GSE1623/soft/GSE1623_family.soft.gz", "GSE1623_family.soft.gz"
        )
    ]
    assert remote_files("GDS507")[0].path == "geo/datasets/GDSnnn/GDS507/soft/GDS507.soft.gz"  # type: ignore[index]
    assert remote_files("GSE99709", "matrix") == "geo/series/GSE99nnn/GSE99709/matrix/"
    assert "acc=GSM11805" in remote_files("GSM11805")[0].path  # type: ignore[index]
    with pytest.raises(ValueError, match="no miniml download"):
        remote_files("GDS507", "miniml")
    with pytest.raises(ValueError, match="not a GEO accession"):
        remote_files("GSE12x")


def test_fetch_series_dataset_sample_and_matrix(server, hub):
    results = fetch(hub, ["GSE1623", "GDS507", "GSM11805"], base_url=server.url)
    assert [r.format for r in results] == ["soft", "soft", "soft"]
    assert hub.counts()["GSM"] == 8 + 1 and hub.counts()["GDS"] == 1
    assert len(hub.record("GSM27446").table.column(0)) == 12488  # type: ignore[union-attr]
    fetch(hub, ["GSE99709"], base_url=server.url, format="matrix")
    assert len(hub.related("GSE99709")["sample"]) == 12
    fetch(hub, ["GPL97"], base_url=server.url, format="annot")
    assert hub.annotation("GPL97") is not None
    assert not list((hub.home / "downloads").glob("*"))


def test_resume_after_broken_connection(server, hub):
    key = "/geo/series/GSE1nnn/GSE1623/soft/GSE1623_family.soft.gz"
    server.break_once.add(key)
    fetch(hub, ["GSE1623"], base_url=server.url)
    ranges = [r for p, r in server.requests if p == key]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert int(ranges[1][6:].rstrip("-")) > 0
    assert hub.counts()["GSM"] == 8


def test_404_is_clear_and_leaves_hub_unchanged(server, hub, capsys):
    fetch(hub, ["GSE1623"], base_url=server.url)
    before = hub_snapshot(hub)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(hub, ["GSE424242"], base_url=server.url)
    assert hub_snapshot(hub) == before
    code = main(["fetch", "GSE424242", "--home", str(hub.home), "--base-url", server.url])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: not found on the server (HTTP 404)")
    assert err.count("\n") == 1
    assert hub_snapshot(hub) == before


def test_unreachable_server(hub):
    with pytest.raises(FetchError, match="failed after"):
        from exprhub.ingest.fetch import Downloader

        Downloader("http://127.0.0.1:9", hub.home / "d", retries=1, backoff=0.01).download(
            RemoteFile("x.gz", "x.gz")
        )


def test_cli_fetch_json(server, hub, capsys):
    import json

    code = main(["fetch", "GDS507", "--home", str(hub.home), "--base-url", server.url, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert data[0]["by_type"]["SUBSET"] == {"added": 12}
