"""The bounded ETag-keyed cache behind record documents and download heads."""

from __future__ import annotations

from exprhub.web.downloads import DownloadHeads
from exprhub.web.etag_cache import EtagCache
from exprhub.web.routes_records import DocumentCache


def test_least_recently_used_entry_is_dropped_beyond_the_size() -> None:
    cache: EtagCache[bytes] = EtagCache(2)
    cache.put('"a"', b"A")
    cache.put('"b"', b"B")
    assert cache.get('"a"') == b"A"  # now "b" is the least recently used
    cache.put('"c"', b"C")
    assert cache.get('"b"') is None
    assert (cache.get('"a"'), cache.get('"c"')) == (b"A", b"C")


def test_a_put_replaces_the_value_and_keeps_one_entry() -> None:
    cache: EtagCache[bytes] = EtagCache(1)
    cache.put('"a"', b"old")
    cache.put('"a"', b"new")
    assert cache.get('"a"') == b"new"


def test_api_caches_keep_their_sizes() -> None:
    assert DocumentCache().size == 2048
    assert DownloadHeads().size == 1024
