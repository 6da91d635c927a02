"""The row labels of matrices (probe or gene IDs, in row order), each distinct list stored
once in ``feature_lists`` and named by its SHA-256 from ``matrices.feature_list``.

Every sample of a platform, and the counts table of every series quantified against one gene
annotation (NCBI's 39,376 human genes, say), has the same features: stored once, they cost a
series nothing. Before (schema 0013 and older) each matrix had one ``matrix_rows`` SQL row per
feature with two indexes, ~1.9 MB of SQLite for each 39,376-gene counts table, more than its
values.

Rules:

- A list is the features joined by ``\\n`` in UTF-8 (no feature holds a line break: they come
  from the cells of line-based files), named by the SHA-256 of those bytes and stored
  zlib-compressed (level 1), with its length.
- A matrix's rows only grow: a write that adds features stores the longer list and points the
  matrix at it; a list no matrix points to any more is deleted in the same transaction.
- Lists are immutable, so readers cache them by name (:class:`FeatureListCache`).
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, delete, exists, insert, select

from exprhub.hub import schema as s
from exprhub.hub.errors import HubError

T = TypeVar("T")

#: Decoded lists a hub keeps (the platforms and annotations in use lately).
CACHED_LISTS = 16
#: Bytes of lists a hub keeps as text, for the row of one feature (GPL570's 54,675 probes:
#: 0.6 MB).
CACHED_TEXT_BYTES = 64 << 20


def encode_features(features: Sequence[str]) -> tuple[str, bytes]:
    """``(sha256, compressed bytes)`` of a feature list.

    Raises
    ------
    HubError
        If a feature holds a line break.
    """
    text = "\n".join(features)
    if text.count("\n") != max(len(features) - 1, 0):
        bad = next(f for f in features if "\n" in f)
        raise HubError(f"feature {bad!r} holds a line break")
    raw = text.encode("utf-8")
    return hashlib.sha256(raw).hexdigest(), zlib.compress(raw, 1)


def store_features(connection: Connection, features: Sequence[str]) -> str:
    """Store a list unless an equal one is stored; its name (SHA-256). A matrix without rows
    has no list (the texts of no features and of one empty feature are the same)."""
    if not features:
        raise ValueError("an empty feature list is not stored")
    digest, data = encode_features(features)
    known = connection.execute(
        select(s.feature_lists.c.sha256).where(s.feature_lists.c.sha256 == digest)
    ).first()
    if known is None:
        connection.execute(
            insert(s.feature_lists).values(sha256=digest, n_features=len(features), features=data)
        )
    return digest


def drop_if_unused(connection: Connection, digest: str | None) -> None:
    """Delete a list no matrix points to (after a matrix moved to a longer one)."""
    if digest is None:
        return
    used = exists().where(s.matrices.c.feature_list == digest)
    connection.execute(delete(s.feature_lists).where(s.feature_lists.c.sha256 == digest, ~used))


class FeatureListCache:
    """Feature lists by name, read from SQL once: the text of those used lately, up to
    :data:`CACHED_TEXT_BYTES` (for the row of one feature: a substring search, no list
    built), and the decoded lists of the last :data:`CACHED_LISTS`. Thread-safe; the lists
    are shared: do not modify them."""

    def __init__(self) -> None:
        # "\n" + the features joined by "\n" + "\n", UTF-8, with the number of features
        self._texts: OrderedDict[str, tuple[bytes, int]] = OrderedDict()
        self._text_bytes = 0
        self._lists: OrderedDict[str, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def _text(self, connection: Connection, digest: str) -> tuple[bytes, int]:
        with self._lock:
            cached = self._texts.get(digest)
            if cached is not None:
                self._texts.move_to_end(digest)
                return cached
        row = connection.execute(
            select(s.feature_lists.c.n_features, s.feature_lists.c.features).where(
                s.feature_lists.c.sha256 == digest
            )
        ).first()
        if row is None:
            raise KeyError(digest)
        text = (b"\n" + zlib.decompress(row.features) + b"\n", row.n_features)
        with self._lock:
            if digest not in self._texts:
                self._texts[digest] = text
                self._text_bytes += len(text[0])
            while self._text_bytes > CACHED_TEXT_BYTES and len(self._texts) > 1:
                _, (gone, _) = self._texts.popitem(last=False)
                self._text_bytes -= len(gone)
        return text

    def features(self, connection: Connection, digest: str | None) -> list[str]:
        """The list called ``digest`` (none: an empty matrix), read with ``connection``.

        Raises
        ------
        KeyError
            If no list has that name (a write replaced it since the caller read the name).
        """
        if digest is None:
            return []
        with self._lock:
            cached = self._lists.get(digest)
            if cached is not None:
                self._lists.move_to_end(digest)
                return cached
        text, n_features = self._text(connection, digest)
        features = text[1:-1].decode("utf-8").split("\n") if n_features else []
        if len(features) != n_features:
            raise HubError(f"a feature list holds {len(features)} features, not {n_features}")
        with self._lock:
            self._lists[digest] = features
            while len(self._lists) > CACHED_LISTS:
                self._lists.popitem(last=False)
        return features

    def row_of(self, connection: Connection, digest: str | None, feature: str) -> int | None:
        """The row of ``feature`` in the list called ``digest``, None if it is not there
        (KeyError as :meth:`features`)."""
        if digest is None or "\n" in feature:
            return None
        text, n_features = self._text(connection, digest)
        if not n_features:
            return None
        at = text.find(b"\n" + feature.encode("utf-8") + b"\n")
        return None if at < 0 else text.count(b"\n", 0, at)


def _committed(
    connection: Connection, name: str, read: Callable[[Row[Any]], T]
) -> tuple[Row[Any], T] | None:
    """The ``matrices`` row called ``name`` (None if there is none) and ``read`` of it; read
    again if a write committed in between replaced its feature list (``read`` raises
    KeyError)."""
    for _ in range(3):
        row = connection.execute(select(s.matrices).where(s.matrices.c.name == name)).first()
        if row is None:
            return None
        try:
            return row, read(row)
        except KeyError:
            continue
    raise HubError(f"the features of matrix {name!r} changed while being read")


def matrix_features(
    connection: Connection, cache: FeatureListCache, name: str
) -> tuple[Row[Any], list[str]] | None:
    """The ``matrices`` row called ``name`` as committed and its features (None if there is
    no such matrix)."""
    return _committed(connection, name, lambda row: cache.features(connection, row.feature_list))


def matrix_row_of(
    connection: Connection, cache: FeatureListCache, name: str, feature: str
) -> tuple[Row[Any], int | None] | None:
    """The ``matrices`` row called ``name`` as committed and the row of ``feature`` in it
    (None if it is not a feature; None for both if there is no such matrix)."""
    return _committed(
        connection, name, lambda row: cache.row_of(connection, row.feature_list, feature)
    )
