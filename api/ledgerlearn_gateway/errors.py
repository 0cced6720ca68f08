"""One JSON error body for every error the gateway answers with.

``{"status": 404, "error": "not_found", "message": "task 7 is not published", "field": null}``:
``error`` is a stable code, ``message`` says what is wrong in words, ``field`` names the
request field at fault (``policy.quorum``, ``spec``, ``committee``...) when there is one.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from ledgerlearn.errors import ChainError, ContractError, StorageError

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
    429: "too_many_requests",
    431: "headers_too_large",
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


class ApiError(StarletteHTTPException):
    """An error the gateway answers with :class:`ErrorBody`.

    An HTTP exception, so FastAPI lets it through wherever it is raised (also while it
    parses a request body).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.status = status
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message


_redacted_roots: set[str] = set()
_PATH_TAIL = r"[^\s'\"`,;:)\]}>]*"
_SERVER_PATH = "<server path>"


def redact_paths_under(*roots: str | Path) -> None:
    """Hide the server's paths under ``roots`` (and their subpaths) in every error message."""
    for root in roots:
        text = str(Path(root).expanduser().resolve()) if str(root) else ""
        if text and text != "/":
            _redacted_roots.add(text)
            _redacted_roots.add(str(Path(root).expanduser()))


redact_paths_under(
    tempfile.gettempdir(),
    Path.home(),
    sys.prefix,
    Path(__file__).resolve().parent.parent,  # the source tree
)


def redact_paths(message: str) -> str:
    """``message`` with the server's paths (temporary files, state, installation) replaced."""
    for root in sorted(_redacted_roots, key=len, reverse=True):
        if root in message:
            message = re.sub(re.escape(root) + _PATH_TAIL, _SERVER_PATH, message)
    return message


def _printable(text: str) -> str:
    """Text that encodes as UTF-8 (unpaired surrogates escaped), for the JSON body."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(
    status: int,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON response of an error (server paths removed from the message)."""
    body = ErrorBody(
        status=status,
        error=CODES.get(status, "error"),
        message=_printable(redact_paths(message)),
        field=None if field is None else _printable(field)[:200],
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=dict(headers or {}))


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``statuses``, all with :class:`ErrorBody`."""
    return {s: {"model": ErrorBody, "description": CODES.get(s, "error")} for s in statuses}


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers on the request's path (a static mount: GET, HEAD)."""
    allowed: set[str] = set()
    # as the app saw the request (a mount, e.g. the static files, moved its root path)
    scope = {**request.scope, "root_path": request.scope.get("app_root_path", "")}
    for context in iter_route_contexts(request.app.router.routes):
        match, _ = context.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(context.original_route, Mount):
            allowed |= {"GET", "HEAD"}
        else:
            allowed |= set(context.methods or ())
    return sorted(allowed) or ["GET"]


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Route every error through :class:`ErrorBody`."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, field=exc.field, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _location(tuple(first.get("loc", ())))
        message = "; ".join(
            f"{_location(tuple(e.get('loc', ()))) or 'request'}: "
            + str(e.get("msg", "invalid")).removeprefix("Value error, ")
            for e in errors[:5]
        )
        return error_response(422, message, field=field or None)

    @app.exception_handler(ContractError)
    async def _contract(request: Request, exc: ContractError) -> JSONResponse:
        log.info("the contract refused %s %s: %s", request.method, request.url.path, exc)
        return error_response(409, f"the contract refuses it: {exc}")

    @app.exception_handler(ChainError)
    async def _chain(request: Request, exc: ChainError) -> JSONResponse:
        log.warning("the chain node failed on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503, "the chain node cannot be used now; retry later", headers={"Retry-After": "5"}
        )

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        log.warning("IPFS failed on %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "the gateway's IPFS node cannot be used now; retry later",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:  # every method of the path, not just the first route's
            headers["Allow"] = ", ".join(allowed_methods(request))
            message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
            return error_response(405, message, headers=headers)
        return error_response(exc.status_code, str(exc.detail), headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error: {type(exc).__name__}")
