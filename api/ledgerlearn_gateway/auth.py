"""Signed-request authentication (401) and role authorization (403), before any body is read.

:class:`SignedRequestMiddleware` answers every request a route would answer and that needs a
signature (every write; every read when reads are closed) in this order, so that a request
costs no more than its headers until its sender is known to hold the route's role:

1. the four headers of :mod:`ledgerlearn_gateway.signing`: present once each, well formed (a
   mixed-case address must carry its EIP-55 checksum), a timestamp within the window (401);
2. a declared ``Content-Length`` above the upload limit (413);
3. the role the route declares (``openapi_extra`` key :data:`ROLE_EXTRA`; closed reads: any
   role) held by the claimed address on the Consortium contract (403; no nonce is stored for
   an address without it);
4. a free upload slot for a request with a body (503 with ``Retry-After`` beyond
   ``max_concurrent_uploads``);
5. the body, streamed into a spooled temporary file while it is hashed, never more than the
   upload limit (413);
6. the signature recovering the claimed address over method, path, body hash, timestamp,
   nonce, the gateway's id (the audience) and the chain/deployment domain, then the nonce,
   recorded in SQLite so that a replay is refused also after a restart (401).

The body is then handed to the application from the spooled file, in chunks. Requests no
route answers go out as the router's 404/405 without auth; requests needing no signature go
through with their body capped. A route then asks the Consortium contract for the role again
(:func:`require_role`, 403) and reads the verified signer from the request state.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import anyio
from eth_hash.auto import keccak
from fastapi import Request
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.security import APIKeyHeader
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerlearn.addresses import AddressError, parse_address
from ledgerlearn_gateway.errors import ApiError, error_response
from ledgerlearn_gateway.nonces import NonceStore
from ledgerlearn_gateway.signing import (
    ADDRESS_HEADER,
    HEADERS,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    recover_signer,
    request_typed_data,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_OPEN = (
    "/health",
    "/openapi.json",
    "/docs",
    "/redoc",
    "/static/",
    "/favicon.ico",
    "/schemas/",
)
"""Paths readable without a signature even when reads are closed."""
METRICS_PATH = "/metrics"
"""Prometheus's endpoint: open unless ``gateway.metrics_open`` is off, then signed by a member
whether reads are open or not."""

ROLE_EXTRA = "x-ledgerlearn-role"
"""The ``openapi_extra`` key by which a signed route names the role its signer needs."""
ANY_ROLE = "ANY"
"""Any role of the consortium (closed reads, and signed routes that name none)."""

MAX_HEADER_BYTES = 32 * 1024
"""Largest total size of a request's headers (431 above)."""
SPOOL_MEMORY_BYTES = 1024 * 1024
"""A body larger than this is spooled to a temporary file while it is read."""
CHUNK_BYTES = 64 * 1024
"""Size of the chunks a spooled body is handed to the application in."""

