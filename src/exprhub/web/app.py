"""The FastAPI application: REST API under ``/api/v1``, OpenAPI at ``/api/openapi.json``,
interactive docs at ``/api/docs`` and the web pages, all served offline from the package."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exprhub import __version__
from exprhub.analysis.figure_modules import import_figure_modules
from exprhub.hub import Hub, HubError, RecordNotFound, default_home
from exprhub.hub.errors import HubBusy
from exprhub.web import (
    cart_page,
    compendium_job,
    pages,
    routes_bundles,
    routes_genes,
    routes_jobs,
    routes_label_checks,
    routes_labels,
    routes_records,
    routes_search,
)
from exprhub.web.downloads import DownloadHeads, RangedFileResponse
from exprhub.web.errors import (
    MAX_MESSAGE_CHARS,
    ApiError,
    error_response,
    excerpt,
    http_error_json,
    hub_error_response,
    public_message,
    validation_detail,
    validation_message,
)
from exprhub.web.fastpath import RecordDocumentFastPath
from exprhub.web.http_semantics import BodySizeLimit, BodyTooLarge, HeadAsGet
from exprhub.web.job_limits import JobLimits, integer_setting
from exprhub.web.jobs import JobManager, default_jobs
from exprhub.web.pages_analysis import router as analysis_pages
from exprhub.web.pages_geo2r import router as geo2r_pages
from exprhub.web.routes_analysis import router as analysis_routes
from exprhub.web.routes_geo2r import router as geo2r_routes
from exprhub.web.routes_tissue_model import router as tissue_model_routes
from exprhub.web.searching import IndexSearch, NaiveSearch, SearchService

STATIC = Path(__file__).parent / "static"


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


#: The chart library of the pages, served at ``/vendor/plotly.min.js`` from the installed package.
PLOTLY_JS = _plotly_js()
DEFAULT_CACHE_CONTROL = "public, max-age=60, must-revalidate"

#: Default largest request body, in bytes (``EXPRHUB_MAX_BODY_BYTES``): 1 MiB.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Seconds a worker process waits at start for another process's index sync before serving.
STARTUP_SYNC_WAIT = 5.0

DESCRIPTION = """\
The exprhub REST API: GEO-style records (Series, Samples, Platforms, curated DataSets),
downloads in the formats of the field, search with facets and background jobs.

Every error has one shape: `{{"error": {{"code": ..., "message": ..., "detail": ...}}}}`;
errors repeat at most a short excerpt of what was sent.
Listings page with `limit` (default 25, at most 1000) and `offset`.

Limits of this server (set by environment variables when it starts):

- request bodies: at most {max_body_bytes} bytes (`EXPRHUB_MAX_BODY_BYTES`, default 1 MiB),
  on every route; larger ones answer 413 (`too_large`) before they are read whole;
- jobs: at most {max_active} queued or running (`EXPRHUB_MAX_ACTIVE_JOBS`, default 16) and
  {max_result_bytes} bytes of results kept (`EXPRHUB_MAX_RESULT_BYTES`, default 2 GiB); beyond
  them submissions answer 429; a finished job and its files are kept {result_ttl} s
  (`EXPRHUB_JOB_TTL_SECONDS`, default 86400), then answer 410 Gone. Jobs are kept in the hub:
  they survive a restart, except that a job running when its server process stopped fails
  ("interrupted by a server restart").

Every `GET` route also answers `HEAD` (same status and headers, no body). Downloads take one
or more byte ranges (`Range: bytes=0-1023`, 206 with `Content-Range`); a malformed `Range`
answers 400 (`bad_range`) and one beyond the end 416 (`range_not_satisfiable`), before the
download is built when the header alone shows it.
"""


def max_body_bytes_from_environment(environ: Mapping[str, str] | None = None) -> int:
    """The largest request body accepted: ``EXPRHUB_MAX_BODY_BYTES`` (default 1 MiB).

    Raises
    ------
    ValueError
        For a value that is not a whole number of bytes (at least 1).
    """
    env = os.environ if environ is None else environ
    return integer_setting(env, "EXPRHUB_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1)


class StaticAssets(StaticFiles):
    """The package's static files, answering ``HEAD`` without reading them and ``Range``
    errors in the API's error shape (see :class:`RangedFileResponse`)."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The response for one file (a 304 when the request's validators match)."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        if type(response) is not FileResponse:
            return response
        return RangedFileResponse(full_path, status_code=status_code, stat_result=stat_result)


