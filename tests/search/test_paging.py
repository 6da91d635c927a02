"""Search paging bounds from Python: every backend and ``HubSearch`` refuse pages beyond
:mod:`exprhub.search.paging` with a ``PagingError`` (a ``ValueError``), and stay usable."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.hub import Hub
from exprhub.paging import PagingError
from exprhub.search import SearchIndex
from exprhub.search.hub_index import HubSearch
from exprhub.search.paging import (
    MAX_SEARCH_END,
    MAX_SEARCH_LIMIT,
    MAX_SEARCH_OFFSET,
    check_search_page,
)
from tests.search.conftest import corpus
from tests.web.conftest import all_records

OUT_OF_BOUNDS = [
    (20, 2_000_000_000, f"offset 2000000000 is too large: search results are paged up to "
     f"offset {MAX_SEARCH_OFFSET}"),
    (20, 10**21, "offset 1000000000000000000000 is too large"),
    (MAX_SEARCH_LIMIT + 1, 0, f"at most {MAX_SEARCH_LIMIT} search results per page"),
    (11, MAX_SEARCH_END - 10, f"only the first {MAX_SEARCH_END} search results"),
    (-1, 0, "limit and offset must be >= 0"),
    (20, -1, "limit and offset must be >= 0"),
]  # fmt: skip


def test_paging_error_is_a_value_error():
    assert issubclass(PagingError, ValueError)


@pytest.mark.parametrize(("limit", "offset", "message"), OUT_OF_BOUNDS)
def test_backends_refuse_pages_out_of_bounds(loaded: SearchIndex, limit, offset, message):
    for query in ("cancer", "GSE[ETYP]", ""):  # ranked, accession order, everything
        with pytest.raises(PagingError, match=re.escape(message)):
            loaded.search(query, limit=limit, offset=offset)
    assert loaded.search("cancer").total == 6


def test_backends_serve_the_last_pages_within_bounds(loaded: SearchIndex):
    total = len(corpus())
    for query in ("cancer", "GSE[ETYP]", ""):
        for limit, offset in ((1, MAX_SEARCH_OFFSET), (MAX_SEARCH_LIMIT, MAX_SEARCH_END - 1000)):
            res = loaded.search(query, limit=limit, offset=offset)
            assert res.hits == [] and 0 < res.total <= total
        assert loaded.search(query, limit=0, offset=0).hits == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(-3, 2**70), offset=st.integers(-3, 2**70))
def test_any_paging_is_served_or_refused_cleanly(loaded: SearchIndex, limit: int, offset: int):
    try:
        check_search_page(limit, offset)
    except PagingError:
        with pytest.raises(PagingError):
            loaded.search("cancer OR GSE[ETYP]", limit=limit, offset=offset)
    else:
        res = loaded.search("cancer OR GSE[ETYP]", limit=limit, offset=offset)
        assert len(res.hits) == max(0, min(limit, res.total - offset))


def test_hub_search_refuses_pages_out_of_bounds_before_syncing(tmp_path):
    with Hub.init(tmp_path / "hub") as hub, HubSearch(hub) as engine:
        hub.put_records(all_records())
        for limit, offset, message in OUT_OF_BOUNDS:
            with pytest.raises(PagingError, match=re.escape(message)):
                engine.search("liver", limit=limit, offset=offset)
        assert engine.is_stale()  # refused before any work
        assert engine.search("liver", limit=5).total > 0