_NONCE = re.compile(r"0x[0-9a-fA-F]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_LENGTH = re.compile(r"[0-9]{1,19}")

# Documented in OpenAPI as one security requirement (all four headers together).
address_scheme = APIKeyHeader(name=ADDRESS_HEADER, scheme_name="SignerAddress", auto_error=False)
timestamp_scheme = APIKeyHeader(
    name=TIMESTAMP_HEADER, scheme_name="SignedTimestamp", auto_error=False
)
nonce_scheme = APIKeyHeader(name=NONCE_HEADER, scheme_name="SignedNonce", auto_error=False)
signature_scheme = APIKeyHeader(name=SIGNATURE_HEADER, scheme_name="Signature", auto_error=False)

RoleCheck = Callable[[str, str], bool]
"""``check(role, address)``: whether ``address`` holds ``role`` (or, for :data:`ANY_ROLE`,
any role)."""


@dataclass(frozen=True)
class SignedHeaders:
    """The signature headers of one request, checked for form and time."""

    address: str
    """The claimed signer, checksummed."""
    timestamp: int
    nonce: str
    signature: bytes


@dataclass
class RequestVerifier:
    """Checks the signature headers of one request."""

    chain_id: int
    ledger: str
    audience: str
    window_s: int
    nonces: NonceStore

    def check_headers(self, headers: Sequence[tuple[str, str]], now: float) -> SignedHeaders:
        """The four signature headers, checked for presence, form and time (no crypto).

        Raises
        ------
        ApiError
            401 naming the header that is missing, repeated, malformed or out of the window.
        """
        found: dict[str, str] = {}
        for name, value in headers:
            if name in _SIGNED_NAMES:
                if name in found:
                    raise ApiError(
                        401, f"{_SIGNED_NAMES[name]} is given twice", field=_SIGNED_NAMES[name]
                    )
                found[name] = value
        missing = [h for h in HEADERS if h.lower() not in found]
        if missing:
            raise ApiError(401, f"unsigned request: missing header(s) {', '.join(missing)}")
        raw_ts = found[TIMESTAMP_HEADER.lower()]
        nonce = found[NONCE_HEADER.lower()]
        signature = found[SIGNATURE_HEADER.lower()]
        try:
            address = parse_address(found[ADDRESS_HEADER.lower()])
        except AddressError as exc:
            raise ApiError(401, f"{ADDRESS_HEADER}: {exc}", field=ADDRESS_HEADER) from None
        if not _TIMESTAMP.fullmatch(raw_ts):
            raise ApiError(401, f"{TIMESTAMP_HEADER} is not Unix seconds", field=TIMESTAMP_HEADER)
        if not _NONCE.fullmatch(nonce):
            raise ApiError(
                401, f"{NONCE_HEADER} must be 0x and 32 bytes of hex", field=NONCE_HEADER
            )
        if not _SIGNATURE.fullmatch(signature):
            raise ApiError(
                401, f"{SIGNATURE_HEADER} must be 0x and 65 bytes of hex", field=SIGNATURE_HEADER
            )
        timestamp = int(raw_ts)
        if abs(now - timestamp) > self.window_s:
            raise ApiError(
                401,
                f"timestamp {timestamp} is {now - timestamp:+.0f} s from the gateway's clock; "
                f"the window is +-{self.window_s} s",
                field=TIMESTAMP_HEADER,
            )
        return SignedHeaders(address, timestamp, nonce, bytes.fromhex(signature[2:]))

    def verify(
        self, signed: SignedHeaders, method: str, path: str, body_hash: bytes, now: float
    ) -> str:
        """The verified signer: the signature recovers the claimed address, and the nonce is
        new (it is then recorded).

        Raises
        ------
        ApiError
            401: a bad signature or a replayed nonce.
        """
        data = request_typed_data(
            chain_id=self.chain_id,
            ledger=self.ledger,
            audience=self.audience,
            method=method,
            path=path,
            body_hash=body_hash,
            timestamp=signed.timestamp,
            nonce=bytes.fromhex(signed.nonce[2:]),
        )
        try:
            signer = recover_signer(data, signed.signature)
        except ValueError as exc:
            raise ApiError(401, str(exc), field=SIGNATURE_HEADER) from exc
        if signer != signed.address:
            raise ApiError(
                401,
                f"bad signature: it recovers {signer}, not {signed.address} (signed for another "
                "method, path, body, timestamp, nonce, gateway, chain or deployment?)",
                field=SIGNATURE_HEADER,
            )
        if not self.nonces.use(signer, signed.nonce, signed.timestamp, now):
            raise ApiError(
                401,
                f"replayed request: nonce {signed.nonce} of {signer} was already used",
                field=NONCE_HEADER,
            )
        return signer


_SIGNED_NAMES = {h.lower(): h for h in HEADERS}


class UploadSlots:
    """How many signed requests with a body are processed at once (event-loop only)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def try_acquire(self) -> bool:
        """Take a slot if one is free."""
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def release(self) -> None:
        """Give a slot back."""
        self.used -= 1


class _Disconnected(Exception):
    """The client went away while sending its body."""


class SignedRequestMiddleware:
    """Authenticates and authorizes signed requests before their body is read (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: Callable[[], RequestVerifier | None],
        has_role: Callable[[], RoleCheck | None],
        max_body: int,
        open_reads: bool,
        uploads: UploadSlots,
        retry_after_s: int = 5,
        routes: Callable[[], Sequence[BaseRoute]] = list,
        metrics_open: bool = True,
    ) -> None:
        self.routes = routes
        self.metrics_open = metrics_open
        self.app = app
        self.verifier = verifier
        self.has_role = has_role
        self.max_body = max_body
        self.open_reads = open_reads
        self.uploads = uploads
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope["headers"]
        if sum(len(k) + len(v) + 4 for k, v in raw_headers) > MAX_HEADER_BYTES:
            await self._reject(
                scope,
                receive,
                send,
                ApiError(431, f"the request's headers exceed {MAX_HEADER_BYTES} bytes"),
            )
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw_headers]
        try:
            length = self._declared_length(headers)
        except ApiError as exc:
            await self._reject(scope, receive, send, exc)
            return
        method = scope["method"].upper()
        path = scope.get("path", "")
        route = self._route(scope)
        needs_signature = route is not None and (
            method not in SAFE_METHODS or not self._open_read(path)
        )
        if not needs_signature:
            await self.app(scope, self._capped(receive), send)
            return
        assert route is not None
        try:
            signed = await self._authorize(route, method, headers)
        except ApiError as exc:
            await self._reject(scope, receive, send, exc)
            return
        has_body = (length or 0) > 0 or any(k == "transfer-encoding" for k, _ in headers)
        if has_body and not self.uploads.try_acquire():
            busy = ApiError(
                503,
                f"the gateway is processing {self.uploads.limit} uploads already; retry in "
                f"{self.retry_after_s} s",
                headers={"Retry-After": str(self.retry_after_s)},
            )
            await self._reject(scope, receive, send, busy)
            return
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
        try:
            try:
                digest, size = await self._read_body(receive, spool)
                signer = await self._verify(scope, signed, method, digest)
            except _Disconnected:
                return
            except ApiError as exc:
                await self._reject(scope, receive, send, exc)
                return
            state = scope.setdefault("state", {})
            state["signer"] = signer
            await self.app(scope, self._replay(spool, size, receive), send)
        finally:
            spool.close()
            if has_body:
                self.uploads.release()

    def _open_read(self, path: str) -> bool:
        """Whether a read of ``path`` goes through without a signature."""
        if path == METRICS_PATH:
            return self.metrics_open
        return self.open_reads or path == "/" or path.startswith(ALWAYS_OPEN)

    # -- steps ---------------------------------------------------------------------------
    def _declared_length(self, headers: list[tuple[str, str]]) -> int | None:
        values = [v for k, v in headers if k == "content-length"]
        if not values:
            return None
        if len(set(values)) != 1 or not _LENGTH.fullmatch(values[0].strip()):
            raise ApiError(400, "Content-Length must be one decimal number", field="Content-Length")
        length = int(values[0])
        if length > self.max_body:
            raise ApiError(413, self._too_large(length))
        return length

    async def _authorize(
        self, route: RouteContext, method: str, headers: list[tuple[str, str]]
    ) -> SignedHeaders:
        verifier = self.verifier()
        check = self.has_role()
        if verifier is None or check is None:
            raise ApiError(503, "the gateway is starting", headers={"Retry-After": "2"})
        signed = verifier.check_headers(headers, time.time())
        extra: Mapping[str, Any] = getattr(route, "openapi_extra", None) or {}
        role = str(extra.get(ROLE_EXTRA, ANY_ROLE)) if method not in SAFE_METHODS else ANY_ROLE
        try:
            holds = await anyio.to_thread.run_sync(check, role, signed.address)
        except Exception as exc:
            raise ApiError(
                503,
                f"cannot ask the chain for the roles of {signed.address}: {type(exc).__name__}",
                headers={"Retry-After": str(self.retry_after_s)},
            ) from exc
        if not holds:
            what = "any role" if role == ANY_ROLE else f"{role}_ROLE"
            raise ApiError(403, f"{signed.address} does not hold {what} on the Consortium contract")
        return signed

    async def _read_body(self, receive: Receive, spool: IO[bytes]) -> tuple[bytes, int]:
        hasher = keccak.new(b"")
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise ApiError(413, self._too_large(None))
            if chunk:
                hasher.update(chunk)
                spool.write(chunk)
            more = bool(message.get("more_body", False))
        spool.seek(0)
        return hasher.digest(), size

    async def _verify(self, scope: Scope, signed: SignedHeaders, method: str, digest: bytes) -> str:
        verifier = self.verifier()
        if verifier is None:
            raise ApiError(503, "the gateway is stopping")
        raw_path = scope.get("raw_path") or scope.get("path", "").encode()
        query = scope.get("query_string", b"")
        signed_path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        signer: str = await anyio.to_thread.run_sync(
            verifier.verify, signed, method, signed_path, digest, time.time()
        )
        return signer

    def _replay(self, spool: IO[bytes], size: int, receive: Receive) -> Receive:
        sent = 0
        done = False

        async def replay() -> Message:
            nonlocal sent, done
            if done:
                return await receive()
            chunk = spool.read(CHUNK_BYTES)
            sent += len(chunk)
            done = sent >= size
            return {"type": "http.request", "body": chunk, "more_body": not done}

        return replay

    def _capped(self, receive: Receive) -> Receive:
        """``receive`` refusing a body beyond the upload limit (routes needing no signature
        do not read bodies; this keeps it so)."""
        size = 0

        async def capped() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.max_body:
                raise ApiError(413, self._too_large(None))
            return message

        return capped

    def _route(self, scope: Scope) -> RouteContext | None:
        """The route answering this method and path (None: the router's 404/405 goes out
        unsigned, there is nothing to authorize); routers included in the app are searched."""
        for context in iter_route_contexts(self.routes()):
            if isinstance(context.original_route, Mount) and scope["method"] not in SAFE_METHODS:
                continue  # the static files answer reads only (405 for the rest)
            if context.matches(scope)[0] is Match.FULL:
                return context
        return None

    def _too_large(self, length: int | None) -> str:
        size = f"{length} bytes" if length is not None else "the request body"
        return f"{size} exceeds the upload limit of {self.max_body} bytes"

    async def _reject(self, scope: Scope, receive: Receive, send: Send, exc: ApiError) -> None:
        response = error_response(exc.status, exc.message, field=exc.field, headers=exc.headers)
        await response(scope, receive, send)


def signer_of(request: Request) -> str:
    """The verified signer of a request (set by the middleware)."""
    signer: Any = getattr(request.state, "signer", None)
    if not isinstance(signer, str):
        raise ApiError(401, "unsigned request")
    return signer


def require_role(role: str, has_role: Callable[[], RoleCheck]) -> Callable[..., Awaitable[str]]:
    """A dependency: the signer, who must hold ``role`` on the Consortium contract (403)."""

    async def dependency(request: Request) -> str:
        signer = signer_of(request)
        check = has_role()
        if not await anyio.to_thread.run_sync(check, role, signer):
            raise ApiError(403, f"{signer} does not hold {role}_ROLE on the Consortium contract")
        return signer

    return dependency
