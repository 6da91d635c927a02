"""Every Python example of the documentation runs, against a real hub of real GEO files, and
gives the results the pages show (see tests/api/documented.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.api.documented import examples, run_page
from tests.ingest.geo_server import GeoServer

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

#: The GEO files the examples name -> the real files in ../shared/fixtures/geo.
EXAMPLE_FILES = {
    "GSE1623_family.soft.gz": "gemma/GSE1623_family.soft.txt.gz",
    "GSE3791_family.soft.gz": "gemma/GSE3791_family.soft.gz",
    "GSE99709_series_matrix.txt.gz": "phantasus/GSE99709_series_matrix.txt.gz",
    "GPL96.txt.gz": "geoquery/GPL96.txt.gz",
    "GSM11805.txt.gz": "geoquery/GSM11805.txt.gz",
    "GDS507.soft.gz": "geoquery/GDS507.soft.gz",
    "GPL97.annot.gz": "geoquery/GPL97.annot.gz",
    "GDS1794.soft.gz": "gemma/GDS1794.soft.gz",
    "GSE2870_family.soft.gz": "gemma/GSE2870_family.soft.gz",
}

#: Pages whose python blocks this module runs (test_every_page_with_examples_is_run).
RUN_PAGES = [
    DOCS / "python-api.md",
    DOCS / "index.md",
    REPO / "README.md",
    DOCS / "label_checks.md",
    DOCS / "analysis.md",
    DOCS / "labels.md",
    DOCS / "compendia.md",
]


@pytest.fixture
def example_dir(tmp_path: Path, geo_fixtures: Path) -> Path:
    """A folder holding the GEO files the examples name (links to the shared fixtures)."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name, fixture in EXAMPLE_FILES.items():
        (folder / name).symlink_to(geo_fixtures / fixture)
    return folder


@pytest.fixture
def ncbi_mirror(geo_fixtures: Path, monkeypatch: pytest.MonkeyPatch):
    """NCBI GEO's download layout served locally; ``Hub.fetch`` downloads from it (no
    network in tests)."""
    from exprhub.ingest import fetch

    with GeoServer(geo_fixtures) as server:
        monkeypatch.setattr(fetch, "DEFAULT_BASE_URL", server.url)
        yield server


def test_python_api_page(example_dir: Path, ncbi_mirror: GeoServer) -> None:
    from exprhub import MissingValuesWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        namespace, checked = run_page(DOCS / "python-api.md", example_dir)
    # the shown results are checked (a parsing slip would check none)
    assert checked >= 30
    # what the page says in prose
    assert [path for path, _ in ncbi_mirror.requests if "GPL97" in path] == [
        "/geo/platforms/GPLnnn/GPL97/annot/GPL97.annot.gz"
    ]
    assert not any(issubclass(w.category, MissingValuesWarning) for w in caught)
    human = namespace["human"]
    assert human.attrs["missing"] == {} and human.attrs["platform"] == "GPL96"
    refined = namespace["refined"]
    assert set(refined.attrs["provenance"]) == set(refined.columns)
    assert namespace["message"] == f"GSM1 is not in the hub at {Path('myhub')}"
    hub = namespace["hub"]
    with pytest.raises(ValueError, match=r"4 platforms .*GPL339, GPL340, GPL96, GPL97"):
        hub.expression("GSE3791")
    hub.close()


def test_getting_started_page(example_dir: Path) -> None:
    namespace, checked = run_page(DOCS / "index.md", example_dir)
    assert checked >= 1
    assert list(namespace["samples"].index[:2]) == ["GSM27446", "GSM27447"]
    namespace["hub"].close()


def test_readme_python_example(example_dir: Path) -> None:
    namespace, checked = run_page(REPO / "README.md", example_dir)
    assert checked >= 2
    namespace["hub"].close()


def test_label_checks_page(example_dir: Path) -> None:
    namespace, checked = run_page(DOCS / "label_checks.md", example_dir)
    assert checked >= 5
    assert list(namespace["summary"].index) == ["organism", "sex"]


def test_labels_page(example_dir: Path) -> None:
    namespace, checked = run_page(DOCS / "labels.md", example_dir)
    assert checked >= 10
    assert (example_dir / "labels.csv").stat().st_size > 0
    namespace["hub"].close()


def test_every_page_with_examples_is_run() -> None:
    """A python example added to a page this module does not run fails here, so that every
    documented example stays tested."""
    pages = [*sorted(DOCS.glob("*.md")), REPO / "README.md"]
    with_examples = {p for p in pages if examples(p)}
    assert with_examples <= set(RUN_PAGES), sorted(str(p) for p in with_examples - set(RUN_PAGES))
    for page in RUN_PAGES:
        marked = [e.where for e in examples(page) if e.not_run]
        assert marked == [], f"examples shown but not run: {marked}"


def test_analysis_page_genes_and_profiles(example_dir: Path) -> None:
    pytest.importorskip("matplotlib")
    namespace, checked = run_page(DOCS / "analysis.md", example_dir)
    assert checked >= 15
    assert (example_dir / namespace["image"]).read_bytes()[:4] == b"\x89PNG"


def test_compendia_page(example_dir: Path) -> None:
    _, checked = run_page(DOCS / "compendia.md", example_dir)
    assert checked >= 1
    assert (example_dir / "human.zip").stat().st_size > 0
