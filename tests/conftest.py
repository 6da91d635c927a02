"""Shared test fixtures: paths to the real GEO files in ../shared and fresh hub directories."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
GEO_FIXTURES = SHARED / "fixtures" / "geo"


@pytest.fixture(scope="session")
def geo_fixtures() -> Path:
    """Directory of real GEO files (``../shared/fixtures/geo``); skips when absent."""
    if not GEO_FIXTURES.is_dir():
        pytest.skip(f"GEO fixtures not found at {GEO_FIXTURES}")
    return GEO_FIXTURES
