"""HTTP rules every route follows: a bound on request bodies, ``HEAD`` answered like ``GET``
(headers only) and byte ``Range`` headers checked before anything is built.

Both middlewares are pure ASGI, so they cover the routes, the mounted static files and the
record-document fast path alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exprhub.web.errors import error_response, excerpt

#: ASGI scope key set on a ``HEAD`` request that the app routes as ``GET``.
HEAD_REQUEST = "exprhub.head_request"

#: Most byte ranges one ``Range`` header may ask for.
MAX_RANGES = 16

_CONTENT_LENGTH = b"content-length"
_BODY_MESSAGES = frozenset(
    {"http.response.body", "http.response.pathsend", "http.response.zerocopysend"}
)
_RANGE_SPEC = re.compile(r"(\d*)-(\d*)")


def is_head_request(scope: Scope) -> bool:
    """Whether the client sent ``HEAD`` (the app routes such requests as ``GET``)."""
    return bool(scope.get(HEAD_REQUEST))


class HeadAsGet:
    """ASGI middleware answering ``HEAD`` on every ``GET`` route: the request is routed as
    ``GET`` and the response keeps its status and headers (``Content-Length`` included) but
    loses its body.

    Responses that can skip producing their body look at :func:`is_head_request` (the file
    responses of downloads do, so a ``HEAD`` never reads the file).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_headers_only(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] in _BODY_MESSAGES:
                # The first body message ends the response; whatever follows is dropped.
                finished = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app({**scope, "method": "GET", HEAD_REQUEST: True}, receive, send_headers_only)


class BodyTooLarge(StarletteHTTPException):
    """A request body went past the app's limit while it was being received."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, body_limit_message(limit))
        self.limit = limit


def body_limit_message(limit: int) -> str:
    """The one-line error of a request body larger than ``limit`` bytes."""
    return f"the request body is larger than this server accepts ({limit} bytes at most)"


class BodySizeLimit:
    """ASGI middleware refusing request bodies larger than ``max_bytes`` with 413 and the
    API's JSON error body.

    A declared ``Content-Length`` above the limit is refused before any of the body is read;
    a body without one (chunked) is counted as it arrives and refused as soon as it passes the
    limit (:class:`BodyTooLarge` is raised from ``receive``; the app's handler for it, or this
    middleware when nothing answered yet, sends the 413).

    Parameters
    ----------
    app
        The rest of the application.
    max_bytes
        Largest request body accepted, in bytes.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "too_large", body_limit_message(self.max_bytes), {"max_bytes": self.max_bytes}
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == _CONTENT_LENGTH:
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RangeError(Exception):
    """A ``Range`` header that is malformed (400) or cannot be satisfied (416).

    Parameters
    ----------
    status
        400 for a malformed header, 416 for ranges that cannot be served.
    message
        One readable line.
    size
        The size of the representation when known (for ``Content-Range: bytes */size``).
    """

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.size = size

    @property
    def code(self) -> str:
        """The API error code: ``bad_range`` or ``range_not_satisfiable``."""
        return "bad_range" if self.status == 400 else "range_not_satisfiable"

    @property
    def headers(self) -> dict[str, str] | None:
        """``Content-Range: bytes */size`` for a 416 when the size is known."""
        if self.status == 416 and self.size is not None:
            return {"Content-Range": f"bytes */{self.size}"}
        return None


@dataclass(frozen=True)
class ByteRange:
    """One range of a ``Range: bytes=...`` header: ``first-last`` (``last`` None: to the end)
    or, with ``first`` None, the final ``last`` bytes (a suffix range)."""

    first: int | None
    last: int | None

    def resolve(self, size: int) -> tuple[int, int] | None:
        """``(start, end)`` (end exclusive) within ``size`` bytes, or None when the range lies
        wholly beyond them."""
        if self.first is None:
            assert self.last is not None
            return (max(size - self.last, 0), size) if size > 0 else None
        if self.first >= size:
            return None
        end = size if self.last is None else min(self.last + 1, size)
        return self.first, end


def parse_range(header: str) -> list[ByteRange]:
    """The byte ranges a ``Range`` header asks for, checked without the representation.

    Raises
    ------
    RangeError
        400 when the header is not ``bytes=`` followed by ``first-last``, ``first-`` or
        ``-suffix`` ranges; 416 for a range ending before it starts, an empty suffix or more
        than :data:`MAX_RANGES` ranges.
    """
    unit, equals, specs = header.partition("=")
    expected = "expected bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX (e.g. bytes=0-1023)"
    if not equals or unit.strip().lower() != "bytes":
        raise RangeError(400, f"malformed Range header {excerpt(header)!r}: {expected}")
    ranges = []
    for part in (p.strip() for p in specs.split(",")):
        if not part:  # HTTP lists may hold empty elements
            continue
        match = _RANGE_SPEC.fullmatch(part)
        if match is None or not (match[1] or match[2]):
            raise RangeError(400, f"malformed range {excerpt(part)!r} in Range header: {expected}")
        first = int(match[1]) if match[1] else None
        last = int(match[2]) if match[2] else None
        if first is not None and last is not None and last < first:
            raise RangeError(416, f"range {excerpt(part)!r} ends before it starts")
        if first is None and last == 0:
            raise RangeError(416, "range '-0' asks for no bytes")
        ranges.append(ByteRange(first, last))
    if not ranges:
        raise RangeError(400, f"Range header {excerpt(header)!r} names no range: {expected}")
    if len(ranges) > MAX_RANGES:
        raise RangeError(416, f"at most {MAX_RANGES} ranges per request, got {len(ranges)}")
    return ranges


def resolve_ranges(ranges: list[ByteRange], size: int) -> list[tuple[int, int]]:
    """``(start, end)`` pairs (end exclusive) of ``ranges`` within ``size`` bytes.

    Raises
    ------
    RangeError
        416 (with ``size``) when a range starts at or beyond the end.
    """
    resolved = []
    for byte_range in ranges:
        span = byte_range.resolve(size)
        if span is None:
            raise RangeError(416, f"the requested range starts beyond the end ({size} bytes)", size)
        resolved.append(span)
    return resolved
