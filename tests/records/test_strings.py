"""Tests for the compiled string-column helpers (``exprhub.records._strings``).

Each must give exactly what the numpy / pyarrow path gives where the extension is not built:
the splitter's property tests in ``tests/formats/test_soft_table.py`` run on both paths (and
read every SOFT fixture both ways), and here the Arrow conversion and the comparison are checked
against pyarrow and numpy. CI builds the extension (``.ci/run`` sets
``EXPRHUB_REQUIRE_EXTENSION``), so there its absence is a failure.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exprhub.formats import soft_table
from exprhub.records import table as table_module
from exprhub.records.table import arrow_strings, strings_equal
from tests.conftest import compiled_strings

_STRING = np.dtypes.StringDType()


@pytest.fixture
def compiled():  # type: ignore[no-untyped-def]
    """The compiled module; skips where it was not built, fails in CI."""
    return compiled_strings()


def test_the_extension_is_used_when_built(compiled) -> None:  # type: ignore[no-untyped-def]
    assert soft_table.COMPILED
    assert table_module.compiled_strings is compiled


def test_split_rows_splits_rows_like_the_text_rules(compiled) -> None:  # type: ignore[no-untyped-def]
    long = "GO:0005515 // protein binding " * 3
    data = bytearray(f"a\tb\tc\r\n\n\r\nd\te\nf\tg\th\ti\n{long}\t\tµ\nlast\t\t".encode())
    columns = [np.empty(6, dtype=_STRING) for _ in range(3)]
    counts = compiled.split_rows(data, 0, len(data), columns)
    assert counts == (5, 1, 1, 6)  # rows, longer rows, shorter rows, newlines
    assert [c.tolist() for c in columns] == [
        ["a", "d", "f", long, "last", ""],
        ["b", "e", "g", "", "", ""],
        ["c", "", "h", "µ", "", ""],
    ]


def test_split_rows_writes_into_views_and_a_range(compiled) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(b"HEADER\nx\t1\ny\t2\nIGNORED")
    backing = [np.full(5, "old", dtype=_STRING) for _ in range(2)]
    views = [column[1:4] for column in backing]
    assert compiled.split_rows(data, 7, 15, views) == (2, 0, 0, 2)
    assert backing[0].tolist() == ["old", "x", "y", "old", "old"]
    assert backing[1].tolist() == ["old", "1", "2", "old", "old"]


def test_split_rows_rejects_unfit_columns(compiled) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(b"a\tb\nc\td\n")
    with pytest.raises(TypeError, match="StringDType"):
        compiled.split_rows(data, 0, len(data), [np.empty(2, dtype=object)])
    with pytest.raises(TypeError, match="not a numpy array"):
        compiled.split_rows(data, 0, len(data), [["a", "b"]])
    with pytest.raises(ValueError, match="room for 1 rows"):
        compiled.split_rows(data, 0, len(data), [np.empty(1, dtype=_STRING)])
    frozen = np.empty(2, dtype=_STRING)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        compiled.split_rows(data, 0, len(data), [frozen])
    with pytest.raises(ValueError, match="bad range"):
        compiled.split_rows(data, 0, len(data) + 1, [np.empty(2, dtype=_STRING)])
    with pytest.raises(ValueError, match="at least one column"):
        compiled.split_rows(data, 0, len(data), [])


_strings = st.lists(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
    | st.sampled_from(["", "x", "GO:0005515 // protein binding " * 9]),
    max_size=60,
)
_FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(values=_strings)
def test_arrow_strings_match_pyarrow(compiled, values: list[str]) -> None:  # type: ignore[no-untyped-def]
    column = np.array(values, dtype=_STRING)
    built = arrow_strings(column)
    assert built.type == pa.large_string()
    assert built.equals(pa.array(values, type=pa.large_string()))
    built.validate(full=True)
    assert arrow_strings(column[::-2]).to_pylist() == values[::-2]  # a strided view
    with pytest.MonkeyPatch.context() as patch:  # the path taken without the extension
        patch.setattr(table_module, "compiled_strings", None)
        assert arrow_strings(column).equals(built)


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(values=_strings, change=st.integers(0, 80), text=st.text(max_size=3))
def test_strings_equal_matches_numpy(  # type: ignore[no-untyped-def]
    compiled, values: list[str], change: int, text: str
) -> None:
    a = np.array(values, dtype=_STRING)
    b = a.copy()
    if values:
        b[change % len(values)] = text
    expected = a.shape == b.shape and bool(np.array_equal(a, b))
    assert strings_equal(a, b) is expected
    assert strings_equal(a, a[:-1]) is (len(values) == 0)
    assert compiled.equal(a, b) is expected
    assert compiled.equal(a, a) and compiled.equal(a, a[:])  # one allocator for both sides
    with pytest.MonkeyPatch.context() as patch:  # the path taken without the extension
        patch.setattr(table_module, "compiled_strings", None)
        assert strings_equal(a, b) is expected


def test_compiled_helpers_reject_other_arrays(compiled) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="StringDType"):
        compiled.arrow_buffers(np.array(["a"], dtype=object))
    with pytest.raises(TypeError, match="StringDType"):
        compiled.equal(np.array(["a"]), np.array(["a"], dtype=_STRING))
    na = np.array(["a", None], dtype=np.dtypes.StringDType(na_object=None))
    with pytest.raises(ValueError, match="missing value"):
        compiled.arrow_buffers(na)
    assert arrow_strings(na).to_pylist() == ["a", None]  # NA columns take pyarrow's path


def _arrow_reference(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Arrow's large_string offsets and bytes for ``values``, worked out in Python."""
    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(text) for text in encoded], dtype=np.int64)
    return offsets, np.frombuffer(b"".join(encoded), dtype=np.uint8)


