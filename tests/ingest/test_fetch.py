"""`fetch` against a local server in NCBI's layout: downloads, resume, 404, import."""

from __future__ import annotations

import json

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
    results = fetch(hub, ["GSE1623", "GDS507", "GSM11805"], base_url=server.url, annotations=False)
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


def test_fetch_brings_platform_annotations_and_missing_platforms(server, hub):
    notices: list[str] = []
    results = fetch(
        hub, ["GDS507", "GSM11805", "GSE1623"], base_url=server.url, on_notice=notices.append
    )
    # GDS507: GEO's GPL97 annotation (the server has no GPL97 record); GSM11805: its platform
    # record GPL96; GSE1623 carries GPL81, for which GEO has no annotation file
    assert [r.path.name for r in results] == [
        "GDS507.soft.gz",
        "GPL97.annot.gz",
        "GSM11805.soft",
        "GPL96.soft",
        "GSE1623_family.soft.gz",
    ]
    assert notices == [
        "GPL97: GEO sent no platform record",
        "GPL96: GEO has no annotation file (GPL96.annot.gz)",
        "GPL81: GEO has no annotation file (GPL81.annot.gz)",
    ]
    assert hub.annotation("GPL97") is not None and hub.has("GPL96")
    # stored annotations are not downloaded again
    before = len(server.requests)
    fetch(hub, ["GDS507"], base_url=server.url, on_notice=notices.append)
    assert not any("annot" in p for p, _ in server.requests[before:])


def test_cli_fetch_annot_flags(server, hub, capsys):
    home = ["--home", str(hub.home), "--base-url", server.url]
    assert main(["fetch", "GDS507", "--no-annot", *home]) == 0
    assert hub.annotation("GPL97") is None
    capsys.readouterr()
    # --annot: only the annotation files (of a platform, or of a stored record's platforms)
    assert main(["fetch", "GDS507", "--annot", "--json", *home]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["format"] for d in data] == ["annot"] and hub.annotation("GPL97") is not None
    assert main(["fetch", "GPL97", "--annot", "--json", *home]) == 0
    assert json.loads(capsys.readouterr().out)[0]["outcomes"] == {"unchanged": 1}
    assert main(["fetch", "GSE1623", "--annot", *home]) == 1
    assert "the hub knows no platform of GSE1623" in capsys.readouterr().err
    assert main(["fetch", "GSM11805", *home]) == 0
    err = capsys.readouterr().err
    assert "note: GPL96: GEO has no annotation file (GPL96.annot.gz)" in err


def test_resume_restarts_when_the_file_changed_meanwhile(geo_fixtures, tmp_path):
    """A partial download is continued only if the server's file is still the same one
    (If-Range): NCBI rebuilds its gene files daily."""
    import gzip
    import os

    from exprhub.ingest.fetch import Downloader

    served = tmp_path / "served.gz"
    old, new = os.urandom(300_000).hex(), os.urandom(300_000).hex()
    served.write_bytes(gzip.compress(old.encode()))
    os.utime(served, (1_700_000_000, 1_700_000_000))
    path = "/gene/DATA/gene2accession.gz"
    with GeoServer(geo_fixtures, {path: served}) as server:
        server.break_once.add(path)
        downloader = Downloader(server.url, tmp_path / "d", retries=0, backoff=0.01)
        remote = RemoteFile(path.lstrip("/"), "gene2accession.gz")
        with pytest.raises(FetchError, match="failed after 1 attempts"):
            downloader.download(remote)
        assert (tmp_path / "d" / "gene2accession.gz.part").stat().st_size > 0
        served.write_bytes(gzip.compress(new.encode()))
        os.utime(served, (1_700_086_400, 1_700_086_400))
        local = downloader.download(remote)
        ranges = [r for p, r in server.requests if p == path]
    assert ranges[0] is None and ranges[1] is not None  # it did ask for the rest
    assert gzip.decompress(local.read_bytes()).decode() == new
    assert not list((tmp_path / "d").glob("*.part*"))
