"""A bundle's genes x samples float32 matrix as TSV text, made fast enough for 10,000 samples.

Each value is written as the shortest decimal text that reads back as the same float32
(``numpy.float32(float(text)) == value``): Arrow's float-to-string cast (double-conversion's
shortest single-precision digits). The text has no redundant characters: ``7.123456``,
``1`` (not ``1.0``), ``-0``, ``0.000001``, ``123456790``; exponent notation when the value is
below 1e-6 or from 1e10 up in magnitude (``1e-7``, ``1.2345679e+10``, ``3.4028235e+38``);
``nan``, ``inf`` and ``-inf`` for the non-finite values.

A block whose values repeat (quantile-normalized values are the target's) has each distinct
value formatted once (:func:`float32_strings`). Blocks of genes are turned into text and
deflated independently, on :data:`THREADS` threads
(Arrow and zlib release the GIL); each block's deflate stream is ended by a sync flush, so the
blocks joined in order form one deflate stream (the entry of the zip). The blocks are fixed by
the matrix's shape alone, so the bytes do not depend on the number of threads or their timing.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

#: Values turned into text (and deflated) together: about 20 MB of text.
VALUES_PER_BLOCK = 2**21
#: Threads that format and deflate blocks (blocks in flight: one more than this).
THREADS = max(1, min(2, os.cpu_count() or 1))


#: Values looked at to tell whether a block repeats values (quantile-normalized values do: each
#: is one of the target's, about 20,000), and the share of them that must be distinct for
#: each value to be formatted on its own.
REPEAT_SAMPLE = 2**16
REPEAT_SHARE = 0.5


def float32_strings(values: np.ndarray, *, repeated: bool | None = None) -> Any:
    """Each value (any shape, read as float32) as its shortest round-trip text, in C order:
    a ``pyarrow.StringArray``.

    With ``repeated`` (by default: when fewer than half of the first :data:`REPEAT_SAMPLE`
    values are distinct) each distinct value is formatted once and its text repeated, about
    twice as fast for quantile-normalized values; the text is the same either way. Values are
    told apart by their bits, so ``0`` and ``-0`` (and NaNs) stay as they are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    if repeated is None:
        head = pc.count_distinct(pa.array(flat[:REPEAT_SAMPLE].view(np.uint32))).as_py()
        repeated = head < REPEAT_SHARE * min(flat.size, REPEAT_SAMPLE)
    if not repeated:
        return pc.cast(pa.array(flat, pa.float32()), pa.string())
    encoded = pc.dictionary_encode(pa.array(flat.view(np.uint32)))
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False).view(np.float32)
    return pc.take(pc.cast(pa.array(distinct, pa.float32()), pa.string()), encoded.indices)


def tsv_lines(
    row_labels: Sequence[str], block: np.ndarray, *, missing: str | None = None
) -> memoryview:
    """The UTF-8 text of ``block`` (rows x columns) as TSV lines: each row's label, a tab,
    its values separated by tabs, a newline. ``missing``: the text of NaN values (default
    ``nan``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n_rows, n_columns = block.shape
    if n_rows != len(row_labels):
        raise ValueError(f"{len(row_labels)} row labels for {n_rows} rows")
    if n_rows == 0 or n_columns == 0:
        return memoryview("".join(f"{label}\n" for label in row_labels).encode())
    offsets = pa.array(np.arange(0, n_rows * n_columns + 1, n_columns, dtype=np.int32))
    cells = float32_strings(block)
    if missing is not None:
        nan = np.isnan(np.ascontiguousarray(block, dtype=np.float32).reshape(-1))
        if nan.any():
            cells = pc.if_else(pa.array(nan), pa.scalar(missing, pa.string()), cells)
    rows = pc.binary_join(pa.ListArray.from_arrays(offsets, cells), "\t")
    lines = pc.binary_join_element_wise(
        pa.array([label + "\t" for label in row_labels], pa.string()),
        rows,
        pa.array(["\n"] * n_rows, pa.string()),
        "",
    )
    _, line_offsets, data = lines.buffers()
    ends = np.frombuffer(line_offsets, dtype=np.int32)  # may be longer than the array's
    first, last = ends[lines.offset], ends[lines.offset + n_rows]
    return memoryview(data)[int(first) : int(last)]


#: Deflate strategy of the matrix: Huffman coding alone (no search for repeated strings), since
#: decimal digits hardly repeat: on float text it is 1.6 x faster than zlib's level 1 and its
#: output 7 % smaller (0.46 of the text against 0.50).
STRATEGY = zlib.Z_HUFFMAN_ONLY


def deflate_part(text: bytes | memoryview, level: int) -> bytes:
    """``text`` as raw deflate data (:data:`STRATEGY`) ending on a byte boundary with no final
    block (a sync flush), so that such parts joined in order are one deflate stream once a
    final block is added (:data:`DEFLATE_END`)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, STRATEGY)
    return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)


#: The empty final block that ends a deflate stream made of :func:`deflate_part` parts.
DEFLATE_END = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS).flush()


def genes_per_block(n_samples: int) -> int:
    """Matrix rows (genes) formatted together for ``n_samples`` columns."""
    return max(1, VALUES_PER_BLOCK // max(1, n_samples))


def matrix_parts(
    header: str,
    row_labels: Sequence[str],
    values: np.ndarray,
    level: int,
    threads: int = THREADS,
) -> Iterator[tuple[bytes | memoryview, bytes]]:
    """The TSV text of a matrix (``header`` line, then :func:`tsv_lines` of blocks of
    :func:`genes_per_block` rows), in order, as (text, :func:`deflate_part` of it) pairs;
    ``threads`` blocks are worked on at once."""

    def part(start: int) -> tuple[bytes | memoryview, bytes]:
        text = tsv_lines(row_labels[start : start + step], values[start : start + step])
        return text, deflate_part(text, level)

    head = header.encode()
    yield head, deflate_part(head, level)
    step = genes_per_block(values.shape[1])
    starts = range(0, values.shape[0], step)
    if threads <= 1:
        for start in starts:
            yield part(start)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bundle-tsv") as pool:
        pending: deque[Future[tuple[bytes | memoryview, bytes]]] = deque()
        try:
            for start in starts:
                pending.append(pool.submit(part, start))
                if len(pending) > threads:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
