"""Data tables carried by GEO records.

A GEO data table is a header row of column names followed by tab-separated rows. Values are
kept exactly as written (strings), so that writing a record back reproduces it; numeric views
are computed on demand. Column names may repeat (GEO ``.annot`` files name the GO columns
twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

compiled_strings: ModuleType | None
try:  # the C extension (see hatch_build.py); without it numpy and pyarrow do the same work
    from exprhub.records import _strings as compiled_strings
except ImportError:  # pragma: no cover - the tests switch it off
    compiled_strings = None

#: Tokens GEO and submitters use for a missing value in a numeric column.
MISSING_TOKENS = frozenset({"", "null", "NULL", "Null", "NA", "N/A", "n/a", "NaN", "nan", "-", "."})


def as_string_array(values: Sequence[str] | np.ndarray) -> np.ndarray:
    """Return ``values`` as a 1-D numpy array of variable-width strings (no copy when it is
    one already)."""
    if isinstance(values, np.ndarray) and isinstance(values.dtype, np.dtypes.StringDType):
        if values.ndim != 1:
            raise ValueError("a table column must be one-dimensional")
        return values
    array = np.asarray(values, dtype=np.dtypes.StringDType())
    if array.ndim != 1:
        raise ValueError("a table column must be one-dimensional")
    return array


def arrow_strings(column: Sequence[str] | np.ndarray) -> pa.Array:
    """A string column as an Arrow ``large_string`` array (its buffers built in C where the
    extension is built, without a Python string per cell)."""
    import pyarrow as pa

    strings = as_string_array(column)
    if compiled_strings is not None and not hasattr(strings.dtype, "na_object"):
        offsets, data = compiled_strings.arrow_buffers(strings)
        return pa.LargeStringArray.from_buffers(
            len(strings), pa.py_buffer(offsets), pa.py_buffer(data)
        )
    return pa.array(strings, type=pa.large_string())


def strings_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two string columns hold the same strings, in the same order."""
    if compiled_strings is not None and not (
        hasattr(a.dtype, "na_object") or hasattr(b.dtype, "na_object")
    ):
        return compiled_strings.equal(as_string_array(a), as_string_array(b))
    return a.shape == b.shape and bool(np.array_equal(a, b))


def to_float_uses_arrow() -> bool:
    """Whether :func:`to_float` reads plain numbers through Arrow (without the C extension),
    so that a caller who also needs the column as Arrow saves work by passing it."""
    return compiled_strings is None


def to_float(values: Sequence[str] | np.ndarray, *, arrow: Any = None) -> np.ndarray:
    """Convert a string column to float64; missing tokens and non-numbers become NaN.

    Parameters
    ----------
    values
        The strings.
    arrow
        The same strings as a ``pyarrow`` string array, if the caller has one (it is used
        instead of converting ``values`` to Arrow again).
    """
    strings = as_string_array(values)
    if compiled_strings is not None and not hasattr(strings.dtype, "na_object"):
        # Plain decimal numbers are parsed in C; the other cells (exponents out of range,
        # missing-value tokens, text ...) take the general path below, cell for cell alike.
        out, rest = compiled_strings.parse_floats(strings)
        if rest.size == len(strings):
            return _general_to_float(strings, arrow)
        if rest.size:
            out[rest] = _general_to_float(strings[rest], None)
        return out
    return _general_to_float(strings, arrow)


#: The largest magnitude a float32 matrix cell holds; larger numbers would be stored as inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Distinct examples a :class:`ValueTally` keeps per kind of problem.
TALLY_EXAMPLES = 3


@dataclass
class ValueTally:
    """What converting one column of text to stored numbers met besides numbers.

    Attributes
    ----------
    cells
        Cells converted.
    missing
        Cells holding a missing-value token (:data:`MISSING_TOKENS`, or a NaN spelling such
        as ``NaN``): legitimate, stored as NaN.
    unparseable
        Cells that are not numbers (``abc``, ``1,234``): stored as NaN.
    out_of_range
        Numbers whose magnitude exceeds :data:`FLOAT32_MAX` (``1e999``, ``inf``): stored as NaN.
    examples
        Up to :data:`TALLY_EXAMPLES` distinct cells per kind (``"unparseable"``,
        ``"out_of_range"``), as written.
    """

    cells: int = 0
    missing: int = 0
    unparseable: int = 0
    out_of_range: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> int:
        """Cells that were neither numbers nor missing-value tokens."""
        return self.unparseable + self.out_of_range

    def _note(self, kind: str, cells: np.ndarray) -> None:
        kept = self.examples.setdefault(kind, [])
        for text in cells.tolist():
            if len(kept) >= TALLY_EXAMPLES:
                break
            if text not in kept:
                kept.append(text)


def to_stored_float(
    values: Sequence[str] | np.ndarray, *, arrow: Any = None, tally: ValueTally | None = None
) -> np.ndarray:
    """Convert a string column to the float64 values a hub stores in its float32 matrices.

    As :func:`to_float`, except that numbers beyond the float32 range (``1e999``, ``inf``,
    ``-3e40``) become NaN too: a matrix cell is a measurement or missing, never infinite.

    Parameters
    ----------
    values
        The strings.
    arrow
        The same strings as a ``pyarrow`` string array, if the caller has one.
    tally
        If given, counts of missing-value tokens, unparseable text and out-of-range numbers
        are added to it.
    """
    out = to_float(values, arrow=arrow)
    over = np.abs(out) > FLOAT32_MAX
    if tally is not None:
        strings = as_string_array(values)
        tally.cells += len(out)
        if over.any():
            tally.out_of_range += int(np.count_nonzero(over))
            tally._note("out_of_range", strings[over])
        gaps = np.flatnonzero(np.isnan(out))
        if gaps.size:
            text = np.strings.strip(strings[gaps])
            missing = np.isin(text, list(MISSING_TOKENS)) | (
                np.strings.lower(np.strings.lstrip(text, "+-")) == "nan"
            )
            tally.missing += int(np.count_nonzero(missing))
            if not missing.all():
                tally.unparseable += int(np.count_nonzero(~missing))
                tally._note("unparseable", strings[gaps[~missing]])
    if over.any():
        out[over] = np.nan
    return out


