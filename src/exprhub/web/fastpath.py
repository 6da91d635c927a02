"""A pure-ASGI fast path for record documents (``GET /api/v1/{samples,series,platforms,gds}/
{acc}`` without query parameters), the API's hottest requests.

It answers them with :func:`~exprhub.web.routes_records.document_response`, the very function
the FastAPI route calls, in one worker thread, without FastAPI's routing, dependency solving and
request objects; everything else (other paths and methods, query strings, an ASGI
``root_path``, unexpected errors) falls through to FastAPI unchanged. It sits inside the app's
other middleware (error handling, ``SecurityHeaders``), so the responses are byte for byte
those of the route: status, body, ``ETag``, ``Cache-Control``, content type, 304s and the error
shape.
"""

from __future__ import annotations

from functools import partial

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from exprhub.hub import Hub, HubError
from exprhub.records import RecordType
from exprhub.web.errors import hub_error_response
from exprhub.web.routes_records import DocumentCache, document_response
from exprhub.web.service import SEGMENT_TYPES

#: Path prefix of the record routes.
API_PREFIX = "/api/v1/"
_IF_NONE_MATCH = b"if-none-match"


def document_request(scope: Scope) -> tuple[RecordType, str] | None:
    """The record type and accession of a plain record-document request (``GET``, no query
    string, path ``/api/v1/<segment>/<acc>``), else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    if scope.get("query_string") or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(API_PREFIX):
        return None
    segment, _, acc = path[len(API_PREFIX) :].partition("/")
    record_type = SEGMENT_TYPES.get(segment)
    if record_type is None or not acc or "/" in acc:
        return None
    return record_type, acc


def first_header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (``name`` in lower case), as FastAPI's ``Header``
    parameters read it."""
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


class RecordDocumentFastPath:
    """ASGI middleware answering record-document requests itself (see the module docstring).

    Parameters
    ----------
    app
        The rest of the application (FastAPI's exception middleware and router).
    hub
        The hub the app serves.
    documents
        The app's document cache (shared with the route).
    cache_control
        ``Cache-Control`` header of record responses.
    """

    def __init__(
        self, app: ASGIApp, *, hub: Hub, documents: DocumentCache, cache_control: str
    ) -> None:
        self.app = app
        self.hub = hub
        self.documents = documents
        self.cache_control = cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = document_request(scope)
        if wanted is None:
            await self.app(scope, receive, send)
            return
        record_type, acc = wanted
        answer = partial(
            document_response,
            self.hub,
            self.documents,
            self.cache_control,
            acc,
            record_type,
            if_none_match=first_header(scope, _IF_NONE_MATCH),
        )
        try:
            response = await anyio.to_thread.run_sync(answer)
        except HubError as exc:  # as the app's HubError handler answers API requests
            response = hub_error_response(exc)
        except Exception:  # anything unforeseen: let the route answer (and report) it
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)
