"""Matrix columns written inside a hub transaction (the matrix side of :class:`HubWriter`).

A matrix is a named 2-D float32 array in the array store (features x samples) plus SQL: its
features, a list stored once for every matrix with the same features
(:mod:`exprhub.hub.feature_lists`), and its columns (``matrix_columns``, one current column
per sample). Inside a transaction a matrix is a :class:`MatrixBuffer`: its committed extent
plus the features and columns added since. Columns are appended beyond the committed extent,
so undoing a failed write cuts the arrays back to it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, CursorResult, insert, select, update

from exprhub.hub import schema as s
from exprhub.hub.background import background_thread
from exprhub.hub.feature_lists import drop_if_unused, store_features
from exprhub.records import strings_equal
from exprhub.storage.staging import Staging

if TYPE_CHECKING:
    from exprhub.hub.hub import Hub

__all__ = [
    "COUNTS_KIND",
    "FLUSH_COLUMNS",
    "MatrixBuffer",
    "MatrixExtent",
    "MatrixWrites",
    "counts_matrix_name",
    "dataset_matrix_name",
    "parse_counts_matrix_name",
    "submitted_matrix_name",
]

#: Flush pending matrix columns to the array store after this many samples (an append
#: rewrites every feature-major chunk of the column stripe it touches, whatever its width,
#: so fewer, wider appends are much cheaper; 1024 x 54,675 probes is 224 MB of buffer).
FLUSH_COLUMNS = 1024


def submitted_matrix_name(platform_key: str) -> str:
    """Name of the matrix of submitter-supplied values of one platform."""
    return f"submitted/{platform_key}"


def dataset_matrix_name(dataset_key: str) -> str:
    """Name of the matrix of a curated DataSet's values."""
    return f"dataset/{dataset_key}"


#: Kind of the matrices of RNA-seq counts or TPM attached to a series' samples.
COUNTS_KIND = "counts"


def counts_matrix_name(series_key: str, quantity: str, file_sha256: str) -> str:
    """Name of the matrix of one counts table attached to a series: the series, what the
    values are (``counts`` or ``tpm``) and the SHA-256 of the file they came from."""
    return f"{COUNTS_KIND}/{series_key}/{quantity}/{file_sha256}"


def parse_counts_matrix_name(name: str) -> tuple[str, str, str] | None:
    """``(series, quantity, file SHA-256)`` of a counts matrix name, None for other names."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != COUNTS_KIND:
        return None
    return parts[1], parts[2], parts[3]


def inserted_id(result: CursorResult[Any]) -> int:
    """Primary key of the row an ``INSERT`` added."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _as_features(features: Sequence[str] | np.ndarray) -> np.ndarray:
    if isinstance(features, np.ndarray):
        return features
    return np.asarray(list(features), dtype=object)


@dataclass
class MatrixBuffer:
    """A matrix as one transaction sees it: the committed extent plus pending additions.

    Obtained from :meth:`HubWriter.matrix`; :meth:`rows_for` gives the rows of features and
    :meth:`HubWriter.add_column` adds a sample's column.

    Attributes
    ----------
    id
        The matrix's SQL id.
    name
        The matrix's name (``submitted/GPL570``, ``refined/9606/intensity``).
    committed_rows, committed_columns
        Its extent when the transaction began.
    features
        Row of each feature, those added in this transaction included.
    """

    id: int
    name: str
    committed_rows: int
    committed_columns: int
    features: dict[str, int]
    new_features: list[str] = field(default_factory=list)
    written_columns: int = 0
    pending: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)  # float32
    new_columns: list[tuple[int, str]] = field(default_factory=list)
    # How many of new_features / new_columns have their SQL rows already (flush is repeatable).
    recorded_features: int = 0
    #: The name of its stored feature list (feature_lists), as this write last stored it.
    feature_list: str | None = None
    recorded_columns: int = 0
    #: The last features mapped to rows (as an array) and their rows.
    last_ids: tuple[np.ndarray, np.ndarray] | None = None
    # The object last passed to rows_for (a list, say), answered by identity next time.
    _last_given: object = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        """Rows of the matrix, those added in this transaction included."""
        return self.committed_rows + len(self.new_features)

    def rows_for(self, features: Sequence[str] | np.ndarray) -> np.ndarray:
        """Row index of each feature, adding rows for features not seen before.

        Samples of one platform nearly always list the same IDs in the same order, so the
        previous answer is reused when the IDs are identical; passing the very same (unchanged)
        sequence object again reuses it without comparing the IDs.

        Parameters
        ----------
        features
            Feature IDs (probe or gene IDs), a string array or a sequence of strings.

        Returns
        -------
        numpy.ndarray
            The row of each feature (int64); a feature listed twice gets its first row.
        """
        last = self.last_ids
        if last is not None and (last[0] is features or self._last_given is features):
            return last[1]
        ids_array = _as_features(features)
        if (
            last is not None
            and len(last[0]) == len(ids_array)
            and strings_equal(last[0], ids_array)
        ):
            self._last_given = features
            return last[1]
        ids = ids_array.tolist()
        lookup = self.features
        if lookup:
            found = map(lookup.get, ids, repeat(-1))  # no generator frame per ID
            index = np.fromiter(found, dtype=np.int64, count=len(ids))
            missing = np.flatnonzero(index < 0)
        else:  # a new matrix: every feature is new
            index = np.empty(len(ids), dtype=np.int64)
            missing = np.arange(len(ids))
        if missing.size:
            # Features not seen before get new rows, in order (a repeated one, its first row).
            new_ids = ids if missing.size == len(ids) else [ids[i] for i in missing.tolist()]
            unique = list(dict.fromkeys(new_ids))
            first = self.committed_rows + len(self.new_features)
            added = dict(zip(unique, range(first, first + len(unique)), strict=True))
            lookup.update(added)
            self.new_features.extend(unique)
            index[missing] = np.fromiter(
                map(added.__getitem__, new_ids), dtype=np.int64, count=len(new_ids)
            )
        self.last_ids = (ids_array, index)
        self._last_given = features
        return index


