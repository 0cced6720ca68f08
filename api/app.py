"""The FastAPI application: routes, error bodies, signed-request middleware, dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from eth_account.signers.local import LocalAccount
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api import errors
from api.auth import RequestVerifier, SignedRequestMiddleware
from api.gateway import Gateway
from api.routes import events, health, members, models, publications, tasks
from api.settings import GatewaySettings
from ledgerlearn.storage import shutdown_signals

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

DESCRIPTION = """
REST gateway of a ledgerlearn consortium: read the tasks, rounds, updates (with every
validator's score and the committee's decision), the dag, members and roles, global models and
their weights (verified against the on-chain hash), and follow the contract events live.

**Writes are signed** by the caller's Ethereum key: headers `X-Ledgerlearn-Address`,
`X-Ledgerlearn-Timestamp` (Unix seconds, within the gateway's window), `X-Ledgerlearn-Nonce`
(32 random bytes, 0x-hex, never reused) and `X-Ledgerlearn-Signature`: an EIP-712 signature of
`Request(string method,string path,bytes32 bodyHash,uint64 timestamp,bytes32 nonce)` (path with
its query string, bodyHash = keccak-256 of the raw body) in the domain
`{name: "ledgerlearn-gateway", version: "1", chainId, verifyingContract: the LearningLedger}`.
Unsigned or badly signed: 401; without the needed role: 403.

**Publishing** is prepare -> sign -> submit: `POST /tasks` returns EIP-712 typed data, the
publisher signs it locally, `POST /publications/{id}/signature` relays it. The gateway never
holds a publisher's key. `ledgerlearn api publish` does the three steps in one command.
"""


def create_app(settings: GatewaySettings, relayer: LocalAccount | None) -> FastAPI:
    """The gateway's application; the :class:`~api.gateway.Gateway` starts with the server."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway(settings, relayer)
        await anyio.to_thread.run_sync(gateway.start)
        # kubo took SIGTERM/SIGINT over when its node started: re-arm uvicorn's handlers
        # (here, in the main thread; a no-op when the app runs in another thread)
        signals = shutdown_signals.acquire()
        app.state.gateway = gateway
        log.info("gateway ready")
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
    errors.install(app)

    def verifier() -> RequestVerifier | None:
        gateway: Gateway | None = app.state.gateway
        return None if gateway is None else gateway.verifier

    app.add_middleware(
        SignedRequestMiddleware,
        verifier=verifier,
        max_body=settings.gateway.max_upload_bytes,
        open_reads=settings.gateway.open_reads,
        routes=lambda: app.router.routes,
    )
    for module in (tasks, publications, members, models, events, health):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def dashboard(_: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
