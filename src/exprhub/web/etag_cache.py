"""A bounded, thread-safe map from an ETag to what was built for it (a record document, the
head of a download), dropping the least recently used entries beyond its size."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["EtagCache"]

V = TypeVar("V")


class EtagCache(Generic[V]):
    """A bounded, thread-safe map from an ETag to a value, least recently used dropped first.

    An ETag changes with any write to the hub, so entries never go stale; only the bound
    removes them.

    Parameters
    ----------
    size
        The most entries kept.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> V | None:
        """The value kept for this ETag, if any (marked as recently used)."""
        with self._lock:
            value = self._items.get(etag)
            if value is not None:
                self._items.move_to_end(etag)
            return value

    def put(self, etag: str, value: V) -> None:
        """Keep a value for this ETag, dropping the least recently used beyond ``size``."""
        with self._lock:
            self._items[etag] = value
            self._items.move_to_end(etag)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
