"""Helpers for the refinery tests: R availability, committed references, TSV matrices, and
the layout of NCBI gene files (human, from Debian's r-bioc-org.hs.eg.db; the ``ncbi_human``
fixture of tests/conftest.py) for a local server."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@functools.cache
def _r_has(package: str) -> str | None:
    """None when ``Rscript`` can load ``package``, else the reason it cannot."""
    if shutil.which("Rscript") is None:
        return "Rscript is not on PATH"
    proc = subprocess.run(
        ["Rscript", "-e", f"suppressPackageStartupMessages(library({package}))"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return f"R package {package} is not installed"
    return None


def require_r(package: str) -> None:
    """Skip the calling test unless R with ``package`` is available (CI installs both)."""
    reason = _r_has(package)
    if reason:
        pytest.skip(f"{reason}; the comparison against the committed reference still runs")


def run_rscript(script: Path, *args: object) -> None:
    """Run an R script, failing the test with R's stderr when it fails."""
    proc = subprocess.run(["Rscript", str(script), *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"{script.name} failed:\n{proc.stderr}")


def write_matrix(matrix: np.ndarray, path: Path) -> None:
    """Write a 2-D array as headerless TSV with full precision and ``NA`` for NaN."""
    with path.open("w") as handle:
        for row in np.atleast_2d(matrix):
            handle.write("\t".join("NA" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def read_matrix(path: Path) -> np.ndarray:
    """Read a headerless TSV of numbers (``NA`` = NaN)."""
    rows = [
        [np.nan if t == "NA" else float(t) for t in line.rstrip("\n").split("\t")]
        for line in path.read_text().splitlines()
        if line
    ]
    return np.array(rows, dtype=np.float64)


def read_vector(path: Path) -> np.ndarray:
    """Read one number per line (``NA`` = NaN)."""
    return np.array(
        [np.nan if t == "NA" else float(t) for t in path.read_text().split()], dtype=np.float64
    )


def ncbi_gene_layout(files: dict[str, Path]) -> dict[str, Path]:
    """NCBI's paths of the human gene files (for ``GeoServer(..., extra=...)``)."""
    return {
        "/gene/DATA/GENE_INFO/Mammalia/Homo_sapiens.gene_info.gz": files["gene_info"],
        "/gene/DATA/gene2ensembl.gz": files["gene2ensembl"],
        "/gene/DATA/gene2accession.gz": files["gene2accession"],
    }
