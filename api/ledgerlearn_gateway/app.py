"""The FastAPI application: routes, error bodies, signed-request middleware, dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.storage import shutdown_signals
from ledgerlearn_gateway import errors, metrics
from ledgerlearn_gateway.auth import (
    RequestVerifier,
    RoleCheck,
    SignedRequestMiddleware,
    UploadSlots,
)
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.routes import (
    content,
    events,
    exports,
    governance,
    health,
    members,
    models,
    publications,
    schemas,
    tasks,
)
from ledgerlearn_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

CLIENT_MISTAKES = (
    "Invalid HTTP request received.",
    "Unsupported upgrade request.",
    "No supported WebSocket library detected.",
)
"""What uvicorn logs as a WARNING about a request a client got wrong."""


class ClientMistakesAreInfo(logging.Filter):
    """Log uvicorn's complaints about malformed client requests at INFO: a WARNING in the
    gateway's log means something went wrong on the server's side."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and str(record.msg).startswith(CLIENT_MISTAKES):
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


class StartupErrorIsOneLine(logging.Filter):
    """Drop uvicorn's traceback of a startup that failed for a reason the gateway names (no
    node, a wrong deployment, a locked IPFS repository): ``app.state.startup_error`` holds it
    and ``ledgerlearn gateway`` prints it as one ``error:`` line."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__()
        self.app = app

    def filter(self, record: logging.LogRecord) -> bool:
        # starlette hands uvicorn the traceback as the failure's message: every ERROR of a
        # start that failed this way is about it
        failed = getattr(self.app.state, "startup_error", None) is not None
        return not (failed and record.levelno >= logging.ERROR)


DESCRIPTION = """
REST gateway of a ledgerlearn consortium: read the tasks, rounds, updates (with every
validator's score and the committee's decision), the dag, members and roles, global models and
their weights, and every content a task names (`/content/{cid}`: its model spec, weights,
updates, aggregates; each verified against the on-chain hash), and follow the contract events
live. The model spec's JSON Schema is at `/schemas/model-spec.v1.json`.

**Writes are signed** by the caller's Ethereum key: headers `X-Ledgerlearn-Address`,
`X-Ledgerlearn-Timestamp` (Unix seconds, within the gateway's window), `X-Ledgerlearn-Nonce`
(32 random bytes, 0x-hex, never reused) and `X-Ledgerlearn-Signature`: an EIP-712 signature of
`Request(string method,string path,bytes32 bodyHash,uint64 timestamp,bytes32 nonce,string
audience)` (path with its query string, bodyHash = keccak-256 of the raw body, audience = the
gateway's `gateway_id` from `GET /info`) in the domain `{name: "ledgerlearn-gateway", version:
"1", chainId, verifyingContract: the LearningLedger}`. Unsigned or badly signed: 401; without
the role the operation names (`x-ledgerlearn-role`): 403, before the body is read; too many
uploads at once: 503 with `Retry-After`.

**Publishing** is prepare -> sign -> submit: `POST /tasks` returns EIP-712 typed data, the
publisher signs it locally, `POST /publications/{id}/signature` relays it. The gateway never
holds a publisher's key. `ledgerlearn api publish` does the three steps in one command.
"""


def create_app(
    settings: GatewaySettings,
    relayer: LocalAccount | None,
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    """The gateway's application; the :class:`~ledgerlearn_gateway.gateway.Gateway` starts
    with the server (``on_ready`` is called once it has). A start that fails for a reason the
    gateway names leaves it in ``app.state.startup_error``, without uvicorn's traceback."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway(settings, relayer)
        try:
            await anyio.to_thread.run_sync(gateway.start)
        except LedgerlearnError as exc:
            app.state.startup_error = exc
            raise
        app.state.prepares = anyio.CapacityLimiter(settings.gateway.max_concurrent_prepares)
        # kubo took SIGTERM/SIGINT over when its node started: re-arm uvicorn's handlers
        # (here, in the main thread; a no-op when the app runs in another thread)
        signals = shutdown_signals.acquire()
        app.state.gateway = gateway
        log.info("gateway ready")
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            app.state.gateway = None
            if signals:
                shutdown_signals.release()
            await anyio.to_thread.run_sync(gateway.stop)

    app = FastAPI(
        title="ledgerlearn gateway",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.gateway = None
    app.state.startup_error = None
    errors.install(app)
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ClientMistakesAreInfo) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(ClientMistakesAreInfo())
    uvicorn_log.addFilter(StartupErrorIsOneLine(app))

    def verifier() -> RequestVerifier | None:
        gateway: Gateway | None = app.state.gateway
        return None if gateway is None else gateway.verifier

    def role_check() -> RoleCheck | None:
        gateway: Gateway | None = app.state.gateway
        return None if gateway is None else gateway.holds

    gw = settings.gateway
    errors.redact_paths_under(gw.state_dir)
    app.add_middleware(
        SignedRequestMiddleware,
        verifier=verifier,
        has_role=role_check,
        max_body=gw.max_upload_bytes,
        open_reads=gw.open_reads,
        uploads=UploadSlots(gw.max_concurrent_uploads),
        retry_after_s=gw.retry_after_s,
        routes=lambda: app.router.routes,
        metrics_open=gw.metrics_open,
    )
    for module in (
        tasks,
        exports,
        publications,
        members,
        models,
        content,
        schemas,
        events,
        health,
        governance,
    ):
        app.include_router(module.router)
    metrics.install(app)  # outermost: the signature middleware's refusals count too
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard(_: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon(_: Request) -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    return app
