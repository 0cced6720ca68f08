"""``ledgerlearn gateway``: serve the REST gateway (:mod:`ledgerlearn_gateway`) and its
dashboard with uvicorn; its client commands are ``ledgerlearn api ...``
(:mod:`ledgerlearn.cli.api_client`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ledgerlearn.cli.common import IpfsPortOpt, clear_errors, console, setup_logging

__all__ = ["gateway"]


def gateway(
    host: Annotated[str | None, typer.Option(help="Interface (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    deployment: Annotated[
        Path | None,
        typer.Option("--deployment", "-d", help="Deployment file (contract addresses)."),
    ] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL of the chain.")] = None,
    keystore: Annotated[
        Path | None,
        typer.Option(
            help="The gateway's own keystore (relayer; default: "
            "LEDGERLEARN_GATEWAY__RELAYER_KEYSTORE). Without one: read-only."
        ),
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option(help="Nonces, publications, outbox, IPFS repo.")
    ] = None,
    orchestrate: Annotated[
        bool | None,
        typer.Option(
            "--orchestrate/--no-orchestrate", help="Keep the rounds of open tasks (default: on)."
        ),
    ] = None,
    eval_dataset: Annotated[
        Literal["digits", "mnist"] | None,
        typer.Option(help="Held-out set for the accuracy curve (a bundled test split)."),
    ] = None,
    open_reads: Annotated[
        bool | None,
        typer.Option("--open-reads/--signed-reads", help="Reads without a signature (default)."),
    ] = None,
    ipfs_port: IpfsPortOpt = None,
) -> None:
    """Serve the REST gateway and the dashboard (Ctrl-C stops it)."""
    setup_logging()
    with clear_errors():
        import uvicorn

        from ledgerlearn.chain.keys import load_keystore
        from ledgerlearn_gateway.app import create_app
        from ledgerlearn_gateway.settings import GatewaySettings

        settings = GatewaySettings()
        chain = settings.chain
        if rpc is not None:
            chain = chain.model_copy(update={"backend": "rpc", "rpc_url": rpc})
        elif chain.backend == "embedded":
            chain = chain.model_copy(update={"backend": "rpc"})
        if deployment is not None:
            chain = chain.model_copy(update={"deployment_file": deployment})
        elif chain.deployment_file is None:
            chain = chain.model_copy(update={"deployment_file": Path("deployment.json")})
        updates: dict[str, Any] = {
            "host": host,
            "port": port,
            "relayer_keystore": keystore,
            "state_dir": state_dir,
            "orchestrate": orchestrate,
            "eval_dataset": eval_dataset,
            "open_reads": open_reads,
        }
        section = settings.gateway.model_copy(
            update={k: v for k, v in updates.items() if v is not None}
        )
        storage = settings.storage
        if ipfs_port is not None:
            storage = storage.model_copy(update={"swarm_port": ipfs_port})
        settings = settings.model_copy(
            update={"chain": chain, "gateway": section, "storage": storage}
        )
        relayer = None
        if section.relayer_keystore is not None:
            relayer = load_keystore(section.relayer_keystore.expanduser(), section.relayer_password)
        app = create_app(settings, relayer)
        console.print(
            f"gateway on http://{section.host}:{section.port} (dashboard at /, API docs at /docs)"
            + (f", relayer {relayer.address}" if relayer else ", read-only (no relayer key)")
        )
        level = os.environ.get("LEDGERLEARN_LOG", "warning").lower()
        uvicorn.run(
            app, host=section.host, port=section.port, log_level=level, timeout_graceful_shutdown=5
        )
