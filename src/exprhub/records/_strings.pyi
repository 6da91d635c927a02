"""Table columns (numpy StringDType arrays) built and read in C (optional extension)."""

import numpy as np

def split_rows(
    data: bytes | bytearray | memoryview, start: int, end: int, columns: list[np.ndarray]
) -> tuple[int, int, int, int]:
    """Write the rows of ``data[start:end]`` into StringDType ``columns``; the numbers of rows
    written, rows with more and with fewer cells than columns, and newlines."""

def arrow_buffers(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (int64) and UTF-8 bytes of a StringDType column, as Arrow lays them out."""

def equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two StringDType columns hold the same strings."""

def parse_floats(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cells of a StringDType column as float64 where they are plain decimal numbers
    (empty cells NaN), and the indices (int64) of the cells left for the caller to parse."""
