"""The one error shape of the API: ``{"error": {"code", "message", "detail"}}``."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from exprhub.hub.errors import HubBusy, HubError, RecordNotFound

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "too_large",
    416: "range_not_satisfiable",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


class ErrorInfo(BaseModel):
    """What went wrong."""

    code: str = Field(description="machine-readable code, e.g. not_found, invalid_request")
    message: str = Field(description="one readable sentence")
    detail: Any = Field(default=None, description="context: parameter problems, valid values")


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorInfo


#: OpenAPI description of the error responses every API route may give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "not found"},
    422: {"model": ErrorBody, "description": "invalid request"},
}


class ApiError(Exception):
    """An error the API reports to its client.

    Parameters
    ----------
    status
        HTTP status code.
    code
        Short machine-readable code (``not_found``, ``not_refined`` ...).
    message
        One readable sentence.
    detail
        Optional JSON-ready context (the offending parameter, valid values ...).
    headers
        Optional response headers (``Content-Range`` of a 416 ...).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = headers


#: Longest excerpt of client input an error repeats (in characters).
EXCERPT_CHARS = 80
#: Longest error message sent, in characters (a safety net behind the excerpts).
MAX_MESSAGE_CHARS = 500
#: Longest string, and most items of a list or object, sent in an error's ``detail``.
MAX_DETAIL_CHARS = 200
MAX_DETAIL_ITEMS = 50


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """``value`` as text, cut to ``limit`` characters (marked with ``...`` and the full length)
    so that errors never repeat more than a short excerpt of what a client sent."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def bounded_detail(detail: Any, depth: int = 0) -> Any:
    """``detail`` with long strings cut (see :func:`excerpt`) and long lists and objects cut
    to their first items, so an error body stays small whatever the input was."""
    if isinstance(detail, str):
        return excerpt(detail, MAX_DETAIL_CHARS)
    if depth > 4 and isinstance(detail, list | tuple | dict):
        return excerpt(detail, MAX_DETAIL_CHARS)
    if isinstance(detail, list | tuple):
        return [bounded_detail(item, depth + 1) for item in list(detail)[:MAX_DETAIL_ITEMS]]
    if isinstance(detail, dict):
        items = list(detail.items())[:MAX_DETAIL_ITEMS]
        return {excerpt(k, EXCERPT_CHARS): bounded_detail(v, depth + 1) for k, v in items}
    return detail


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    """The JSON body of an error response (message and detail bounded in size)."""
    bounded = {"code": code, "message": excerpt(message, MAX_MESSAGE_CHARS)}
    return {"error": bounded | {"detail": bounded_detail(detail)}}


def error_response(
    status: int, code: str, message: str, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error response in the API's one error shape."""
    return JSONResponse(error_body(code, message, detail), status_code=status, headers=headers)


def status_code_name(status: int) -> str:
    """The error code used for a bare HTTP status."""
    return _STATUS_CODES.get(status, "error")


def validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Validation problems as ``{"location", "message", "input"}`` items (inputs and
    locations cut to short excerpts)."""
    out = []
    for problem in exc.errors():
        loc = [str(p) for p in problem.get("loc", ())]
        item: dict[str, Any] = {
            "location": excerpt(".".join(loc)),
            "message": excerpt(problem.get("msg", ""), MAX_DETAIL_CHARS),
        }
        if "input" in problem and isinstance(problem["input"], str | int | float | bool):
            value = problem["input"]
            item["input"] = excerpt(value) if isinstance(value, str) else value
        out.append(item)
    return out


def validation_message(detail: list[dict[str, Any]]) -> str:
    """One readable line summarizing validation problems."""
    if not detail:
        return "the request is not valid"
    first = detail[0]
    where = first["location"].removeprefix("query.").removeprefix("path.").removeprefix("body.")
    more = f" (and {len(detail) - 1} more problems)" if len(detail) > 1 else ""
    return f"invalid {where}: {first['message']}{more}"


_LOCATION = re.compile(r" (?:at|in) (?:/|[A-Za-z]:\\)\S*")


def public_message(exc: BaseException) -> str:
    """The exception's message without file system locations (clients must not see them)."""
    return _LOCATION.sub("", str(exc))


def hub_error_response(exc: HubError) -> JSONResponse:
    """Map hub errors to API errors."""
    if isinstance(exc, RecordNotFound):
        return error_response(404, "not_found", public_message(exc))
    if isinstance(exc, HubBusy):
        return error_response(
            503,
            "busy",
            public_message(exc),
            {"retry_after": exc.retry_after},
            {"Retry-After": str(exc.retry_after)},
        )
    return error_response(400, "hub_error", public_message(exc))


async def api_error_handler(_: Request, exc: Exception) -> JSONResponse:
    """Handler for :class:`ApiError`."""
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.detail)


def http_error_json(exc: StarletteHTTPException) -> JSONResponse:
    """A Starlette HTTP exception in the API's error shape."""
    message = exc.detail if isinstance(exc.detail, str) else status_code_name(exc.status_code)
    if exc.status_code == 404 and message == "Not Found":
        message = "no such API route"
    headers = dict(exc.headers) if exc.headers else None
    code = status_code_name(exc.status_code)
    return error_response(exc.status_code, code, message, None, headers)
