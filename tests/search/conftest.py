"""Backends and a small corpus shared by the search tests.

Every backend test runs on tantivy, and on PostgreSQL when
``EXPRHUB_TEST_POSTGRES_URL`` is set (CI sets it; tables get a unique prefix and are dropped).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from exprhub.search import SearchDocument, SearchIndex, SearchSchema

BACKENDS = ["tantivy", "postgres"]


def _pg_url() -> str:
    url = os.environ.get("EXPRHUB_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: EXPRHUB_TEST_POSTGRES_URL is not set")
        pytest.skip("EXPRHUB_TEST_POSTGRES_URL is not set (CI sets it)")
    return url


def corpus() -> list[SearchDocument]:
    """Fifteen documents exercising every field, multi-valued fields, ties and accents."""
    d = SearchDocument
    return [
        d(
            "GSE10",
            "GSE",
            "Breast cancer tumour expression",
            "RNA profiling of breast cancer biopsies. Overall design: 12 tumours vs normal.",
            organisms=["Homo sapiens"],
            gtype=["Expression profiling by array"],
            platforms=["GPL570"],
            ptype="in situ oligonucleotide",
            authors=["Smith J", "Chen L"],
            pdat=dt.date(2008, 3, 1),
            nsam=12,
            labels={"disease": ["breast cancer"]},
        ),
        d(
            "GSE2",
            "GSE",
            "Diabetes in mice",
            "Pancreatic islets from diabetic mice; insulin resistance and cancer risk.",
            organisms=["Mus musculus"],
            gtype=["Expression profiling by array"],
            platforms=["GPL1261"],
            ptype="in situ oligonucleotide",
            authors=["Garcia M"],
            pdat=dt.date(2004, 11, 30),
            nsam=120,
        ),
        d(
            "GSE300",
            "GSE",
            "Liver regeneration time course",
            "Hepatectomy in rats and mice; IL-6 signalling.",
            organisms=["Rattus norvegicus", "Mus musculus"],
            gtype=["Expression profiling by high throughput sequencing"],
            platforms=["GPL1355", "GPL1261"],
            ptype="high-throughput sequencing",
            authors=["Müller K", "Smith J"],
            pdat=dt.date(2010, 1, 1),
            nsam=40,
        ),
        d(
            "GSE45",
            "GSE",
            "Asthma airway epithelium",
            "Bronchial brushings; no cancer here. Homo sapiens donors.",
            organisms=["Homo sapiens"],
            gtype=["Expression profiling by array"],
            platforms=["GPL570"],
            ptype="in situ oligonucleotide",
            authors=["Kim H"],
            pdat=dt.date(2010, 12, 31),
            nsam=10,
            text="publication: Am J Respir Crit Care Med",
        ),
        d(
            "GSM1",
            "GSM",
            "breast tumour 1",
            "",
            organisms=["Homo sapiens"],
            platforms=["GPL570"],
            pdat=dt.date(2008, 3, 1),
            labels={"sex": ["female"], "tissue": ["breast"], "disease": ["breast cancer"]},
        ),
        d(
            "GSM2",
            "GSM",
            "breast normal 1",
            "",
            organisms=["Homo sapiens"],
            platforms=["GPL570"],
            pdat=dt.date(2008, 3, 1),
            labels={"sex": ["female"], "tissue": ["breast"], "disease": ["normal"]},
        ),
        d(
            "GSM10",
            "GSM",
            "islet diabetic 1",
            "",
            organisms=["Mus musculus"],
            platforms=["GPL1261"],
            pdat=dt.date(2004, 11, 30),
            labels={"sex": ["male"], "tissue": ["pancreatic islet"], "disease": ["diabetes"]},
        ),
        d(
            "GSM11",
            "GSM",
            "islet control 1",
            "",
            organisms=["Mus musculus"],
            platforms=["GPL1261"],
            pdat=dt.date(2004, 11, 30),
            labels={"sex": ["male"], "tissue": ["pancreatic islet"], "cell_line": ["MIN6"]},
        ),
        d(
            "GSM300",
            "GSM",
            "rat liver 0h",
            "Liver harvested at time zero.",
            organisms=["Rattus norvegicus"],
            platforms=["GPL1355"],
            labels={"tissue": ["liver"], "time": ["0 h"], "strain": ["Sprague-Dawley"]},
        ),
        d(
            "GSM301",
            "GSM",
            "mouse liver 6h",
            "Liver harvested 6 hours after hepatectomy.",
            organisms=["Mus musculus"],
            platforms=["GPL1261"],
            labels={"tissue": ["liver"], "time": ["6 h"], "mood": ["sleepy"]},
        ),
        d(
            "GPL570",
            "GPL",
            "[HG-U133_Plus_2] Affymetrix Human Genome U133 Plus 2.0 Array",
            "Affymetrix GeneChip",
            organisms=["Homo sapiens"],
            ptype="in situ oligonucleotide",
        ),
        d(
            "GPL1261",
            "GPL",
            "[Mouse430_2] Affymetrix Mouse Genome 430 2.0 Array",
            "Affymetrix GeneChip",
            organisms=["Mus musculus"],
            ptype="in situ oligonucleotide",
        ),
        d(
            "GPL1355",
            "GPL",
            "[Rat230_2] Affymetrix Rat Genome 230 2.0 Array",
            "",
            organisms=["Rattus norvegicus"],
            ptype="in situ oligonucleotide",
        ),
        d(
            "GDS5",
            "GDS",
            "Café-au-lait macules: naïve keratinocytes",
            "Dataset of breast cancer cell lines treated with tamoxifen.",
            organisms=["Homo sapiens"],
            gtype=["Expression profiling by array"],
            vtype="count",
            platforms=["GPL570"],
            pdat=dt.date(2012, 6, 15),
            nsam=8,
            labels={"cell_line": ["MCF-7", "T-47D"], "treatment": ["tamoxifen"]},
        ),
        d(
            "GDS40",
            "GDS",
            "Lung cancer cell lines",
            "Non-small cell lung cancer lines",
            organisms=["Homo sapiens"],
            gtype=["Expression profiling by array"],
            vtype="transformed count",
            platforms=["GPL570"],
            pdat=dt.date(2012, 6, 15),
            nsam=20,
            labels={"cell_line": ["A549"]},
        ),
    ]


def open_backend(name: str, tmp_path, schema: SearchSchema | None = None) -> SearchIndex:
    """A fresh empty index of one backend."""
    if name == "tantivy":
        from exprhub.search import TantivyIndex

        return TantivyIndex(tmp_path / f"tantivy-{uuid.uuid4().hex[:6]}", schema)
    from exprhub.search import PostgresIndex

    return PostgresIndex(_pg_url(), schema, prefix=f"t_{uuid.uuid4().hex[:10]}")


def _dispose(index: SearchIndex) -> None:
    drop = getattr(index, "drop", None)
    if drop is not None:
        drop()
    else:
        index.close()


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory) -> Iterator[SearchIndex]:
    """An index of each backend holding :func:`corpus` (read-only: do not modify)."""
    index = open_backend(request.param, tmp_path_factory.mktemp(request.param))
    index.add(corpus())
    index.commit()
    yield index
    _dispose(index)


@pytest.fixture(params=BACKENDS)
def make_index(request, tmp_path) -> Iterator[Callable[..., SearchIndex]]:
    """Factory of fresh empty indexes of each backend."""
    opened: list[SearchIndex] = []

    def factory(schema: SearchSchema | None = None) -> SearchIndex:
        index = open_backend(request.param, tmp_path, schema)
        opened.append(index)
        return index

    factory.backend = request.param  # type: ignore[attr-defined]
    yield factory
    for index in opened:
        _dispose(index)
