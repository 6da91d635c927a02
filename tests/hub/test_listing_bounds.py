"""Listing paging bounds from Python: ``list_records`` and ``Hub.records`` refuse offsets and
limits beyond :mod:`exprhub.hub.listing`'s bounds with a ``PagingError`` (a ``ValueError``)
instead of the database driver's OverflowError, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from exprhub.hub import Hub
from exprhub.hub.listing import (
    MAX_LISTING_LIMIT,
    MAX_LISTING_OFFSET,
    ListingFilter,
    list_records,
)
from exprhub.paging import PagingError
from exprhub.records import RecordType
from tests.hub.test_hub import all_records

OUT_OF_BOUNDS = [
    (None, 10**21, "offset 1000000000000000000000 is too large: records are paged up to offset"),
    (None, MAX_LISTING_OFFSET + 1, f"up to offset {MAX_LISTING_OFFSET}"),
    (MAX_LISTING_LIMIT + 1, 0, f"at most {MAX_LISTING_LIMIT} records per page"),
    (10, -1, "limit and offset must be >= 0"),
    (-1, 0, "limit and offset must be >= 0"),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory, module_database_url):
    path = tmp_path_factory.mktemp("listing-bounds") / "hub"
    with Hub.init(path, database_url=module_database_url) as opened:
        opened.put_records(all_records())
        yield opened


@pytest.mark.parametrize(("limit", "offset", "message"), OUT_OF_BOUNDS)
def test_listings_refuse_pages_out_of_bounds(hub: Hub, limit, offset, message):
    for flt in (None, ListingFilter(organism="Mus musculus")):
        with pytest.raises(PagingError, match=re.escape(message)):
            list_records(hub, RecordType.SAMPLE, flt, limit=limit, offset=offset)
    with pytest.raises(PagingError, match=re.escape(message)):
        hub.records(limit=limit, offset=offset)
    with pytest.raises(PagingError, match=re.escape(message)):
        hub.records(RecordType.SAMPLE, limit=limit, offset=offset)


def test_the_largest_offset_and_limit_are_served(hub: Hub):
    count, rows = list_records(hub, RecordType.SAMPLE, offset=MAX_LISTING_OFFSET)
    assert rows == [] and count > 0
    assert hub.records(offset=MAX_LISTING_OFFSET, limit=MAX_LISTING_LIMIT) == []
    assert len(hub.records(limit=MAX_LISTING_LIMIT)) == sum(hub.counts().values())
