"""Content-addressed files inside a hub: original input files and record data tables.

Both are written to a temporary name and renamed into place, keyed by SHA-256, so a file is
either fully present or absent. Writers remember what they created so a failed transaction
can remove it again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from exprhub.records import Table

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _atomic_write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BlobDirectory:
    """A directory of files named by their SHA-256 (``ab/abcdef....ext``)."""

    def __init__(self, root: Path, suffix: str = "") -> None:
        self.root = root
        self.suffix = suffix

    def path(self, digest: str) -> Path:
        """Where the blob with this digest lives."""
        return self.root / digest[:2] / f"{digest}{self.suffix}"

    def has(self, digest: str) -> bool:
        """Whether the blob is present."""
        return self.path(digest).exists()

    def put_bytes(self, data: bytes) -> tuple[str, bool]:
        """Store bytes; return ``(digest, created)``."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, False
        _atomic_write(target, data)
        return digest, True

    def put_file(self, source: Path) -> tuple[str, bool]:
        """Copy a file in; return ``(digest, created)``."""
        digest = sha256_file(source)
        target = self.path(digest)
        if target.exists():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, True

    def remove(self, digest: str) -> None:
        """Delete a blob if present."""
        self.path(digest).unlink(missing_ok=True)

    def count(self) -> int:
        """Number of blobs stored."""
        if not self.root.exists():
            return 0
        return sum(1 for p in self.root.glob(f"*/*{self.suffix}") if not p.name.startswith("."))


def table_to_parquet(table: Table) -> bytes:
    """Serialize a table (names may repeat) to Parquet bytes, deterministically."""
    arrays = [pa.array(col, type=pa.large_string()) for col in table.columns]
    schema_names = [f"c{i}" for i in range(table.n_cols)]
    arrow = pa.Table.from_arrays(arrays, names=schema_names)
    arrow = arrow.replace_schema_metadata({"exprhub.names": json.dumps(table.names)})
    buffer = io.BytesIO()
    # Dictionary encoding is slower and larger for the mostly-unique cells of GEO tables.
    pq.write_table(arrow, buffer, compression="zstd", use_dictionary=False, write_statistics=False)
    return buffer.getvalue()


def table_from_parquet(path: Path) -> Table:
    """Read a table written by :func:`table_to_parquet`."""
    arrow = pq.read_table(path)
    meta = arrow.schema.metadata or {}
    names = json.loads(meta[b"exprhub.names"])
    columns = [
        arrow.column(i).to_numpy(zero_copy_only=False).astype(np.dtypes.StringDType())
        for i in range(arrow.num_columns)
    ]
    return Table(names, columns)
