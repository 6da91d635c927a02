"""The TSV text of bundle values: every float32 reads back exactly from the shortest text (the
digits numpy's Dragon4 finds), with Python's, numpy's and pandas' parsers; blocks deflated on
threads form one stream whose bytes do not depend on the number of threads; the zip entry
reads back with its CRC checked."""

from __future__ import annotations

import io
import zipfile
import zlib
from decimal import Decimal

import numpy as np
import pandas
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from exprhub.bundles import value_text
from exprhub.bundles.archive import LEVEL, FixedZip
from exprhub.bundles.value_text import (
    DEFLATE_END,
    float32_strings,
    matrix_parts,
    tsv_lines,
)

FLOAT32 = st.floats(width=32, allow_nan=True, allow_infinity=True, allow_subnormal=True)


def read_back(texts: list[str]) -> np.ndarray:
    """Each text as Python reads it (float64), then as float32."""
    return np.array([float(t) for t in texts], dtype=np.float64).astype(np.float32)


def assert_same_float32(got: np.ndarray, expected: np.ndarray) -> None:
    """Bit for bit (so -0 and 0 differ), NaN for NaN."""
    nan = np.isnan(expected)
    assert (np.isnan(got) == nan).all()
    assert (got[~nan].view(np.uint32) == expected[~nan].view(np.uint32)).all()


def assert_shortest(texts: list[str], values: np.ndarray) -> None:
    """The same decimal number numpy's shortest unique repr (Dragon4) writes."""
    finite = np.isfinite(values)
    for text, reference in zip(np.array(texts)[finite], values[finite].astype(str), strict=True):
        assert Decimal(str(text)) == Decimal(str(reference)), (text, reference)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float32, st.integers(1, 64), elements=FLOAT32))
def test_every_float32_reads_back_exactly_from_shortest_text(values):
    texts = float32_strings(values, repeated=False).to_pylist()
    assert_same_float32(read_back(texts), values)
    assert_shortest(texts, values)
    assert float32_strings(values, repeated=True).to_pylist() == texts


def test_repeated_values_formatted_once_give_the_same_text():
    rng = np.random.default_rng(5)
    target = np.sort(rng.normal(7, 2, 2000)).astype(np.float32)  # as after QN: target values
    values = target[rng.integers(0, 2000, (300, 400))]
    values[0, :6] = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf]
    values[1, :2] = [np.float32(1e-45), -np.float32(1e-45)]
    each = float32_strings(values, repeated=False)
    assert float32_strings(values, repeated=True).equals(each)
    assert float32_strings(values).equals(each)  # found repeated by itself
    assert each.slice(0, 6).to_pylist() == ["0", "-0", "nan", "nan", "inf", "-inf"]
    assert_same_float32(read_back(each.to_pylist()), values.ravel())


def test_random_bit_patterns_read_back_exactly():
    # every exponent (subnormals, huge) and sign, uniformly over the 2^32 patterns
    bits = np.random.default_rng(7).integers(0, 2**32, 200_000, dtype=np.uint64)
    values = bits.astype(np.uint32).view(np.float32)
    texts = float32_strings(values).to_pylist()
    parsed = np.array(texts, dtype=np.float64).astype(np.float32)  # numpy's own parser too
    assert_same_float32(parsed, values)
    assert_same_float32(read_back(texts), values)
    table = pandas.read_csv(io.StringIO("x\n" + "\n".join(texts) + "\n"))  # its default parser
    assert_same_float32(table["x"].to_numpy().astype(np.float32), values)
    sample = slice(0, 20_000)
    assert_shortest(texts[sample], values[sample])


