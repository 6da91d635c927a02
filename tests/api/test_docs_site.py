"""The documentation site builds with warnings as errors, offline, and its pages load nothing
from another host; the REST API page names every route the server has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Elements that make a browser fetch something, with an absolute http(s) URL.
_REMOTE_ASSET = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=[\"']?(?:https?:)?//"
    r"|<link\b[^>]*\bhref=[\"']?(?:https?:)?//"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//"
    r"|url\([\"']?(?:https?:)?//",
    re.I,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as CI builds it (``mkdocs build --strict``); scripts/test,
    which has just built it that way before running pytest, names its folder in
    ``EXPRHUB_TEST_DOCS_SITE`` so that it is not built twice."""
    built = os.environ.get("EXPRHUB_TEST_DOCS_SITE")
    if built and (Path(built) / "index.html").is_file():
        return Path(built)
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (CI installs it)")
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_site_has_every_page(site: Path) -> None:
    names = {p.name for p in site.glob("*.html")}
    assert {
        "index.html",
        "cli.html",
        "python-api.html",
        "api-reference.html",
        "rest-api.html",
        "store.html",
        "refine.html",
        "limits.html",
        "architecture.html",
    } <= names


def test_reference_documents_the_api(site: Path) -> None:
    page = (site / "api-reference.html").read_text(encoding="utf-8")
    for name in (
        "exprhub.api.read",
        "exprhub.api.GeoFile",
        "exprhub.api.Hub.import_files",
        "exprhub.api.Hub.fetch",
        "exprhub.api.Hub.refine",
        "exprhub.api.Hub.search",
        "exprhub.api.Hub.samples",
        "exprhub.api.Hub.expression",
    ):
        assert f'id="{name}"' in page, name


def test_pages_load_nothing_from_other_hosts(site: Path) -> None:
    """No fonts, scripts, styles or images from a CDN: the site works offline."""
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        found = _REMOTE_ASSET.search(text)
        assert found is None, f"{path.relative_to(site)} loads {text[found.start() :][:120]!r}"
        # the theme fetches mermaid from a CDN when a page holds a diagram
        assert 'class="mermaid"' not in text, path.name


def test_rest_page_names_every_route(tmp_path: Path) -> None:
    from exprhub.hub import Hub
    from exprhub.web.app import create_app

    with Hub.init(tmp_path / "hub") as hub:
        schema = create_app(hub).openapi()
    page = (REPO / "docs" / "rest-api.md").read_text(encoding="utf-8")
    named = {"/api/v1/" + m for m in re.findall(r"`(?:GET|POST|DELETE|PUT) /api/v1/([^`?]*)", page)}
    # one row may stand for several record types: /api/v1/{series,samples,...}/{acc}/download
    for row in list(named):
        grouped = re.fullmatch(r"(/api/v1/)\{([a-z_,]+)\}(.*)", row)
        if grouped:
            named |= {f"{grouped[1]}{kind}{grouped[3]}" for kind in grouped[2].split(",")}
    routes = {path for path in schema["paths"] if path.startswith("/api/v1")}
    assert routes - named == set()
