"""Headless Chromium for the web tests: the system browser at /usr/bin/chromium (never a
downloaded one), a page that may only talk to the test server and must raise no JavaScript
error, a hub served as ``exprhub serve`` serves it, and screenshots under
``test-artifacts/screenshots/``.

A test module calls :func:`require_chromium` before importing Playwright's API, then imports
the ``browser`` and ``page`` fixtures from here and defines a ``server`` fixture (a base URL,
e.g. from :func:`serve_hub`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from exprhub.hub import Hub
from exprhub.web import create_app
from tests.serving import serving_app

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip the calling test module without Chromium (fail in CI, which must run it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(
                "CI must run the browser tests: /usr/bin/chromium is missing", pytrace=False
            )
        pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)


@contextmanager
def serve_hub(hub: Hub) -> Iterator[str]:
    """The app as ``exprhub serve`` runs it, on the hub's search index; yields the base URL."""
    from exprhub.search.hub_index import HubSearch
    from exprhub.web.searching import IndexSearch

    engine = HubSearch(hub)
    engine.sync()
    try:
        with serving_app(create_app(hub, search=IndexSearch(engine, hub))) as url:
            yield url
    finally:
        engine.close()


@contextmanager
def launched_browser() -> Iterator[Any]:
    """Headless Chromium under Playwright's sync API, closed when the block ends.

    While it runs, this thread has a running asyncio loop (``asyncio.run`` fails here), so it
    is kept to the tests that need it: one per module (:func:`browser`), or one for the whole
    web package (tests/web/conftest.py), whose modules run nothing on asyncio in this thread.
    """
    require_chromium()
    from playwright import sync_api

    # Assertions wait only until they hold; the ceiling is for a loaded 2-core machine, where a
    # chart can take longer than Playwright's 5 s default to redraw.
    sync_api.expect.set_options(timeout=20_000)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the test module."""
    with launched_browser() as b:
        yield b


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A page that may only request ``server`` and must raise no JavaScript error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:  # the pages must work offline: nothing may leave the server
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(  # e.g. Content-Security-Policy violations
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "status of 404" not in msg.text
            else None
        ),
    )
    yield pg
    context.close()
    assert outside == [], f"pages requested outside resources: {outside}"
    assert errors == [], f"JavaScript errors: {errors}"


def shot(pg: Any, name: str) -> None:
    """Save a full-page screenshot ``name``.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
