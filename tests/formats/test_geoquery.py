"""R's GEOquery (Bioconductor, ``getGEO(filename=...)``) reads what we write: our SOFT exports of
real family and DataSet fixtures, read by GEOquery in ``Rscript`` now (``geoquery_read.R``), give
the same samples, metadata, table columns and values, and the same GDS subsets.

These tests run R live; they skip when Rscript or GEOquery is missing (CI installs
``r-bioc-geoquery``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from exprhub.formats.soft import read_soft, write_soft
from exprhub.records import DataSet, Platform, Record, Sample, Subset
from tests.refine.conftest import require_r, run_rscript

READER = Path(__file__).with_name("geoquery_read.R")
#: GEOquery names a metadata field by the attribute name without its entity prefix.
_PREFIX = re.compile(r"^\w*?_")


#: The fixtures exported and read back: two families, one DataSet (with the file name of the
#: export).
FAMILIES = ("gemma/GSE1623_family.soft.txt.gz", "gemma/GSE3791_family.soft.gz")
DATASET = "geoquery/GDS507.soft.gz"
EXPORT_NAMES = {**dict.fromkeys(FAMILIES, "export_family.soft.gz"), DATASET: "GDS507.soft.gz"}


@pytest.fixture(scope="module")
def geoquery_seen(geo_fixtures: Path, tmp_path_factory) -> dict[str, tuple[list[Record], Path]]:
    """Each fixture of :data:`EXPORT_NAMES` -> (its records as read, the folder holding what
    GEOquery saw in our SOFT export of them); one R process reads all three exports."""
    require_r("GEOquery")
    root = tmp_path_factory.mktemp("geoquery")
    seen: dict[str, tuple[list[Record], Path]] = {}
    args: list[Path] = []
    for i, (name, export) in enumerate(EXPORT_NAMES.items()):
        records = read_soft(geo_fixtures / name)
        target = root / f"export-{i}" / export
        target.parent.mkdir()
        write_soft(records, target)
        out = root / f"geoquery-{i}"
        out.mkdir()
        args += [target, out]
        seen[name] = (records, out)
    run_rscript(READER, *args)
    return seen


def _tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a TSV written by ``geoquery_read.R``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def _numbers(cells: list[str]) -> np.ndarray:
    """R's full-precision numbers (``NA`` = NaN)."""
    return np.array([np.nan if c == "NA" else float(c) for c in cells], dtype=np.float64)


def _metadata(record: Record) -> dict[str, list[str]]:
    """Our attributes as GEOquery's ``Meta()`` holds them: prefix dropped, values in order."""
    meta: dict[str, list[str]] = {}
    for key, value in record.attributes:
        meta.setdefault(_PREFIX.sub("", key, count=1), []).append(value.strip())
    return meta


def _their_metadata(path: Path) -> dict[str, list[str]]:
    meta: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        meta.setdefault(key, []).append(value)
    return meta


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_geoquery_reads_our_family_export(geoquery_seen, name: str) -> None:
    records, seen = geoquery_seen[name]

    samples = [r for r in records if isinstance(r, Sample)]
    platforms = [r for r in records if isinstance(r, Platform)]
    assert (seen / "kind.txt").read_text().split() == ["GSE"]
    assert sorted((seen / "gsms.txt").read_text().split()) == sorted(s.id for s in samples)
    assert sorted((seen / "gpls.txt").read_text().split()) == sorted(p.id for p in platforms)
    for sample in samples:
        assert _their_metadata(seen / f"{sample.id}.meta.tsv") == _metadata(sample)
        assert sample.table is not None
        names, rows = _tsv(seen / f"{sample.id}.table.tsv")
        assert names == sample.table.names
        assert [row[0] for row in rows] == sample.table.column(0).tolist()
        value = names.index("VALUE")
        theirs = _numbers([row[value] for row in rows])
        np.testing.assert_array_equal(theirs, sample.table.numeric("VALUE"))
    for platform in platforms:
        assert platform.table is not None
        names, rows = _tsv(seen / f"{platform.id}.table.tsv")
        assert names == platform.table.names
        assert len(rows) == platform.table.n_rows
        assert [row[0] for row in rows] == platform.table.column(0).tolist()


@pytest.mark.slow
def test_geoquery_reads_our_dataset_export(geoquery_seen) -> None:
    records, seen = geoquery_seen[DATASET]

    dataset = next(r for r in records if isinstance(r, DataSet))
    subsets = [r for r in records if isinstance(r, Subset)]
    assert dataset.table is not None
    assert (seen / "kind.txt").read_text().split() == ["GDS"]

    names, rows = _tsv(seen / "table.tsv")
    assert names == dataset.table.names
    assert [row[0] for row in rows] == dataset.table.column(0).tolist()
    for gsm in dataset.column_samples:
        j = names.index(gsm)
        theirs = _numbers([row[j] for row in rows])
        np.testing.assert_array_equal(theirs, dataset.table.numeric(gsm))

    # GEOquery's Columns(): one row per sample, one column per subset type (spaces -> dots)
    # holding the sample's subset description
    names, rows = _tsv(seen / "columns.tsv")
    their_subsets = {
        (name, row[0]): row[j] for row in rows for j, name in enumerate(names) if j > 0
    }
    assert sorted(row[0] for row in rows) == sorted(dataset.column_samples)
    expected = {
        ((subset.subset_type or "").replace(" ", "."), gsm): subset.description
        for subset in subsets
        for gsm in subset.sample_ids
    }
    assert expected
    assert {key: their_subsets[key] for key in expected} == expected
