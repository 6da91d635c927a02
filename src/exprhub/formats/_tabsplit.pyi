"""Tab-separated rows split straight into numpy string columns (C extension, optional)."""

import numpy as np

def fill(
    data: bytes | bytearray | memoryview, start: int, end: int, columns: list[np.ndarray]
) -> tuple[int, int, int, int]:
    """Write the rows of ``data[start:end]`` into StringDType ``columns``; the numbers of rows
    written, rows with more and with fewer cells than columns, and newlines."""
