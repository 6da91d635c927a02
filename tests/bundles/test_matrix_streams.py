"""The compendium's streamed TSV matrix: the bundles' value text (shortest round-trip), empty
cells for missing values, every float32 read back exactly, the same text whatever the blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exprhub.bundles import matrix_streams, value_text
from exprhub.bundles.matrix_streams import TsvMatrixStream
from exprhub.bundles.value_text import tsv_lines


def stream_tsv(tmp_path, values: np.ndarray, genes: list[str], block: int) -> str:
    """``values`` (genes x samples) written through a TsvMatrixStream ``block`` samples at a
    time; the file's text."""
    samples = [f"GSM{j + 1}" for j in range(values.shape[1])]
    symbols = {g: f"SYM{g}" for g in genes[::2]}
    stream = TsvMatrixStream(tmp_path / "m.tsv", genes, symbols, len(samples))
    for start in range(0, len(samples), block):
        stream.write(samples[start : start + block], values[:, start : start + block])
    stream.close()
    assert not stream.scratch.exists()
    return (tmp_path / "m.tsv").read_text(encoding="utf-8")


def random_float32(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Every kind of float32: random bit patterns (subnormals, huge, NaN, infinities), zeros
    of both signs, expression-like values."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**32, size=shape, dtype=np.uint32).view(np.float32)
    values[::3] = rng.normal(8, 2, size=values[::3].shape).astype(np.float32)
    values[0, :2] = [0.0, -0.0]
    values[1, :3] = [1.0, np.inf, -np.inf]
    return values


@pytest.mark.parametrize("block", [1, 5, 64])
def test_values_read_back_exactly_and_missing_is_empty(tmp_path, block):
    values = random_float32((40, 23), seed=block)
    values[2, 4] = np.nan
    values[5, :] = np.nan
    genes = [str(1000 + i) for i in range(values.shape[0])]
    text = stream_tsv(tmp_path, values, genes, block)
    lines = text.splitlines()
    assert lines[0].split("\t") == ["gene_id", "symbol"] + [f"GSM{j + 1}" for j in range(23)]
    cells = [line.split("\t") for line in lines[1:]]
    assert [c[0] for c in cells] == genes
    assert cells[0][1] == "SYM1000" and cells[1][1] == ""
    assert cells[5][2:] == [""] * 23 and cells[2][2 + 4] == ""
    assert "nan" not in text.lower()
    assert cells[0][2:4] == ["0", "-0"] and cells[1][2:5] == ["1", "inf", "-inf"]

    got = np.array(
        [[float(v) if v else np.nan for v in row[2:]] for row in cells], dtype=np.float64
    ).astype(np.float32)
    nan = np.isnan(values)
    assert (np.isnan(got) == nan).all()
    assert (got[~nan].view(np.uint32) == values[~nan].view(np.uint32)).all()
    frame = pd.read_csv(tmp_path / "m.tsv", sep="\t", index_col=0, dtype={"gene_id": str})
    read = frame.drop(columns="symbol").to_numpy(np.float64).astype(np.float32)
    assert (read[~nan].view(np.uint32) == values[~nan].view(np.uint32)).all()
    assert np.isnan(read[nan]).all()

    # each value is the bundles' text of it (value_text), the NaN cells emptied
    finite_rows = [i for i in range(values.shape[0]) if not np.isnan(values[i]).any()]
    for i in finite_rows:
        expected = bytes(tsv_lines([genes[i]], values[i : i + 1])).decode().rstrip("\n")
        assert "\t".join([cells[i][0], *cells[i][2:]]) == expected


def test_text_does_not_depend_on_blocks_or_bands(tmp_path, monkeypatch):
    values = random_float32((300, 9), seed=7)
    values[10, 3] = np.nan
    genes = [str(i) for i in range(1, 301)]
    whole = stream_tsv(tmp_path, values, genes, 9)
    monkeypatch.setattr(matrix_streams, "_TSV_BUFFER", 4 * 9 * 7)  # bands of 7 genes
    monkeypatch.setattr(value_text, "VALUES_PER_BLOCK", 9 * 3)  # blocks of 3 genes
    monkeypatch.setattr(matrix_streams, "genes_per_block", value_text.genes_per_block)
    assert stream_tsv(tmp_path, values, genes, 2) == whole


def test_no_samples_or_no_genes(tmp_path):
    assert stream_tsv(tmp_path, np.zeros((2, 0), np.float32), ["1", "2"], 1) == (
        "gene_id\tsymbol\n1\tSYM1\n2\t\n"
    )
    assert stream_tsv(tmp_path, np.zeros((0, 2), np.float32), [], 1) == (
        "gene_id\tsymbol\tGSM1\tGSM2\n"
    )
