"""Output files of the simulator: gzip-compressed (with a fixed header) when the name ends in
``.gz``, so that the same simulation gives the same bytes."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["FAST_GZIP", "open_output"]

#: gzip level of the simulated GEO files: speed matters more than size here.
FAST_GZIP = 1


@contextmanager
def open_output(path: str | Path, *, compresslevel: int = 6) -> Iterator[BinaryIO]:
    """Open ``path`` for writing bytes; gzip with header time 0 when it ends in ``.gz``."""
    with open(path, "wb") as raw:
        if not str(path).lower().endswith(".gz"):
            yield raw
            return
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=compresslevel
        ) as zipped:
            yield zipped  # type: ignore[misc]
