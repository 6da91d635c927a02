"""``[FLAG]`` search on stored flags: the same answers as flags computed on request, read
from the hub once stored (nothing computed), and never from a stored set whose data changed
since (GDS507 re-imported with PFKFB2's values made flat: the stale set still flags it, the
search does not)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import exprhub
from exprhub.analysis import stored_flags

QUERIES = {
    "PFKFB2[GENE] AND flagged[FLAG]": {"GDS507"},
    "PFKFB2[GENE] AND disease state[FLAG]": {"GDS507"},
    "PFKFB2[GENE] AND individual[FLAG]": set(),
    "ACTG1[GENE] AND flagged[FLAG]": set(),
    "(ACTG1[GENE] OR PFKFB2[GENE]) AND flagged[FLAG]": {"GDS507"},
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory, geo_fixtures):
    with exprhub.Hub.init(tmp_path_factory.mktemp("flag-search") / "hub") as opened:
        opened.import_files(
            [geo_fixtures / "geoquery/GDS507.soft.gz", geo_fixtures / "geoquery/GPL97.annot.gz"]
        )
        yield opened


def _found(hub, query: str) -> set[str]:
    return {h.accession for h in hub.search(query, limit=100, facets=[]).hits}


def _no_computing(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("flags were computed on request")

    monkeypatch.setattr(stored_flags, "profile_frame", refuse)


def _flat_pfkfb2(source: Path, target: Path) -> Path:
    """GDS507 as a newer version whose PFKFB2 probe (226733_at) has one value everywhere."""
    with gzip.open(source, "rt") as handle:
        lines = handle.read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("!dataset_update_date"):
            lines[i] = "!dataset_update_date = Mar 05 2004"
        elif line.startswith("226733_at\t"):
            lines[i] = "\t".join(["226733_at", "PFKFB2"] + ["1000.000"] * 17)
    with gzip.open(target, "wt") as out:
        out.write("\n".join(lines))
    return target


def test_flag_search_reads_stored_flags_and_never_stale_ones(
    hub, geo_fixtures, tmp_path, monkeypatch
):
    computed = {query: _found(hub, query) for query in QUERIES}
    assert computed == QUERIES
    # a search computes but stores nothing
    assert hub.stored_flags_status("GDS507", values="submitted")[0]["state"] == "missing"

    updates = hub.compute_stored_flags("GDS507", values="submitted")
    assert [(u.status, u.platform) for u in updates] == [("new", "GPL97")]
    with monkeypatch.context() as patched:
        _no_computing(patched)
        assert {query: _found(hub, query) for query in QUERIES} == computed

    hub.import_files([_flat_pfkfb2(geo_fixtures / "geoquery/GDS507.soft.gz", tmp_path / "x.gz")])
    assert hub.stored_flags_status("GDS507", values="submitted")[0]["state"] == "stale"
    # the stale set still flags 226733_at; the search computes from the current values
    assert _found(hub, "PFKFB2[GENE] AND flagged[FLAG]") == set()
    (update,) = hub.compute_stored_flags("GDS507", values="submitted")
    assert update.status == "recomputed" and update.reason == "data changed"
    assert update.removed >= 1 and update.before is not None and update.after is not None
    with monkeypatch.context() as patched:
        _no_computing(patched)
        assert _found(hub, "PFKFB2[GENE] AND flagged[FLAG]") == set()
        assert _found(hub, "KCNJ10[GENE] AND disease state[FLAG]") == {"GDS507"}
