"""One JSON error body for every error the gateway answers with.

``{"status": 404, "error": "not_found", "message": "task 7 is not published", "field": null}``:
``error`` is a stable code, ``message`` says what is wrong in words, ``field`` names the
request field at fault (``policy.quorum``, ``spec``, ``committee``...) when there is one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "timeout",
}


class ErrorBody(BaseModel):
    """The body of every error response."""

    status: int = Field(description="The HTTP status, repeated.")
    error: str = Field(description="A stable code, e.g. not_found, unauthorized.")
    message: str = Field(description="What is wrong, in words.")
    field: str | None = Field(None, description="The request field at fault, when there is one.")


class ApiError(Exception):
    """An error the gateway answers with :class:`ErrorBody`."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def error_response(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON response of an error."""
    body = ErrorBody(status=status, error=CODES.get(status, "error"), message=message, field=field)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses``, all with :class:`ErrorBody`."""
    return {s: {"model": ErrorBody, "description": CODES.get(s, "error")} for s in statuses}


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Route every error through :class:`ErrorBody`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _location(tuple(first.get("loc", ())))
        message = "; ".join(
            f"{_location(tuple(e.get('loc', ()))) or 'request'}: {e.get('msg', 'invalid')}"
            for e in errors[:5]
        )
        return error_response(422, message, field=field or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:  # every method of the path, not just the first route's
            allowed: set[str] = set()
            for route in request.app.router.routes:
                regex = getattr(route, "path_regex", None)
                if regex is not None and regex.match(request.url.path):
                    allowed |= set(getattr(route, "methods", None) or ())
            headers["Allow"] = ", ".join(sorted(allowed))
            message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
            return error_response(405, message, headers=headers)
        return error_response(exc.status_code, str(exc.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}")