@dataclass(frozen=True)
class MatrixExtent:
    """A matrix as a write left it: extent, the row of each feature, and the last ID column
    mapped to rows (with its rows), which the next write of the same platform reuses."""

    name: str
    id: int
    n_rows: int
    n_columns: int
    features: dict[str, int]
    last_ids: tuple[np.ndarray, np.ndarray] | None


class MatrixWrites:
    """The matrices one :class:`~exprhub.hub.HubWriter` writes to (see the module docs).

    Parameters
    ----------
    hub
        The hub written to.
    connection
        The transaction's connection.
    staging
        The write's staging record (matrices touched, for crash recovery).
    """

    def __init__(self, hub: Hub, connection: Connection, staging: Staging) -> None:
        self.hub = hub
        self.connection = connection
        self.staging = staging
        self.buffers: dict[str, MatrixBuffer] = {}
        # Committed matrices of each kind, read once per transaction (see deactivate_elsewhere).
        self._ids_of_kind: dict[str, list[int]] = {}
        #: columns being written by write_in_background
        self._background: Future[None] | None = None

    def matrix(self, name: str, kind: str, owner: str | None) -> MatrixBuffer:
        """The matrix called ``name``, created (of ``kind``, owned by ``owner``) if new."""
        state = self.buffers.get(name)
        if state is not None:
            return state
        row = self.connection.execute(select(s.matrices).where(s.matrices.c.name == name)).first()
        known = self.hub.known_features(name, row.id, row.n_rows) if row is not None else None
        features: dict[str, int]
        last: tuple[np.ndarray, np.ndarray] | None = None
        if row is not None and known is not None:  # a file imported just before, same matrix
            matrix_id = row.id
            features, last = known
            committed = (row.n_rows, row.n_columns)
        elif row is None:
            result = self.connection.execute(
                insert(s.matrices).values(
                    name=name, kind=kind, owner_key=owner, dtype="float32", n_rows=0, n_columns=0
                )
            )
            matrix_id = inserted_id(result)
            features = {}
            committed = (0, 0)
        else:
            matrix_id = row.id
            listed = self.hub.feature_lists.features(self.connection, row.feature_list)
            features = {f: r for r, f in enumerate(listed)}
            committed = (row.n_rows, row.n_columns)
        state = MatrixBuffer(matrix_id, name, committed[0], committed[1], features)
        state.last_ids = last
        state.feature_list = row.feature_list if row is not None else None
        self.buffers[name] = state
        return state

    def add_column(
        self, state: MatrixBuffer, sample_key: str, rows: np.ndarray, values: np.ndarray
    ) -> None:
        """Queue one sample's values (at ``rows``) as a new column of the matrix."""
        state.pending.append((sample_key, rows, np.asarray(values, dtype=np.float32)))
        if len(state.pending) >= FLUSH_COLUMNS:
            self._write_pending(state)

    def deactivate_elsewhere(self, sample_key: str, kind: str, keep: MatrixBuffer) -> None:
        """Make the sample's columns in the other matrices of ``kind`` not current.

        The matrices of a kind are those committed when this transaction first asked for
        the kind."""
        other = self._ids_of_kind.get(kind)
        if other is None:
            other = self._ids_of_kind[kind] = [
                i
                for (i,) in self.connection.execute(
                    select(s.matrices.c.id).where(s.matrices.c.kind == kind)
                )
                if i != keep.id
            ]
        if other:
            self.connection.execute(
                update(s.matrix_columns)
                .where(
                    s.matrix_columns.c.sample_key == sample_key,
                    s.matrix_columns.c.matrix_id.in_(other),
                    s.matrix_columns.c.matrix_id != keep.id,
                )
                .values(active=False)
            )

    def _take_pending(self, state: MatrixBuffer) -> Callable[[], None] | None:
        """Account for the pending columns of ``state`` as written and return the function
        that writes them (None if there are none)."""
        if not state.pending:
            return None
        pending, state.pending = state.pending, []
        start = state.committed_columns + state.written_columns
        n_rows = state.n_rows
        self.staging.matrix(state.name)  # noted before any of its files is written
        for j, (sample_key, _, _) in enumerate(pending):
            state.new_columns.append((start + j, sample_key))
        state.written_columns += len(pending)
        store, name = self.hub.store, state.name

        def write() -> None:
            # Assembled sample by sample (contiguous rows), handed over transposed: the
            # sample-major layout is written from it without a copy.
            block = np.full((len(pending), n_rows), np.nan, dtype=np.float32)
            for j, (_, rows, values) in enumerate(pending):
                block[j, rows] = values
            store.open(name, create=True).append_columns(start, block.T)

        return write

    def _write_pending(self, state: MatrixBuffer) -> None:
        """Write the pending columns of ``state`` now, after those written in the background
        (appends to a matrix go one after the other)."""
        self._wait_for_background()
        write = self._take_pending(state)
        if write is not None:
            write()

    def write_in_background(self) -> None:
        """Start writing the columns added so far on a thread of their own (their files
        only; :meth:`flush` waits for it and records them)."""
        self._wait_for_background()
        writes = [w for w in map(self._take_pending, self.buffers.values()) if w is not None]
        if not writes:
            return

        def run() -> None:
            for write in writes:
                write()

        # what it raises is raised by flush, or dropped by undo
        self._background = background_thread("exprhub-matrix-append").submit(run)

    def _wait_for_background(self) -> None:
        """Wait for the columns being written in the background; raise what writing raised."""
        background, self._background = self._background, None
        if background is not None:
            background.result()

    def flush(self) -> None:
        """Write pending columns, new feature and column rows and the new extents (repeatable:
        a second call writes only what was added since)."""
        for state in self.buffers.values():
            self._write_pending(state)
            replaced = None
            if state.recorded_features < len(state.new_features):
                ordered = [""] * len(state.features)
                for feature, row in state.features.items():
                    ordered[row] = feature
                replaced, state.feature_list = (
                    state.feature_list,
                    store_features(self.connection, ordered),
                )
                state.recorded_features = len(state.new_features)
            new_columns = state.new_columns[state.recorded_columns :]
            state.recorded_columns = len(state.new_columns)
            if new_columns:
                keys = sorted({k for _, k in new_columns})
                self.connection.execute(
                    update(s.matrix_columns)
                    .where(
                        s.matrix_columns.c.matrix_id == state.id,
                        s.matrix_columns.c.sample_key.in_(keys),
                    )
                    .values(active=False)
                )
                latest = {k: c for c, k in new_columns}
                self.connection.execute(
                    insert(s.matrix_columns),
                    [
                        {
                            "matrix_id": state.id,
                            "column": c,
                            "sample_key": k,
                            "active": latest[k] == c,
                        }
                        for c, k in new_columns
                    ],
                )
            self.connection.execute(
                update(s.matrices)
                .where(s.matrices.c.id == state.id)
                .values(
                    n_rows=state.n_rows,
                    n_columns=state.committed_columns + state.written_columns,
                    feature_list=state.feature_list,
                )
            )
            if replaced != state.feature_list:
                drop_if_unused(self.connection, replaced)

    def extents(self) -> list[MatrixExtent]:
        """Every matrix written to, as of the last flush."""
        return [
            MatrixExtent(
                name,
                state.id,
                state.committed_rows + state.recorded_features,
                state.committed_columns + state.written_columns,
                state.features,
                state.last_ids,
            )
            for name, state in self.buffers.items()
        ]

    def undo(self) -> None:
        """Cut every matrix written to back to its committed extent (after SQL rolled back)."""
        with contextlib.suppress(Exception):  # the write is being undone anyway
            self._wait_for_background()
        for state in self.buffers.values():
            if self.hub.store.exists(state.name):
                if state.committed_rows == 0 and state.committed_columns == 0:
                    self.hub.store.delete(state.name)
                else:
                    self.hub.store.open(state.name).discard_beyond(
                        state.committed_rows, state.committed_columns
                    )
