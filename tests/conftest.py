"""Shared test fixtures: paths to the real GEO files in ../shared and fresh hub directories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

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


def compiled_strings() -> ModuleType:
    """The C extension ``exprhub.records._strings``; skips where it was not built (no C
    compiler at install), fails in CI, which must build it (see hatch_build.py)."""
    from exprhub.records.table import compiled_strings as module

    if module is None:
        if os.environ.get("CI"):
            pytest.fail("CI must build exprhub.records._strings (see hatch_build.py)")
        pytest.skip("exprhub.records._strings is not built (no C compiler at install)")
    return module


def _postgres_admin_url() -> str | None:
    url = os.environ.get("EXPRHUB_TEST_POSTGRES_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must run the PostgreSQL tests: EXPRHUB_TEST_POSTGRES_URL is not set")
    return url


@contextmanager
def _fresh_postgres_database() -> Iterator[str]:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = _postgres_admin_url()
    if not admin:
        pytest.skip("EXPRHUB_TEST_POSTGRES_URL is not set (CI sets it)")
    name = f"exprhub_t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def postgres_url():
    """URL of a fresh, empty PostgreSQL database (dropped afterwards); skips without a server."""
    with _fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_database_url(request):
    """Like ``database_url``, for a module's worth of tests on one database."""
    if request.param == "sqlite":
        yield None
        return
    with _fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """Each hub test runs on the embedded SQLite default and on PostgreSQL."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def imported_template(tmp_path_factory, geo_fixtures):
    """Factory: the directory of a SQLite hub into which the given fixture files (relative to
    the GEO fixtures) were imported in order, built once per session for each list of files;
    tests work on copies (:func:`copy_hub`)."""
    from exprhub.hub import Hub
    from exprhub.ingest.importer import import_file

    built: dict[tuple[str, ...], Path] = {}

    def template(files: tuple[str, ...]) -> Path:
        if files not in built:
            home = tmp_path_factory.mktemp("imported") / "hub"
            with Hub.init(home) as hub:
                for name in files:
                    import_file(hub, geo_fixtures / name)
            built[files] = home
        return built[files]

    return template


@pytest.fixture
def make_hub(tmp_path, database_url, request):
    """Factory for hubs in a temporary directory on the parametrized database backend; with
    ``files`` (fixture files relative to the GEO fixtures), the hub holds them as imported in
    that order (on SQLite a copy of :func:`imported_template`'s hub, on PostgreSQL imported
    into the fresh database)."""
    from exprhub.hub import Hub
    from exprhub.ingest.importer import import_file

    opened = []

    def factory(name: str = "hub", files: tuple[str, ...] = ()):
        if files and database_url is None:
            template = request.getfixturevalue("imported_template")
            hub = Hub(copy_hub(template(tuple(files)), tmp_path / name))
        else:
            hub = Hub.init(tmp_path / name, database_url=database_url)
            for file in files:
                import_file(hub, request.getfixturevalue("geo_fixtures") / file)
        opened.append(hub)
        return hub

    yield factory
    for hub in opened:
        hub.close()


@pytest.fixture(scope="session", autouse=True)
def _ontology_cache(tmp_path_factory):
    """Search's ontology terms are cached in a directory of this test session, not the user's
    cache (see exprhub.search.expansion)."""
    previous = os.environ.get("EXPRHUB_CACHE_DIR")
    os.environ["EXPRHUB_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("EXPRHUB_CACHE_DIR", None)
    else:
        os.environ["EXPRHUB_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def ncbi_human(tmp_path_factory) -> dict[str, Path]:
    """NCBI-format human ``gene_info`` / ``gene2ensembl`` / ``gene2accession`` files written from
    org.Hs.eg.db (tests/reference/make_ncbi_gene_files.py); skips where the package is missing,
    fails in CI, which installs it."""
    from tests.reference.make_ncbi_gene_files import ORG_HS_SQLITE, write_ncbi_gene_files

    if not ORG_HS_SQLITE.is_file():
        message = f"{ORG_HS_SQLITE} is missing (apt-get install r-bioc-org.hs.eg.db)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return write_ncbi_gene_files(tmp_path_factory.mktemp("ncbi"))


@pytest.fixture(scope="session")
def gse29006_genes_home(tmp_path_factory, geo_fixtures, ncbi_human) -> Path:
    """A hub directory holding GSE29006 (a real RNA-seq series: 8 samples, no values) and
    NCBI's human ``gene_info`` and ``gene2ensembl``; built once, tests work on copies
    (:func:`copy_hub`)."""
    import exprhub
    from exprhub.refine.pipeline import import_genes

    home = tmp_path_factory.mktemp("gse29006-genes") / "hub"
    with exprhub.Hub.init(home) as hub:
        hub.import_files(geo_fixtures / "gemma/GSE29006_family.soft.gz")
        import_genes(hub, [str(ncbi_human["gene_info"])], [str(ncbi_human["gene2ensembl"])])
    return home


@pytest.fixture(scope="session")
def profiles_home(tmp_path_factory, geo_fixtures) -> Path:
    """The hub directory of the gene and profile tests (GDS507 with GPL97.annot, GDS1794 with
    GSE2870, GSE1623 refined; :func:`tests.analysis.conftest.build_profiles_hub`), built once;
    the analysis, CLI and web tests work on copies (:func:`copy_hub`)."""
    from tests.analysis.conftest import build_profiles_hub

    root = tmp_path_factory.mktemp("profiles")
    build_profiles_hub(root, geo_fixtures).close()
    return root / "hub"


@pytest.fixture(scope="session")
def tissue_home(tmp_path_factory, geo_fixtures) -> Path:
    """The refined hub of real mouse series of the tissue model tests
    (:func:`tests.analysis.tissue_fixtures.build_tissue_hub`), built once; the analysis, CLI
    and web tests work on copies (:func:`copy_hub`)."""
    from tests.analysis.tissue_fixtures import build_tissue_hub

    root = tmp_path_factory.mktemp("tissue")
    build_tissue_hub(root, geo_fixtures).close()
    return root / "hub"


def copy_hub(template: Path, target: Path) -> Path:
    """A copy of the hub directory ``template`` (SQLite, nothing outside it) at ``target``,
    for a test to change as it likes."""
    shutil.copytree(template, target)
    return target