def _general_to_float(strings: np.ndarray, arrow: Any) -> np.ndarray:
    fast = _arrow_to_float(strings, arrow)
    if fast is not None:
        return fast
    try:  # every cell a number, some in forms Arrow rejects (surrounding white space ...)
        return strings.astype(np.float64)
    except ValueError:
        pass
    out = np.full(strings.shape[0], np.nan, dtype=np.float64)
    stripped = np.strings.strip(strings)
    missing = np.isin(stripped, list(MISSING_TOKENS))
    try:
        out[~missing] = stripped[~missing].astype(np.float64)
        return out
    except ValueError:
        pass
    for i, text in enumerate(stripped.tolist()):
        if missing[i]:
            continue
        try:
            out[i] = float(text)
        except ValueError:
            continue
    return out


def _arrow_to_float(strings: np.ndarray, arrow: Any) -> np.ndarray | None:
    """``strings`` as float64 if every cell is a plain number, parsed by Arrow (about twice as
    fast as numpy's conversion, and much faster when the caller has the Arrow strings
    already); None otherwise.

    Arrow accepts a subset of what numpy (Python's ``float``) accepts, with the same correctly
    rounded values, except for ``nan(...)`` spellings: cells that come out NaN are parsed again
    by numpy, so the result is always the one numpy gives.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if arrow is None:
            arrow = arrow_strings(strings)
        if arrow.null_count or len(arrow) != len(strings):
            return None
        out: np.ndarray = pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if not out.flags.writeable:
        out = out.copy()
    nan = np.isnan(out)
    if nan.any():
        try:
            out[nan] = strings[nan].astype(np.float64)
        except ValueError:
            return None
    return out


class Table:
    """An ordered set of named string columns of equal length.

    Parameters
    ----------
    names
        Column names in file order; may repeat.
    columns
        One 1-D array (or sequence) of strings per name, all of the same length.
    """

    __slots__ = ("columns", "names")

    def __init__(self, names: Sequence[str], columns: Sequence[Sequence[str] | np.ndarray]) -> None:
        if len(names) != len(columns):
            raise ValueError(f"table has {len(names)} column names but {len(columns)} columns")
        self.names: list[str] = list(names)
        self.columns: list[np.ndarray] = [as_string_array(c) for c in columns]
        lengths = {len(c) for c in self.columns}
        if len(lengths) > 1:
            raise ValueError(f"table columns differ in length: {sorted(lengths)}")

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
        """Build a table from rows; short rows are padded with empty strings."""
        width = len(names)
        cols: list[list[str]] = [[] for _ in range(width)]
        for row in rows:
            for j in range(width):
                cols[j].append(row[j] if j < len(row) else "")
        return cls(names, cols)

    @property
    def n_rows(self) -> int:
        """Number of data rows."""
        return len(self.columns[0]) if self.columns else 0

    @property
    def n_cols(self) -> int:
        """Number of columns."""
        return len(self.names)

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``."""
        return (self.n_rows, self.n_cols)

    def index_of(self, name: str) -> int:
        """Position of the first column called ``name`` (case-insensitive fallback).

        Raises
        ------
        KeyError
            If no column has that name.
        """
        if name in self.names:
            return self.names.index(name)
        lowered = [n.lower() for n in self.names]
        if name.lower() in lowered:
            return lowered.index(name.lower())
        raise KeyError(f"no column {name!r}; columns are {self.names}")

    def has(self, name: str) -> bool:
        """Whether a column called ``name`` exists (case-insensitive)."""
        return name.lower() in (n.lower() for n in self.names)

    def column(self, key: str | int) -> np.ndarray:
        """The string values of a column, by name (first match) or position."""
        index = key if isinstance(key, int) else self.index_of(key)
        return self.columns[index]

    def numeric(self, key: str | int) -> np.ndarray:
        """The values of a column as float64; missing tokens and non-numbers are NaN."""
        return to_float(self.column(key))

    def rows(self) -> Iterator[list[str]]:
        """Iterate the rows as lists of strings."""
        lists = [c.tolist() for c in self.columns]
        for i in range(self.n_rows):
            yield [col[i] for col in lists]

    def head(self, n: int) -> Table:
        """The first ``n`` rows."""
        return Table(self.names, [c[:n] for c in self.columns])

    def to_pandas(self):  # type: ignore[no-untyped-def]
        """The table as a pandas DataFrame of strings (duplicate names kept)."""
        import pandas as pd

        frame = pd.DataFrame({i: c for i, c in enumerate(self.columns)})
        frame.columns = self.names
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        if self.names != other.names or self.n_rows != other.n_rows:
            return False
        return all(np.array_equal(a, b) for a, b in zip(self.columns, other.columns, strict=True))

    def __hash__(self) -> int:  # tables are mutable containers
        raise TypeError("Table is unhashable")

    def __repr__(self) -> str:
        return f"Table({self.n_rows} rows x {self.n_cols} columns: {self.names[:6]})"
