"""Signed-request authentication (401) and role authorization (403).

:class:`SignedRequestMiddleware` reads every request body up to the upload limit (413 above),
and checks the signature of every write (and of every read when reads are closed): the four
headers of :mod:`api.signing`, a timestamp within the window, a signature recovering the
claimed address over method, path, body hash, timestamp, nonce and the chain/deployment
domain, and a nonce never used before by that address (stored in SQLite, so a replay is
refused also after a restart). The verified address is put in the request state; a route
then asks the Consortium contract for the role it needs (:func:`require_role`, 403).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from eth_utils.address import is_address, to_checksum_address
from fastapi import Request
from fastapi.security import APIKeyHeader
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_response
from api.nonces import NonceStore
from api.signing import (
    ADDRESS_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    recover_signer,
    request_typed_data,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_OPEN = ("/health", "/openapi.json", "/docs", "/redoc", "/static/")
"""Paths readable without a signature even when reads are closed."""

_NONCE = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")

# Documented in OpenAPI as one security requirement (all four headers together).
address_scheme = APIKeyHeader(name=ADDRESS_HEADER, scheme_name="SignerAddress", auto_error=False)
timestamp_scheme = APIKeyHeader(
    name=TIMESTAMP_HEADER, scheme_name="SignedTimestamp", auto_error=False
)
nonce_scheme = APIKeyHeader(name=NONCE_HEADER, scheme_name="SignedNonce", auto_error=False)
signature_scheme = APIKeyHeader(name=SIGNATURE_HEADER, scheme_name="Signature", auto_error=False)


@dataclass
class RequestVerifier:
    """Checks the signature headers of one request."""

    chain_id: int
    ledger: str
    window_s: int
    nonces: NonceStore

    def verify(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> str:
        """The verified signer of a request.

        Raises
        ------
        ApiError
            401 naming what is missing or wrong.
        """
        missing = [
            h
            for h in (ADDRESS_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
            if h.lower() not in headers
        ]
        if missing:
            raise ApiError(401, f"unsigned request: missing header(s) {', '.join(missing)}")
        address = headers[ADDRESS_HEADER.lower()]
        raw_ts = headers[TIMESTAMP_HEADER.lower()]
        nonce = headers[NONCE_HEADER.lower()]
        signature = headers[SIGNATURE_HEADER.lower()]
        if not is_address(address):
            raise ApiError(401, f"{ADDRESS_HEADER} is not an address", field=ADDRESS_HEADER)
        if not _TIMESTAMP.match(raw_ts):
            raise ApiError(401, f"{TIMESTAMP_HEADER} is not Unix seconds", field=TIMESTAMP_HEADER)
        if not _NONCE.match(nonce):
            raise ApiError(
                401, f"{NONCE_HEADER} must be 0x and 32 bytes of hex", field=NONCE_HEADER
            )
        if not _SIGNATURE.match(signature):
            raise ApiError(
                401, f"{SIGNATURE_HEADER} must be 0x and 65 bytes of hex", field=SIGNATURE_HEADER
            )
        timestamp = int(raw_ts)
        now = time.time()
        if abs(now - timestamp) > self.window_s:
            raise ApiError(
                401,
                f"timestamp {timestamp} is {now - timestamp:+.0f} s from the gateway's clock; "
                f"the window is +-{self.window_s} s",
                field=TIMESTAMP_HEADER,
            )
        data = request_typed_data(
            chain_id=self.chain_id,
            ledger=self.ledger,
            method=method,
            path=path,
            body=body,
            timestamp=timestamp,
            nonce=bytes.fromhex(nonce[2:]),
        )
        try:
            signer = recover_signer(data, bytes.fromhex(signature[2:]))
        except ValueError as exc:
            raise ApiError(401, str(exc), field=SIGNATURE_HEADER) from exc
        claimed = to_checksum_address(address)
        if signer != claimed:
            raise ApiError(
                401,
                f"bad signature: it recovers {signer}, not {claimed} (signed for another "
                "method, path, body, timestamp, nonce, chain or deployment?)",
                field=SIGNATURE_HEADER,
            )
        if not self.nonces.use(signer, nonce, timestamp, now):
            raise ApiError(
                401,
                f"replayed request: nonce {nonce} of {signer} was already used",
                field=NONCE_HEADER,
            )
        return signer


class SignedRequestMiddleware:
    """Bounds request bodies and authenticates signed requests (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: Callable[[], RequestVerifier | None],
        max_body: int,
        open_reads: bool,
        routes: Callable[[], Sequence[BaseRoute]] = list,
    ) -> None:
        self.routes = routes
        self.app = app
        self.verifier = verifier
        self.max_body = max_body
        self.open_reads = open_reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._reject(scope, receive, send, 413, self._too_large(int(length)))
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.max_body:
                await self._reject(scope, receive, send, 413, self._too_large(None))
                return
        method = scope["method"].upper()
        path = scope.get("path", "")
        needs_signature = self._routed(scope) and (
            method not in SAFE_METHODS
            or not (self.open_reads or path == "/" or path.startswith(ALWAYS_OPEN))
        )
        state = scope.setdefault("state", {})
        if needs_signature:
            verifier = self.verifier()
            if verifier is None:
                await self._reject(scope, receive, send, 503, "the gateway is starting")
                return
            raw_path = scope.get("raw_path") or path.encode()
            query = scope.get("query_string", b"")
            signed_path = raw_path.decode("latin-1") + (
                "?" + query.decode("latin-1") if query else ""
            )
            try:
                signer = await anyio.to_thread.run_sync(
                    verifier.verify, method, signed_path, bytes(body), headers
                )
            except ApiError as exc:
                await self._reject(scope, receive, send, exc.status, exc.message, exc.field)
                return
            state["signer"] = signer
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _routed(self, scope: Scope) -> bool:
        """Whether a route answers this method and path (else the router's 404/405 goes out
        unsigned: there is nothing to authorize)."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.routes())

    def _too_large(self, length: int | None) -> str:
        size = f"{length} bytes" if length is not None else "the request body"
        return f"{size} exceeds the upload limit of {self.max_body} bytes"

    async def _reject(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        message: str,
        field: str | None = None,
    ) -> None:
        response = error_response(status, message, field=field)
        await response(scope, receive, send)


def signer_of(request: Request) -> str:
    """The verified signer of a request (set by the middleware)."""
    signer: Any = getattr(request.state, "signer", None)
    if not isinstance(signer, str):
        raise ApiError(401, "unsigned request")
    return signer


RoleCheck = Callable[[str, str], bool]


def require_role(role: str, has_role: Callable[[], RoleCheck]) -> Callable[..., Awaitable[str]]:
    """A dependency: the signer, who must hold ``role`` on the Consortium contract (403)."""

    async def dependency(request: Request) -> str:
        signer = signer_of(request)
        check = has_role()
        if not await anyio.to_thread.run_sync(check, role, signer):
            raise ApiError(403, f"{signer} does not hold {role}_ROLE on the Consortium contract")
        return signer

    return dependency
