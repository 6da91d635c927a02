"""The simulator hands records to the exprhub.formats writers, and the formats readers give
those same records back from the files it wrote."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from exprhub.formats.matrix import read_series_matrix
from exprhub.formats.soft import geo_order, read_soft
from exprhub.records import Database, Record, Sample, Series, Table
from exprhub.simulate import SimulationManifest, files, simulate


class _Handed:
    """Records the simulator handed to each writer, by the accession of the file."""

    def __init__(self) -> None:
        self.soft: dict[str, list[Record]] = {}
        self.matrix: dict[str, tuple[Series, list[Sample]]] = {}

    def write_soft(self, records: Iterable[Record], target: Any, **options: Any) -> None:
        listed = list(records)
        head = next(r for r in listed if not isinstance(r, Database))
        self.soft[head.id] = geo_order(listed) if isinstance(records, list) else listed
        self._write_soft(records if isinstance(records, list) else iter(listed), target, **options)

    def write_series_matrix(
        self, series: Series, samples: list[Sample], target: Any, **options: Any
    ) -> None:
        self.matrix[series.id] = (series, samples)
        self._write_matrix(series, samples, target, **options)

    _write_soft = staticmethod(files.write_soft)
    _write_matrix = staticmethod(files.write_series_matrix)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationManifest, _Handed]:
    out = tmp_path_factory.mktemp("sim")
    handed = _Handed()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "write_soft", handed.write_soft)
        patch.setattr(files, "write_series_matrix", handed.write_series_matrix)
        manifest = simulate(out, series=3, samples=5, platforms=2, probes=60, seed=11)
    return out, manifest, handed


@pytest.mark.parametrize("kind", ["family_soft", "platform_soft", "gds_soft"])
def test_soft_files_read_back_as_generated(
    simulated: tuple[Path, SimulationManifest, _Handed], kind: str
) -> None:
    out, manifest, handed = simulated
    items = manifest.files_of_kind(kind)
    assert items
    tables = 0
    for item in items:
        generated = handed.soft[item.accession]
        assert read_soft(out / item.path) == generated, item.path
        tables += sum(r.table is not None and r.table.n_rows > 0 for r in generated)
    # every microarray platform, sample and the DataSet carries a table
    assert tables >= {"family_soft": 3 * 5, "platform_soft": 2, "gds_soft": 1}[kind]


def _without_empty_rows(table: Table | None) -> Table | None:
    """A matrix holds every probe for every sample: rows a sample lacks come back empty."""
    if table is None:
        return None
    keep = table.column("VALUE") != ""
    return Table(table.names, [column[keep] for column in table.columns])


def test_series_matrices_read_back_as_generated(
    simulated: tuple[Path, SimulationManifest, _Handed],
) -> None:
    out, manifest, handed = simulated
    items = manifest.files_of_kind("series_matrix")
    assert {manifest.series_by_accession(i.accession).kind for i in items} == {
        "microarray",
        "rnaseq",
    }
    for item in items:
        series, samples = handed.matrix[item.accession]
        records = read_series_matrix(out / item.path)
        assert records[0] == series
        read_samples = records[1:]
        assert [s.id for s in read_samples] == [s.id for s in samples]
        for got, made in zip(read_samples, samples, strict=True):
            assert got.attributes == made.attributes
            assert _without_empty_rows(got.table) == made.table