def test_expression_like_values_read_back_exactly():
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.normal(7, 2, 50_000),  # log2 intensities
            rng.uniform(0, 1, 20_000),  # min-max scaled
            rng.normal(0, 1, 20_000),  # standard scaled
            np.arange(-1000, 1000),  # integers
        ]
    ).astype(np.float32)
    texts = float32_strings(values).to_pylist()
    assert_same_float32(read_back(texts), values)
    assert_shortest(texts, values)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (7.123456, "7.123456"),
        (1.0, "1"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100.0, "100"),
        (-2.5, "-2.5"),
        (0.1, "0.1"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (123456789.0, "123456790"),
        (1e10, "1e+10"),
        (12345678901.0, "1.2345679e+10"),
        (3.4028235e38, "3.4028235e+38"),
        (1e-45, "1e-45"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_text_of_values(value, text):
    # the text bundles hold; a change here changes every TSV bundle's bytes
    assert float32_strings(np.array([value], dtype=np.float32)).to_pylist() == [text]


def test_tsv_lines_hold_labels_and_values():
    values = np.array([[1.5, -0.0, 7.123456], [np.nan, 1e-7, 2.0]], dtype=np.float32)
    text = bytes(tsv_lines(["101", "102"], values)).decode()
    assert text == "101\t1.5\t-0\t7.123456\n102\tnan\t1e-7\t2\n"
    assert bytes(tsv_lines(["1"], values[:1, :0])) == b"1\n"
    assert bytes(tsv_lines([], values[:0])) == b""
    assert bytes(tsv_lines(["102"], values[1:])) == b"102\tnan\t1e-7\t2\n"
    with pytest.raises(ValueError, match="1 row labels for 2 rows"):
        tsv_lines(["101"], values)


def joined(parts):
    pieces = list(parts)
    text = b"".join(bytes(piece) for piece, _ in pieces)
    stream = b"".join(deflated for _, deflated in pieces) + DEFLATE_END
    return text, stream


@pytest.mark.parametrize("n_samples", [1, 7, 300])
def test_parts_form_one_deflate_stream_whatever_the_threads(monkeypatch, n_samples):
    monkeypatch.setattr(value_text, "VALUES_PER_BLOCK", 1000)  # many blocks
    rng = np.random.default_rng(n_samples)
    values = rng.normal(5, 3, (401, n_samples)).astype(np.float32)
    genes = [str(g) for g in range(100, 501)]
    header = "gene_id\t" + "\t".join(f"GSM{j}" for j in range(n_samples)) + "\n"
    serial_text, serial = joined(matrix_parts(header, genes, values, LEVEL, threads=1))
    threaded_text, threaded = joined(matrix_parts(header, genes, values, LEVEL, threads=2))
    assert serial == threaded and serial_text == threaded_text
    assert zlib.decompress(serial, -zlib.MAX_WBITS) == serial_text
    lines = serial_text.decode().splitlines()
    assert lines[0] == header.rstrip("\n") and len(lines) == 402
    cells = [line.split("\t") for line in lines[1:]]
    assert [c[0] for c in cells] == genes
    assert_same_float32(read_back([v for c in cells for v in c[1:]]), values.ravel())


def test_deflated_entry_reads_back_with_its_crc(tmp_path):
    values = np.random.default_rng(1).normal(0, 1, (50, 20)).astype(np.float32)
    genes = [f"g{i}" for i in range(50)]
    path = tmp_path / "m.zip"
    with FixedZip(path) as archive:
        archive.write_bytes("a.txt", b"first\n")
        parts = matrix_parts("gene_id\n", genes, values, LEVEL)
        archive.write_deflated("m.tsv", parts, DEFLATE_END)
        archive.write_bytes("z.txt", b"last\n")
    with zipfile.ZipFile(path) as opened:
        assert opened.testzip() is None  # every entry's CRC checked
        assert opened.namelist() == ["a.txt", "m.tsv", "z.txt"]
        text, _ = joined(matrix_parts("gene_id\n", genes, values, LEVEL, threads=1))
        assert opened.read("m.tsv") == text
        info = opened.getinfo("m.tsv")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.file_size == len(text)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as again:
        assert again.read("z.txt") == b"last\n"


def test_values_digest_is_the_same_for_a_sample_major_matrix(monkeypatch):
    from exprhub.bundles import bundle
    from exprhub.bundles.aggregate import Aggregate

    values = np.random.default_rng(2).normal(0, 1, (300, 40)).astype(np.float32)

    def digest(matrix):
        return bundle.values_digest(
            Aggregate(
                "K",
                [f"S{j}" for j in range(40)],
                [str(g) for g in range(300)],
                matrix,
                ["Homo sapiens"],
                0,
                {},
            )
        )

    monkeypatch.setattr(bundle, "DIGEST_BLOCK", 1000)  # many blocks
    assert digest(np.asfortranarray(values)) == digest(values)
    assert digest(values[::-1]) != digest(values)