#: The two ``<style>`` elements plotly.js (v4.1) adds to a page, allowed by their hashes (the
#: smallest relaxation that lets its charts work): an empty one it then fills through the CSSOM
#: (its modebar and hover rules), and MapLibre's stylesheet, which it adds on load. A new plotly
#: release may change the second: the browser tests then report the CSP violation and its hash.
PLOTLY_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",
)


def content_security_policy(style_src: str) -> str:
    """The site's Content-Security-Policy with this ``style-src``: everything else may only
    come from this server, and scripts only from its files (no inline script, no eval)."""
    return (
        f"default-src 'self'; img-src 'self' data:; style-src {style_src}; "
        "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    )


#: Pages may only load what this server serves (the offline guarantee, enforced by browsers).
CONTENT_SECURITY_POLICY = content_security_policy(f"'self' {' '.join(PLOTLY_STYLE_HASHES)}")
#: Pages with plotly heatmaps, box plots and scatter charts (the analyze page): plotly.js sets
#: ``style`` attributes there, which only ``'unsafe-inline'`` allows, and browsers ignore
#: ``'unsafe-inline'`` when a hash is listed too, so this style-src has no hashes.
CHART_PAGE_POLICY = content_security_policy("'self' 'unsafe-inline'")


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
    max_body_bytes: int | None = None,
    on_close: Sequence[Callable[[], None]] = (),
) -> FastAPI:
    """The exprhub web application serving ``hub``.

    Parameters
    ----------
    hub
        The hub to serve.
    search
        The search engine (default: a naive scan of titles, see ``NaiveSearch``).
    jobs
        The background job manager (default: one with the built-in job kinds and the limits
        the environment sets, see ``JobLimits.from_environment``). The app starts it (removing
        results of jobs it does not know) and shuts it down with its lifespan.
    cache_control
        ``Cache-Control`` header of record responses.
    max_body_bytes
        Largest request body accepted on any route (default: ``EXPRHUB_MAX_BODY_BYTES``, else
        1 MiB); larger ones answer 413.
    on_close
        Called in order when the app shuts down, after the job manager.

    Raises
    ------
    ValueError
        When a limit set in the environment is not a whole number.
    """
    # before any request: handlers drawing charts run concurrently in threads (see there)
    import_figure_modules()
    manager = jobs or default_jobs(hub, limits=JobLimits.from_environment())
    body_limit = max_body_bytes if max_body_bytes is not None else max_body_bytes_from_environment()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        manager.start()
        yield
        manager.shutdown()
        for close in on_close:
            close()

    limits = manager.limits
    description = DESCRIPTION.format(
        max_body_bytes=body_limit,
        max_active=limits.max_active,
        max_result_bytes=limits.max_result_bytes,
        result_ttl=f"{limits.result_ttl:g}",
    )
    app = FastAPI(
        title="exprhub",
        version=__version__,
        description=description,
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
    app.state.download_heads = DownloadHeads()

    def error_page(request: Request, status: int, title: str, message: str) -> Response:
        short = excerpt(message, MAX_MESSAGE_CHARS)
        return pages.render_error(request, status, excerpt(title), short)

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> Response:
        if _is_api(request):
            return error_response(exc.status, exc.code, exc.message, exc.detail, exc.headers)
        response = error_page(request, exc.status, exc.code.replace("_", " "), exc.message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(HubError)
    async def on_hub_error(request: Request, exc: HubError) -> Response:
        if _is_api(request):
            return hub_error_response(exc)
        if isinstance(exc, HubBusy):
            response = error_page(request, 503, "Busy", public_message(exc))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        status = 404 if isinstance(exc, RecordNotFound) else 400
        title = "Not found" if status == 404 else "Error"
        return error_page(request, status, title, public_message(exc))

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        detail = validation_detail(exc)
        message = validation_message(detail)
        if _is_api(request):
            return error_response(422, "invalid_request", message, detail)
        return error_page(request, 422, "Invalid request", message)

    @app.exception_handler(BodyTooLarge)
    async def on_body_too_large(_: Request, exc: BodyTooLarge) -> Response:
        detail = {"max_bytes": exc.limit}
        return error_response(413, "too_large", str(exc.detail), detail, {"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return http_error_json(exc)
        message = "There is no page at this address." if exc.status_code == 404 else str(exc.detail)
        return error_page(request, exc.status_code, str(exc.detail), message)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        message = f"unexpected server error ({type(exc).__name__})"
        # the client sees one line; the server's log keeps the traceback to fix it
        logging.getLogger("exprhub.web").error(
            "%s %s: %s", request.method, request.url.path, message, exc_info=exc
        )
        if _is_api(request):
            return error_response(500, "internal_error", message)
        return pages.render_error(request, 500, "Server error", message)

    # Added first, so it runs inside the others (outermost first: SecurityHeaders, HeadAsGet,
    # BodySizeLimit, the fast path); all run between Starlette's server-error middleware and
    # the exception handlers above.
    app.add_middleware(
        RecordDocumentFastPath,
        hub=hub,
        documents=app.state.documents,
        cache_control=cache_control,
    )
    app.add_middleware(BodySizeLimit, max_bytes=body_limit)
    app.add_middleware(HeadAsGet)
    app.add_middleware(SecurityHeaders)
    app.include_router(routes_records.router)
    app.include_router(routes_labels.router)
    app.include_router(routes_search.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_label_checks.router)
    app.include_router(tissue_model_routes)
    app.include_router(routes_genes.router)
    app.include_router(analysis_routes)
    app.include_router(geo2r_routes)
    app.include_router(routes_bundles.router)
    app.include_router(compendium_job.router)
    app.include_router(pages.router)
    app.include_router(routes_genes.pages)
    app.include_router(analysis_pages)
    app.include_router(geo2r_pages)
    app.include_router(cart_page.router)
    app.mount("/static", StaticAssets(directory=STATIC), name="static")

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

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        """plotly.js as the installed ``plotly`` package ships it (charts never load a CDN)."""
        stat_result = PLOTLY_JS.stat()
        return RangedFileResponse(
            PLOTLY_JS,
            stat_result=stat_result,
            media_type="text/javascript",
            headers={"cache-control": "public, max-age=86400"},
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response((STATIC / "favicon.svg").read_bytes(), media_type="image/svg+xml")

    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``exprhub serve --workers N`` (a uvicorn ``--factory``).

    It serves the hub at ``$EXPRHUB_HOME`` (metadata in ``$EXPRHUB_DATABASE_URL`` when set),
    which ``exprhub serve`` sets before it starts the workers, with the hub's search index.
    Before serving, the worker brings the index up to date if the hub changed since the last
    sync (:meth:`exprhub.search.hub_index.HubSearch.catch_up`): one process syncs while the
    others wait for it up to :data:`STARTUP_SYNC_WAIT` seconds, then serve in any case. Jobs
    are shared by all workers through the hub (see :mod:`exprhub.web.jobs`).

    Raises
    ------
    exprhub.hub.HubError
        When there is no hub there.
    ValueError
        When a limit set in the environment is not a whole number.
    """
    from exprhub.search.hub_index import HubSearch

    hub = Hub(default_home())
    engine = HubSearch(hub)
    engine.catch_up(wait=STARTUP_SYNC_WAIT)
    return create_app(hub, search=IndexSearch(engine, hub), on_close=(engine.close, hub.close))
