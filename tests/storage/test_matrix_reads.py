"""Blocks read chunk file by chunk file (``read_block``, what compaction copies) are what zarr
reads from the same files, chunks never written included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exprhub.storage import chunk_writer, matrix_reads
from exprhub.storage.array_meta import ArrayMeta
from exprhub.storage.matrix_reads import read_block
from tests.storage.test_arrays import make_store, random_values


@pytest.mark.parametrize("threads", [1, 2])
def test_blocks_are_what_zarr_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(matrix_reads, "READ_THREADS", threads)
    monkeypatch.setattr(matrix_reads, "_PARALLEL_READ_CHUNKS", 4)
    matrix = make_store(tmp_path).open("m", create=True)
    matrix.append_columns(0, random_values(1, (37, 20), "float32"))
    # columns 20-31 left unwritten, then more: whole chunks of NaN in between
    matrix.append_columns(32, random_values(2, (37, 9), "float32"))
    samples = ArrayMeta.read(tmp_path, tmp_path / "m" / "by_sample")  # (samples, features)
    spans = [((0, 41), (0, 37)), ((5, 38), (3, 30)), ((20, 32), (0, 37)), ((17, 18), (36, 37))]
    ours = [read_block(samples, *span) for span in spans]
    monkeypatch.setattr(chunk_writer.ChunkCodec, "of", classmethod(lambda cls, array: None))
    theirs = [read_block(samples, *span) for span in spans]  # through zarr
    for (a, b), mine, zarrs in zip(spans, ours, theirs, strict=True):
        assert mine.shape == (a[1] - a[0], b[1] - b[0])
        assert mine.tobytes() == zarrs.tobytes()
    assert np.isnan(ours[2]).all()  # never written
    assert np.isfinite(ours[0]).sum() > 500
