"""GDS507 read straight from its file (no hub): values and the disease state sets."""

from __future__ import annotations

import pytest

from exprhub.records import Subset


@pytest.fixture(scope="session")
def gds507(geo_fixtures):
    """GDS507's values (probes x samples), its RCC samples and its normal samples."""
    import exprhub

    geo = exprhub.read(geo_fixtures / "geoquery/GDS507.soft.gz")
    subsets = {s.description: s.sample_ids for s in geo.records if isinstance(s, Subset)}
    return geo.expression(), subsets["RCC"], subsets["normal"]
