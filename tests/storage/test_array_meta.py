"""The matrix store writes its arrays' metadata without zarr (exprhub.storage.array_meta): the
files must be the ones zarr writes, and zarr must open them and read the values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec

from exprhub.storage.array_meta import ArrayMeta
from exprhub.storage.arrays import MatrixStore
from exprhub.storage.chunk_writer import ChunkCodec


def zarr_metadata(root: Path, chunks: tuple[int, int], shape: tuple[int, int], dtype: str) -> bytes:
    """The metadata zarr writes for an array made as the store makes its arrays, then resized
    to ``shape``."""
    array = zarr.create_array(
        store=zarr.storage.LocalStore(root),
        name="a",
        shape=(16, 16),
        chunks=chunks,
        dtype=dtype,
        fill_value=np.nan,
        serializer=BytesCodec(),
        compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")],
        chunk_key_encoding={"name": "default", "separator": "."},
        config={"write_empty_chunks": False},
    )
    array.resize(shape)
    return (root / "a" / "zarr.json").read_bytes()


@pytest.mark.parametrize("tier", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_metadata_is_what_zarr_writes_and_zarr_reads_it(
    tmp_path: Path, tier: bool, dtype: str
) -> None:
    """A matrix created, grown (resized twice) and cut back (discard_beyond) without zarr:
    each array's zarr.json is byte-identical to zarr's for that shape, zarr opens the arrays
    and the matrix group with its marker, and reads the values the store reads."""
    root = tmp_path / "store"
    store = MatrixStore(root, feature_chunks=(4, 8), sample_chunks=(3, 16), append_tier=tier)
    matrix = store.open("GPL1/a b", create=True, dtype=dtype)
    rng = np.random.default_rng(1)
    values = rng.random((40, 30)).astype(dtype)
    matrix.append_columns(0, values[:, :20])
    matrix.append_columns(20, values[:, 20:])
    matrix.append_columns(30, rng.random((70, 5)).astype(dtype))  # grows both axes
    matrix.discard_beyond(40, 30)  # back to (64, 32)
    matrix.compact(40, 30, whole=True)

    directory = root / "GPL1%2Fa b"
    for sub, chunks, shape in (("by_feature", (4, 8), (64, 32)), ("by_sample", (3, 16), (32, 64))):
        ours = (directory / sub / "zarr.json").read_bytes()
        assert ours == zarr_metadata(tmp_path / f"zarr-{sub}", chunks, shape, dtype)
        meta = ArrayMeta.read(root, directory / sub)
        assert meta.shape == shape and meta.chunks == chunks and meta.dtype == np.dtype(dtype)
        assert ChunkCodec.of(meta) is not None

    group = zarr.open_group(store=zarr.storage.LocalStore(root), path="GPL1%2Fa b", mode="r")
    assert group.attrs["exprhub_matrix"] == {"name": "GPL1/a b", "version": 2 if tier else 1}
    by_feature = zarr.open_array(store=zarr.storage.LocalStore(root), path="GPL1%2Fa b/by_feature")
    by_sample = zarr.open_array(store=zarr.storage.LocalStore(root), path="GPL1%2Fa b/by_sample")
    assert by_feature.shape == (64, 32) and by_sample.shape == (32, 64)
    assert np.array_equal(np.asarray(by_feature[:40, :30]), values)
    assert np.array_equal(np.asarray(by_sample[:30, :40]).T, values)
    assert np.isnan(np.asarray(by_sample[30:, :])).all()
    root_group = zarr.open_group(store=zarr.storage.LocalStore(root), mode="r")
    assert "GPL1%2Fa b" in list(root_group.group_keys())


def test_arrays_zarr_created_are_read_and_written(tmp_path: Path) -> None:
    """Metadata zarr wrote (as the store did before) reads back the same and takes appends."""
    root = tmp_path / "store"
    store = MatrixStore(root, feature_chunks=(4, 8), sample_chunks=(3, 16))
    matrix = store.open("m", create=True)
    directory = root / "m"
    for sub, chunks in (("by_feature", (4, 8)), ("by_sample", (3, 16))):
        (directory / sub / "zarr.json").write_bytes(
            zarr_metadata(tmp_path / f"zarr-{sub}", chunks, (16, 16), "float32")
        )
    matrix = store.open("m")
    values = np.arange(20 * 6, dtype=np.float32).reshape(20, 6)
    matrix.append_columns(0, values)
    assert np.array_equal(matrix.block(slice(0, 20), slice(0, 6)), values)
    by_sample = zarr.open_array(store=zarr.storage.LocalStore(root), path="m/by_sample")
    assert by_sample.shape == (16, 32)
    assert np.array_equal(np.asarray(by_sample[:6, :20]).T, values)
