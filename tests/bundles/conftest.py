"""A hub of real GEO series, refined, for the bundle tests.

GSE1623 (mouse, GPL81, 8 samples); GSE3791 (4 platforms: human GPL96 + GPL97, mouse GPL339 +
GPL340); GSM11805 with GPL96 (in GSE781, whose other samples are not in the hub: a one-sample
experiment); the SuperSeries GSE11897 and its SubSeries GSE7774 (5 samples in both); GSE2870
with its DataSet GDS1794 (subsets); GSE29006 (RNA-seq samples without values: not refined).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from exprhub.hub import Hub
from exprhub.ingest.importer import import_file
from exprhub.refine.executor import SerialExecutor
from exprhub.refine.pipeline import refine

FILES = (
    "gemma/GSE1623_family.soft.txt.gz",
    "gemma/GSE3791_family.soft.gz",
    "geoquery/GPL96.txt.gz",
    "geoquery/GSM11805.txt.gz",
    "gemma/GSE11897_family.soft.gz",
    "gemma/GSE7774_family.soft.gz",
    "gemma/GSE2870_family.soft.gz",
    "gemma/GDS1794.soft.gz",
    "gemma/GSE29006_family.soft.gz",
)


@pytest.fixture(scope="session")
def bundle_home(tmp_path_factory, geo_fixtures) -> Path:
    """The refined hub's directory (built once; tests open it read-only)."""
    home = tmp_path_factory.mktemp("bundles") / "hub"
    with Hub.init(home) as hub:
        for name in FILES:
            import_file(hub, geo_fixtures / name)
        refine(hub, [], executor=SerialExecutor())
    return home


@pytest.fixture
def hub(bundle_home):
    import exprhub

    with exprhub.Hub(bundle_home) as opened:
        yield opened


def read_tsv_matrix(archive: zipfile.ZipFile, key: str) -> tuple[list[str], list[str], np.ndarray]:
    """A bundle's ``<KEY>/<KEY>.tsv``: genes, samples, float32 values (genes x samples)."""
    from exprhub.bundles.layout_tsv import read_values

    return read_values(archive.read(f"{key}/{key}.tsv").decode())


def read_table(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    """A TSV entry of a bundle as rows of column -> text."""
    lines = archive.read(name).decode().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
