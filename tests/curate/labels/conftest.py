"""Fixtures of the label tests: real GEO records read from the shared fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from exprhub.formats.detect import detect_format, open_reader
from exprhub.records import Sample, Series


def read_samples(path: Path) -> tuple[dict[str, Sample], list[Series]]:
    """The samples (by accession) and series of one GEO file."""
    records = list(open_reader(path, detect_format(path)).records())
    samples = {r.key: r for r in records if isinstance(r, Sample)}
    return samples, [r for r in records if isinstance(r, Series)]


@pytest.fixture(scope="session")
def geo_samples(geo_fixtures):
    """Reader of a fixture file (relative to the GEO fixtures) into (samples, series)."""
    cache: dict[str, tuple[dict[str, Sample], list[Series]]] = {}

    def read(name: str) -> tuple[dict[str, Sample], list[Series]]:
        if name not in cache:
            cache[name] = read_samples(geo_fixtures / name)
        return cache[name]

    return read
