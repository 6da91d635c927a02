"""Tests for the compiled table splitter (``exprhub.formats._tabsplit``).

The splitter must give exactly what the numpy path gives: the property tests of
``test_soft_table.py`` run on both, and here every SOFT fixture is read both ways. CI builds the
extension (``.ci/run`` sets ``EXPRHUB_REQUIRE_EXTENSION``), so there its absence is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from exprhub.formats import soft_table
from exprhub.formats.detect import detect_format
from exprhub.formats.errors import FormatError
from exprhub.formats.soft import SoftReader

_STRING = np.dtypes.StringDType()


@pytest.fixture
def tabsplit():  # type: ignore[no-untyped-def]
    """The compiled module; skips where it was not built, fails in CI."""
    try:
        from exprhub.formats import _tabsplit
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must build exprhub.formats._tabsplit (see hatch_build.py)")
        pytest.skip("exprhub.formats._tabsplit is not built (no C compiler at install)")
    return _tabsplit


def test_the_reader_uses_the_extension_when_built(tabsplit) -> None:  # type: ignore[no-untyped-def]
    assert soft_table.COMPILED


def test_fill_splits_rows_like_the_text_rules(tabsplit) -> None:  # type: ignore[no-untyped-def]
    long = "GO:0005515 // protein binding " * 3
    data = bytearray(f"a\tb\tc\r\n\n\r\nd\te\nf\tg\th\ti\n{long}\t\tµ\nlast\t\t".encode())
    columns = [np.empty(6, dtype=_STRING) for _ in range(3)]
    counts = tabsplit.fill(data, 0, len(data), columns)
    assert counts == (5, 1, 1, 6)  # rows, longer rows, shorter rows, newlines
    assert [c.tolist() for c in columns] == [
        ["a", "d", "f", long, "last", ""],
        ["b", "e", "g", "", "", ""],
        ["c", "", "h", "µ", "", ""],
    ]


def test_fill_writes_into_views_and_a_range(tabsplit) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(b"HEADER\nx\t1\ny\t2\nIGNORED")
    backing = [np.full(5, "old", dtype=_STRING) for _ in range(2)]
    views = [column[1:4] for column in backing]
    assert tabsplit.fill(data, 7, 15, views) == (2, 0, 0, 2)
    assert backing[0].tolist() == ["old", "x", "y", "old", "old"]
    assert backing[1].tolist() == ["old", "1", "2", "old", "old"]


def test_fill_rejects_unfit_columns(tabsplit) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(b"a\tb\nc\td\n")
    with pytest.raises(TypeError, match="StringDType"):
        tabsplit.fill(data, 0, len(data), [np.empty(2, dtype=object)])
    with pytest.raises(TypeError, match="not a numpy array"):
        tabsplit.fill(data, 0, len(data), [["a", "b"]])
    with pytest.raises(ValueError, match="room for 1 rows"):
        tabsplit.fill(data, 0, len(data), [np.empty(1, dtype=_STRING)])
    frozen = np.empty(2, dtype=_STRING)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        tabsplit.fill(data, 0, len(data), [frozen])
    with pytest.raises(ValueError, match="bad range"):
        tabsplit.fill(data, 0, len(data) + 1, [np.empty(2, dtype=_STRING)])
    with pytest.raises(ValueError, match="at least one column"):
        tabsplit.fill(data, 0, len(data), [])


def _soft_fixtures() -> list[Path]:
    from tests.conftest import GEO_FIXTURES

    found = []
    for path in sorted(GEO_FIXTURES.glob("*/*")):
        try:
            kind = detect_format(path)
        except FormatError:
            continue
        if kind in ("soft", "annot"):
            found.append(path)
    return found


def _read(path: Path) -> tuple[list[object], list[str]]:
    reader = SoftReader(path)
    records = [
        (
            type(r).__name__,
            r.id,
            r.attributes,
            r.columns,
            None if r.table is None else (r.table.names, [c.tolist() for c in r.table.columns]),
        )
        for r in reader.records()
    ]
    return records, [str(w) for w in reader.warnings]


@pytest.mark.parametrize("path", _soft_fixtures(), ids=lambda p: p.name)
def test_every_soft_fixture_reads_the_same_either_way(
    tabsplit,  # type: ignore[no-untyped-def]
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = _read(path)
    monkeypatch.setattr(soft_table, "COMPILED", False)
    assert _read(path) == compiled