def _assert_arrow_buffers(compiled, column: np.ndarray, values: list[str]) -> None:  # type: ignore[no-untyped-def]
    offsets, data = compiled.arrow_buffers(column)
    expected_offsets, expected_data = _arrow_reference(values)
    assert offsets.dtype == np.int64 and data.dtype == np.uint8
    np.testing.assert_array_equal(offsets, expected_offsets)
    np.testing.assert_array_equal(data, expected_data)
    built = pa.LargeStringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))
    built.validate(full=True)
    assert built.equals(pa.array(values, type=pa.large_string()))


# numpy keeps strings of up to 15 bytes in the array's slot and longer ones elsewhere (in an
# arena, or on the heap once replaced); lengths past 255 bytes take a wider size field.
_ANY_STRINGS = st.lists(
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
    | st.builds(
        lambda text, times: (text or "x") * times,
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=8),
        st.integers(2, 150),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(values=_ANY_STRINGS, replaced=st.lists(st.tuples(st.integers(0, 80), _ANY_STRINGS)))
def test_arrow_buffers_match_a_python_reference(  # type: ignore[no-untyped-def]
    compiled, values: list[str], replaced: list[tuple[int, list[str]]]
) -> None:
    column = np.array(values, dtype=_STRING)
    _assert_arrow_buffers(compiled, column, values)
    _assert_arrow_buffers(compiled, column[1::3], values[1::3])  # a strided view
    for at, texts in replaced:  # replaced strings move out of the arena
        if values and texts:
            values[at % len(values)] = texts[0]
            column[at % len(values)] = texts[0]
    _assert_arrow_buffers(compiled, column, values)


def _long_strings(count: int, seed: int) -> list[str]:
    """``count`` strings of 100 to 300 bytes (some characters take two or three)."""
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("abcdefghij0123456789.-_ éøµ€"))
    strings = []
    for size in rng.integers(100, 301, count):
        text = "".join(rng.choice(alphabet, size))
        strings.append(text.encode()[:size].decode(errors="ignore"))
    return strings


