"""The FastAPI application: REST API under ``/api/v1``, OpenAPI at ``/api/openapi.json``,
interactive docs at ``/api/docs`` and the web pages, all served offline from the package."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exprhub import __version__
from exprhub.api import pages, routes_jobs, routes_records, routes_search
from exprhub.api.errors import (
    ApiError,
    error_response,
    http_error_json,
    hub_error_response,
    public_message,
    validation_detail,
    validation_message,
)
from exprhub.api.fastpath import RecordDocumentFastPath
from exprhub.api.jobs import JobManager, default_jobs
from exprhub.api.searching import NaiveSearch, SearchService
from exprhub.hub import Hub, HubError, RecordNotFound

STATIC = Path(__file__).parent / "static"
DEFAULT_CACHE_CONTROL = "public, max-age=60, must-revalidate"

DESCRIPTION = """\
The exprhub REST API: GEO-style records (Series, Samples, Platforms, curated DataSets),
downloads in the formats of the field, search with facets and background jobs.

Every error has one shape: `{"error": {"code": ..., "message": ..., "detail": ...}}`.
Listings page with `limit` (default 25, at most 1000) and `offset`.
"""


#: Pages may only load what this server serves (the offline guarantee, enforced by browsers).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_HTML_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("latin-1")),
    (b"referrer-policy", b"same-origin"),
)


def with_security_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Raw response headers plus ``X-Content-Type-Options: nosniff`` and, for HTML, a
    same-origin Content-Security-Policy and Referrer-Policy (each only where not already set).

    Parameters
    ----------
    headers
        The response's raw ASGI headers (names in lower case); left unchanged.
    """
    out = list(headers)
    present = {name for name, _ in out}
    if _NOSNIFF[0] not in present:
        out.append(_NOSNIFF)
    content_type = next((value for name, value in out if name == b"content-type"), b"")
    if content_type.startswith(b"text/html"):
        out += [header for header in _HTML_HEADERS if header[0] not in present]
    return out


class SecurityHeaders:
    """ASGI middleware adding ``X-Content-Type-Options`` to every response and a
    same-origin Content-Security-Policy to HTML pages (see ``with_security_headers``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(message.get("headers", ()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def create_app(
    hub: Hub,
    *,
    search: SearchService | None = None,
    jobs: JobManager | None = None,
    cache_control: str = DEFAULT_CACHE_CONTROL,
) -> FastAPI:
    """The exprhub web application serving ``hub``.

    Parameters
    ----------
    hub
        The hub to serve.
    search
        The search engine (default: a naive scan of titles, see ``NaiveSearch``).
    jobs
        The background job manager (default: one with the built-in job kinds).
    cache_control
        ``Cache-Control`` header of record responses.
    """
    manager = jobs or default_jobs(hub)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        manager.shutdown()

    app = FastAPI(
        title="exprhub",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.search = search or NaiveSearch(hub)
    app.state.jobs = manager
    app.state.cache_control = cache_control
    app.state.documents = routes_records.DocumentCache()

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        if _is_api(request):
            return error_response(exc.status, exc.code, exc.message, exc.detail)
        return pages.render_error(request, exc.status, exc.code.replace("_", " "), exc.message)

    @app.exception_handler(HubError)
    async def on_hub_error(request: Request, exc: HubError) -> Response:
        if _is_api(request):
            return hub_error_response(exc)
        status = 404 if isinstance(exc, RecordNotFound) else 400
        title = "Not found" if status == 404 else "Error"
        return pages.render_error(request, status, title, public_message(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        detail = validation_detail(exc)
        message = validation_message(detail)
        if _is_api(request):
            return error_response(422, "invalid_request", message, detail)
        return pages.render_error(request, 422, "Invalid request", message)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return http_error_json(exc)
        message = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return pages.render_error(request, exc.status_code, str(exc.detail), message)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        message = f"unexpected server error ({type(exc).__name__})"
        if _is_api(request):
            return error_response(500, "internal_error", message)
        return pages.render_error(request, 500, "Server error", message)

    # Added first, so it runs inside SecurityHeaders and FastAPI's error handling.
    app.add_middleware(
        RecordDocumentFastPath,
        hub=hub,
        documents=app.state.documents,
        cache_control=cache_control,
    )
    app.add_middleware(SecurityHeaders)
    app.include_router(routes_records.router)
    app.include_router(routes_search.router)
    app.include_router(routes_jobs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api", include_in_schema=False)
    async def api_root() -> JSONResponse:  # no I/O: no thread-pool hop
        return JSONResponse(
            {
                "name": "exprhub",
                "version": __version__,
                "openapi": "/api/openapi.json",
                "docs": "/api/docs",
                "v1": "/api/v1",
            }
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    return app
