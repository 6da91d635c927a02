"""The metadata of a matrix's arrays (Zarr v3 ``zarr.json`` documents), read and written as
JSON without importing zarr.

The documents are the ones zarr writes for the same arrays, byte for byte (same keys, order
and JSON formatting; tested), so zarr opens every array this module creates or resizes, and
this module reads arrays zarr created. Importing zarr costs an importing process 0.2-0.5 s,
more than a typical family's whole store work: appends, resizes, rollbacks and new matrices
need only these documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from exprhub.storage.atomic_store import AtomicFiles

__all__ = ["METADATA", "ArrayMeta", "array_document", "group_document", "metadata_bytes"]

#: Name of the metadata file of a Zarr v3 array or group.
METADATA = "zarr.json"


def metadata_bytes(document: dict[str, Any]) -> bytes:
    """A metadata document as zarr stores it (``json.dumps`` with zarr's default indent)."""
    return json.dumps(document, allow_nan=True, indent=2).encode()


def array_document(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: np.dtype[Any],
    *,
    separator: str,
    cname: str = "lz4",
    clevel: int = 5,
    shuffle: str = "shuffle",
) -> dict[str, Any]:
    """The metadata of a float array with NaN fill, stored ``bytes`` (little-endian) then
    ``blosc``, with the default chunk key encoding: what ``zarr.create_array`` writes for it."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"array dtype must be a float type, got {dtype}")
    return {
        "shape": [int(n) for n in shape],
        "data_type": dtype.name,
        "chunk_grid": {
            "name": "regular",
            "configuration": {"chunk_shape": [int(n) for n in chunks]},
        },
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": separator}},
        "fill_value": "NaN",
        "codecs": [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {
                "name": "blosc",
                "configuration": {
                    "typesize": dtype.itemsize,
                    "cname": cname,
                    "clevel": clevel,
                    "shuffle": shuffle,
                    "blocksize": 0,
                },
            },
        ],
        "attributes": {},
        "zarr_format": 3,
        "node_type": "array",
        "storage_transformers": [],
    }


def group_document(attributes: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a group with these attributes, as zarr writes it."""
    return {"attributes": attributes, "zarr_format": 3, "node_type": "group"}


@dataclass(frozen=True)
class ArrayMeta:
    """One array of a matrix store as its metadata describes it.

    ``root`` is the store's directory, ``directory`` the array's (its chunk files and
    ``zarr.json``), ``document`` the parsed metadata.
    """

    root: Path
    directory: Path
    document: dict[str, Any]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]

    @classmethod
    def of(cls, root: Path, directory: Path, document: dict[str, Any]) -> ArrayMeta:
        """The array described by ``document``; ValueError if it is not a regular-chunked
        array document."""
        try:
            if document.get("node_type") != "array" or document.get("zarr_format") != 3:
                raise ValueError("not a Zarr v3 array")
            grid = document["chunk_grid"]
            if grid.get("name") != "regular":
                raise ValueError(f"chunk grid {grid.get('name')!r} is not regular")
            shape = tuple(int(n) for n in document["shape"])
            chunks = tuple(int(n) for n in grid["configuration"]["chunk_shape"])
            dtype = np.dtype(document["data_type"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{directory / METADATA}: unreadable array metadata ({exc})") from exc
        if len(shape) != len(chunks):
            raise ValueError(f"{directory / METADATA}: shape {shape} and chunks {chunks} differ")
        return cls(Path(root), Path(directory), document, shape, chunks, dtype)

    @classmethod
    def read(cls, root: Path, directory: Path) -> ArrayMeta:
        """The array stored in ``directory`` (FileNotFoundError if it has no metadata)."""
        document = json.loads((directory / METADATA).read_bytes())
        if not isinstance(document, dict):
            raise ValueError(f"{directory / METADATA}: not a metadata document")
        return cls.of(root, directory, document)

    @property
    def path(self) -> str:
        """The array's zarr path within its store."""
        return self.directory.relative_to(self.root).as_posix()

    def resized(self, shape: tuple[int, ...]) -> ArrayMeta:
        """The same array with another shape (nothing written)."""
        document = dict(self.document)
        document["shape"] = [int(n) for n in shape]
        return type(self).of(self.root, self.directory, document)

    def write(self, files: AtomicFiles) -> None:
        """Store this metadata (atomically replacing the file), as zarr would."""
        files.write_file(self.directory / METADATA, metadata_bytes(self.document))