def test_arrow_buffers_grows_its_buffer_for_long_strings(compiled) -> None:  # type: ignore[no-untyped-def]
    values = _long_strings(10_000, seed=1)  # ~2 MB: several times the first guess of 8 bytes each
    column = np.array(values, dtype=_STRING)
    _assert_arrow_buffers(compiled, column, values)
    offsets, data = compiled.arrow_buffers(column[::-1])
    del column
    assert data.tobytes().decode() == "".join(reversed(values))  # the bytes outlive the column
    assert offsets[-1] == data.size
    assert compiled.equal(np.array(values, dtype=_STRING), np.array(values, dtype=_STRING))
    changed = np.array(values, dtype=_STRING)
    changed[-1] = values[-1][:-1] + "!"
    assert not compiled.equal(np.array(values, dtype=_STRING), changed)
    assert compiled.arrow_buffers(np.array([], dtype=_STRING))[1].size == 0


@pytest.mark.parametrize("size", [3, 5_000])  # with and without the GIL released
def test_missing_values_raise_after_the_loop(compiled, size: int) -> None:  # type: ignore[no-untyped-def]
    na_type = np.dtypes.StringDType(na_object=None)
    values: list[str | None] = ["GO:0005515 // protein binding"] * size
    for missing in (0, size - 1):
        cells = values.copy()
        cells[missing] = None
        column = np.array(cells, dtype=na_type)
        with pytest.raises(ValueError, match=r"^missing value \(NA\) in a string column$"):
            compiled.arrow_buffers(column)
        other = np.array(values, dtype=na_type)
        with pytest.raises(ValueError, match=r"^missing value \(NA\) in a string column$"):
            compiled.equal(other, column)
        if missing == size - 1:  # a difference found before the missing value decides
            other[0] = "other"
            assert compiled.equal(other, column) is False


def _progress_during(call: Callable[[], object]) -> bool:
    """Whether another Python thread runs while ``call`` does, in one of up to 100 tries.

    The switch interval is set far beyond the test, so the other thread only gets the GIL when
    this one gives it up: a call that keeps the GIL never sees the counter move.
    """
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1
            stop.wait(0.0005)  # gives the GIL back at once

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    thread = threading.Thread(target=count)
    try:
        thread.start()
        for _ in range(100):
            before = counter[0]
            call()
            if counter[0] != before:
                return True
        return False
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def test_other_threads_run_during_long_calls(compiled) -> None:  # type: ignore[no-untyped-def]
    values = _long_strings(10_000, seed=2)
    a = np.array(values, dtype=_STRING)
    b = np.array(values, dtype=_STRING)
    assert _progress_during(lambda: compiled.arrow_buffers(a))
    assert _progress_during(lambda: compiled.equal(a, b))


# Another thread reads items of the columns while each function runs on them, many times:
# numpy takes a column's allocator lock with the GIL held to read an item, so a function that
# waited for the GIL with that lock held would hang here (it did, before they gave it back
# first).
_READ_WHILE_CALLED = """
import threading
import numpy as np
from exprhub.records import _strings

size = 20_000
values = [f"{i % 9973}.{i % 10}" for i in range(size)]
a = np.array(values, dtype=np.dtypes.StringDType())
b = np.array(values, dtype=np.dtypes.StringDType())
target = np.empty(size, dtype=np.dtypes.StringDType())
text = bytearray("\\n".join(values).encode())
stop = threading.Event()

def read() -> None:
    i = 0
    while not stop.is_set():
        a[i % size], b[i % size], target[i % size]
        i += 1

reader = threading.Thread(target=read)
reader.start()
for _ in range(10):
    _strings.arrow_buffers(a)
    _strings.equal(a, b)
    _strings.parse_floats(a)
    _strings.split_rows(text, 0, len(text), [target])
stop.set()
reader.join()
assert target.tolist() == values
"""


