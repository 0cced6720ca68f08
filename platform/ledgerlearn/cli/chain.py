"""``ledgerlearn devnet``, ``account`` and ``chain``: the local devnet, participant keys, and
the contracts' deployment, roles and state (an admin's and an operator's commands)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledgerlearn.cli.common import fail
from ledgerlearn.cli.common import report_console as console
from ledgerlearn.config import ChainSettings, Settings
from ledgerlearn.errors import LedgerlearnError

__all__ = ["account_app", "chain_app", "devnet_app"]

devnet_app = typer.Typer(help="The local anvil devnet.", no_args_is_help=True)
account_app = typer.Typer(help="Participant keys (eth-account keystores).", no_args_is_help=True)
chain_app = typer.Typer(help="Deploy and inspect the contracts.", no_args_is_help=True)

# an operator's options: a deployment file in the working folder, the chain of the settings
DeploymentOpt = Annotated[
    Path, typer.Option("--deployment", "-d", help="Deployment file (contract addresses).")
]
RpcOpt = Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL (default: settings).")]


@devnet_app.command("up")
def devnet_up(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1.")] = None,
    state_file: Annotated[Path | None, typer.Option(help="Chain state file.")] = None,
    block_time: Annotated[
        float | None, typer.Option(help="Seconds per block (default: a block per tx).")
    ] = None,
) -> None:
    """Run the anvil devnet in the foreground until Ctrl-C; its state persists to a file."""
    from ledgerlearn.chain.devnet import Devnet

    settings = Settings().devnet
    updates = {"port": port, "state_file": state_file, "block_time_s": block_time}
    settings = settings.model_copy(update={k: v for k, v in updates.items() if v is not None})
    net = Devnet(settings)
    stop = threading.Event()
    try:
        url = net.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        console.print(f"devnet at [bold]{url}[/] (chain id {settings.chain_id})")
        console.print(f"state file: {settings.state_file}; Ctrl-C stops it and saves the state")
        while not stop.wait(0.5):
            if net.process is None or net.process.poll() is not None:
                raise typer.Exit(code=1)
    except LedgerlearnError as exc:
        fail(str(exc))
    finally:
        net.stop()


@account_app.command("new")
def account_new(
    path: Annotated[Path, typer.Argument(help="Keystore file to create.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            confirmation_prompt=True,
            hide_input=True,
            envvar="LEDGERLEARN_AGENT__PASSWORD",
            help="Keystore password (or LEDGERLEARN_AGENT__PASSWORD).",
        ),
    ],
) -> None:
    """Create a new participant key, encrypted in a keystore file."""
    from ledgerlearn.chain.keys import create_keystore

    try:
        account = create_keystore(path, password)
    except LedgerlearnError as exc:
        fail(str(exc))
    console.print(f"{account.address}  {path}")


def _chain_settings(rpc: str | None) -> ChainSettings:
    settings = Settings().chain
    if rpc is not None:
        settings = settings.model_copy(update={"backend": "rpc", "rpc_url": rpc})
    return settings


@chain_app.command("deploy")
def chain_deploy(
    keystore: Annotated[Path, typer.Option(help="The admin's keystore.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Deployment file to write.")] = Path(
        "deployment.json"
    ),
    rpc: RpcOpt = None,
    fund: Annotated[bool, typer.Option(help="Fund the admin first (devnet faucet).")] = False,
    admin_delay: Annotated[int, typer.Option(help="Seconds an admin transfer waits.")] = 86400,
) -> None:
    """Deploy the Consortium and the LearningLedger; the keystore's account becomes admin."""
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.deployment import deploy
    from ledgerlearn.chain.keys import load_keystore

    try:
        admin = load_keystore(keystore)
        chain = connect(_chain_settings(rpc))
        if chain.kind == "embedded":
            raise typer.BadParameter("deploying to the in-process EVM is lost on exit: give --rpc")
        if fund:
            chain.fund(admin.address, 10**21)
        deployment = deploy(chain, admin, admin_delay_s=admin_delay)
        deployment.save(out)
    except LedgerlearnError as exc:
        fail(str(exc))
    console.print(f"Consortium     {deployment.consortium}")
    console.print(f"LearningLedger {deployment.ledger}")
    console.print(f"written to {out}")


@chain_app.command("grant")
def chain_grant(
    role: Annotated[str, typer.Argument(help="PUBLISHER, PROVIDER or VALIDATOR.")],
    address: Annotated[str, typer.Argument(help="Account to grant the role to.")],
    keystore: Annotated[Path, typer.Option(help="The admin's keystore.")],
    deployment_file: DeploymentOpt = Path("deployment.json"),
    rpc: RpcOpt = None,
    fund: Annotated[bool, typer.Option(help="Also fund the account (devnet faucet).")] = False,
) -> None:
    """Grant a participant role (admin)."""
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.deployment import Deployment
    from ledgerlearn.chain.keys import load_keystore

    try:
        admin = load_keystore(keystore)
        chain = connect(_chain_settings(rpc))
        deployment = Deployment.load(deployment_file)
        deployment.check(chain)
        if fund:
            chain.fund(address, 10**20)
        LedgerClient(chain, deployment, admin).grant_role(role.upper(), address)
    except (LedgerlearnError, ValueError) as exc:
        fail(str(exc))
    console.print(f"granted {role.upper()} to {address}")


@chain_app.command("info")
def chain_info(
    deployment_file: DeploymentOpt = Path("deployment.json"), rpc: RpcOpt = None
) -> None:
    """Show the deployment, its members and its tasks."""
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.deployment import Deployment

    try:
        chain = connect(_chain_settings(rpc))
        deployment = Deployment.load(deployment_file)
        deployment.check(chain)
        client = LedgerClient(chain, deployment)
        members = client.members()
        tasks = [client.task(i) for i in range(1, client.task_count() + 1)]
    except LedgerlearnError as exc:
        fail(str(exc))
    console.print(f"chain {deployment.chain_id}, block {client.block_number()}")
    table = Table("member", "roles", "IPFS peer", title="members")
    for m in members:
        table.add_row(m.account, ", ".join(sorted(m.roles)) or "(revoked)", m.peer_address)
    console.print(table)
    tasks_table = Table("task", "flow", "publisher", "round", "closed", title="tasks")
    for t in tasks:
        tasks_table.add_row(
            str(t.task_id), t.flow.name.lower(), t.publisher, str(t.current_round), str(t.closed)
        )
    console.print(tasks_table)
