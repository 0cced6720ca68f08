"""``ledgerlearn gateway``: serve the REST gateway (:mod:`ledgerlearn_gateway`) and its
dashboard with uvicorn; its client commands are ``ledgerlearn api ...``
(:mod:`ledgerlearn.cli.api_client`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ledgerlearn.cli.common import (
    IpfsPortOpt,
    chain_settings,
    clear_errors,
    console,
    deployment_path,
    setup_logging,
)

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
        chain = chain_settings(rpc).model_copy(
            update={"deployment_file": deployment_path(deployment)}
        )
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
        check_port_free(section.host, section.port)
        ready = (
            f"gateway on http://{section.host}:{section.port} (dashboard at /, API docs at /docs)"
            + (f", relayer {relayer.address}" if relayer else ", read-only (no relayer key)")
        )
        app = create_app(settings, relayer, on_ready=lambda: console.print(ready))
        level = os.environ.get("LEDGERLEARN_LOG", "warning").lower()
        try:
            uvicorn.run(
                app,
                host=section.host,
                port=section.port,
                log_level=level,
                timeout_graceful_shutdown=5,
            )
        except SystemExit:
            if app.state.startup_error is not None:
                raise app.state.startup_error from None
            raise


def check_port_free(host: str, port: int) -> None:
    """Refuse a port another process listens on, before the gateway starts its node."""
    import socket

    from ledgerlearn.errors import ConfigError

    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}): another program uses it; "
                "give --port"
            ) from None