def test_a_thread_reading_the_same_columns_does_not_deadlock(compiled) -> None:  # type: ignore[no-untyped-def]
    try:
        run = subprocess.run(
            [sys.executable, "-c", _READ_WHILE_CALLED], timeout=120, capture_output=True, text=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a thread reading the same columns deadlocked with the compiled functions")
    assert run.returncode == 0, run.stderr


_DIGITS = st.text(alphabet="0123456789", max_size=20)
_DECIMALS = st.builds(
    lambda sign, whole, point, fraction, exponent: (
        f"{sign}{whole}{'.' if point else ''}{fraction if point else ''}{exponent}"
    ),
    st.sampled_from(["", "-", "+"]),
    _DIGITS,
    st.booleans(),
    _DIGITS,
    st.sampled_from(["", "e", "E"]).flatmap(
        lambda e: (
            st.just("")
            if not e
            else st.builds(
                lambda s, d: f"{e}{s}{d}",
                st.sampled_from(["", "-", "+"]),
                st.text(alphabet="0123456789", max_size=5),
            )
        )
    ),
)
_NUMBER_CELLS = st.lists(
    _DECIMALS
    | st.floats().map(repr)
    | st.builds(lambda x, k: f"{x:.{k}f}", st.floats(-1e6, 1e6), st.integers(0, 12))
    | st.sampled_from(["", "null", "NA", " 1.5", "1_0", "nan", "inf", "0x1p3", "1.5.5"]),
    max_size=60,
)


def _python_floats(values: list[str]) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, text in enumerate(values):
        try:
            out[i] = float(text)
        except ValueError:
            continue
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=_FIXTURE_OK)
@given(values=_NUMBER_CELLS)
def test_parse_floats_agrees_with_python_float(compiled, values: list[str]) -> None:  # type: ignore[no-untyped-def]
    column = np.array(values, dtype=_STRING)
    parsed, rest = compiled.parse_floats(column)
    assert parsed.dtype == np.float64 and rest.dtype == np.int64
    expected = _python_floats(values)
    done = np.ones(len(values), dtype=bool)
    done[rest] = False
    assert parsed[done].tobytes() == expected[done].tobytes()  # bit for bit, signs of 0 too
    assert np.isnan(parsed[rest]).all()
    for i in rest.tolist():  # only cells that are not plain numbers, or not exact in one step
        assert values[i] != ""
    got = table_module.to_float(column)
    assert got.tobytes() == expected.tobytes()
    with pytest.MonkeyPatch.context() as patch:  # the path taken without the extension
        patch.setattr(table_module, "compiled_strings", None)
        assert table_module.to_float(column).tobytes() == got.tobytes()


def test_parse_floats_takes_exact_cells_and_leaves_the_rest(compiled) -> None:  # type: ignore[no-untyped-def]
    cells = {
        "440.651": 440.651,
        "-0.0": -0.0,
        "+.5": 0.5,
        "5.": 5.0,
        "6e-05": 6e-05,
        "1.5E+3": 1500.0,
        "000000000000000000001.25": 1.25,  # leading zeros are not significant
        "123456789012345": 123456789012345.0,
        "9007199254740992": 9007199254740992.0,  # 2**53, the largest exact integer
        "0.0000000000000000001": 1e-19,  # 19 digits
        "1e22": 1e22,
        "1e-22": 1e-22,
        "0e-999": 0.0,
        "1e0000": 1.0,
    }
    left = [
        "9007199254740993",
        "0.00000000000000000001",
        "1e23",
        "1e-23",
        "1e00000",
        "1e",
        "e5",
        ".",
        "-",
        "1_0",
        " 1",
    ]
    column = np.array([*cells, "", *left], dtype=_STRING)
    parsed, rest = compiled.parse_floats(column)
    assert parsed[: len(cells)].tolist() == list(cells.values())
    assert np.signbit(parsed[1])
    assert np.isnan(parsed[len(cells)])  # an empty cell
    assert rest.tolist() == list(range(len(cells) + 1, len(column)))
    with pytest.raises(TypeError, match="StringDType"):
        compiled.parse_floats(np.array(["1"]))
    with pytest.raises(ValueError, match="missing value"):
        compiled.parse_floats(np.array(["1", None], dtype=np.dtypes.StringDType(na_object=None)))
