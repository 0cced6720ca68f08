"""``ledgerlearn devnet``, ``account`` and ``chain``: the local devnet, participant keys, and
the contracts' deployment, roles and state (an admin's and an operator's commands)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledgerlearn.cli.common import (
    DeploymentOpt,
    RpcOpt,
    chain_settings,
    clear_errors,
    deployment_path,
    fail,
    ledger_client,
)
from ledgerlearn.cli.common import report_console as console
from ledgerlearn.config import Settings
from ledgerlearn.errors import LedgerlearnError

__all__ = ["account_app", "chain_app", "devnet_app"]

devnet_app = typer.Typer(help="The local anvil devnet.", no_args_is_help=True)
account_app = typer.Typer(help="Participant keys (eth-account keystores).", no_args_is_help=True)
chain_app = typer.Typer(help="Deploy and inspect the contracts.", no_args_is_help=True)


@devnet_app.command("up")
def devnet_up(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1.")] = None,
    state_file: Annotated[Path | None, typer.Option(help="Chain state file.")] = None,
    block_time: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds per block; 0: a block per transaction only (then deadlines, counted "
            "in blocks, pass only when someone sends a transaction: rounds may never end).",
        ),
    ] = 1.0,
) -> None:
    """Run the anvil devnet in the foreground until Ctrl-C; its state persists to a file."""
    from ledgerlearn.chain.devnet import Devnet

    settings = Settings().devnet
    updates = {"port": port, "state_file": state_file}
    settings = settings.model_copy(
        update={k: v for k, v in updates.items() if v is not None}
        | {"block_time_s": block_time or None}
    )
    net = Devnet(settings)
    stop = threading.Event()
    try:
        url = net.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        pace = f"a block every {block_time:g} s" if block_time else "a block per transaction"
        console.print(f"devnet at [bold]{url}[/] (chain id {settings.chain_id}, {pace})")
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
    paths: Annotated[list[Path], typer.Argument(help="Keystore file(s) to create, a key in each.")],
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
    """Create a new participant key, encrypted in a keystore file (one per file given)."""
    from ledgerlearn.chain.keys import create_keystore

    for path in paths:  # all or none
        if path.exists():
            fail(f"{path} exists: refusing to overwrite a keystore")
    for path in paths:
        try:
            account = create_keystore(path, password)
        except LedgerlearnError as exc:
            fail(str(exc))
        console.print(f"{account.address}  {path}")


@account_app.command("show")
def account_show(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Keystore file(s) (default: LEDGERLEARN_AGENT__KEYSTORE)."),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also decrypt it (password from LEDGERLEARN_AGENT__PASSWORD or a prompt) and "
            "check the key matches the address.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print the addresses alone, one a line, for scripts: "
            "$(ledgerlearn account show -q FILE...).",
        ),
    ] = False,
) -> None:
    """Print a keystore's address (no password needed, unless --verify)."""
    from ledgerlearn.chain.keys import keystore_address, load_keystore

    with clear_errors():
        default = Settings().agent.keystore
        keystores = paths or ([default] if default is not None else [])
        if not keystores:
            raise typer.BadParameter("give a keystore file (or set LEDGERLEARN_AGENT__KEYSTORE)")
        for keystore in keystores:
            address = keystore_address(keystore.expanduser())
            if verify:
                account = load_keystore(keystore.expanduser())
                if account.address != address:
                    fail(f"{keystore} names {address} but its key is {account.address}")
            if quiet:
                console.print(address)
            else:
                console.print(f"{address}  {keystore}" + ("  (key verified)" if verify else ""))


@chain_app.command("deploy")
def chain_deploy(
    keystore: Annotated[Path, typer.Option(help="The admin's keystore.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Deployment file to write (default: LEDGERLEARN_CHAIN__DEPLOYMENT_FILE or "
            "deployment.json).",
        ),
    ] = None,
    rpc: RpcOpt = None,
    fund: Annotated[bool, typer.Option(help="Fund the admin first (devnet faucet).")] = False,
    admin_delay: Annotated[int, typer.Option(help="Seconds an admin transfer waits.")] = 86400,
    founder: Annotated[
        list[str] | None,
        typer.Option(
            help="A founding organisation, ADDRESS[:ROLE,ROLE] (repeat): deploys a consortium "
            "governed by its council (no admin key); without it, a laboratory deployment whose "
            "admin is the keystore's account."
        ),
    ] = None,
    voting_delay: Annotated[int, typer.Option(min=0, help="Council: blocks before a vote.")] = 1,
    voting_period: Annotated[int, typer.Option(min=1, help="Council: blocks a vote lasts.")] = 20,
    timelock_delay: Annotated[
        int, typer.Option(min=0, help="Council: seconds a passed proposal waits.")
    ] = 60,
    vet_blocks: Annotated[int, typer.Option(min=1, help="Blocks a drawn committee vets.")] = 30,
) -> None:
    """Deploy the contracts: a consortium governed by its founders' council (--founder), or a
    laboratory deployment administered by the keystore's account."""
    from ledgerlearn.addresses import AddressError, parse_address
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
    from ledgerlearn.chain.deployment import deploy
    from ledgerlearn.chain.keys import load_keystore

    founders = []
    for text in founder or []:
        address, _, roles = text.partition(":")
        names = tuple(r.strip().upper() for r in roles.split(",") if r.strip())
        bad = [r for r in names if r not in ("PUBLISHER", "PROVIDER", "VALIDATOR")]
        if bad:
            fail(f"--founder {text}: unknown role {bad[0]!r} (PUBLISHER, PROVIDER or VALIDATOR)")
        try:
            founders.append(Founder(parse_address(address), names))
        except AddressError as exc:
            fail(f"--founder {text}: {exc}")
    path = deployment_path(out)
    with clear_errors():
        admin = load_keystore(keystore)
        chain = connect(chain_settings(rpc))
        if fund:
            chain.fund(admin.address, 10**21)
        if founders:
            settings = CouncilSettings(
                voting_delay_blocks=voting_delay,
                voting_period_blocks=voting_period,
                timelock_delay_s=timelock_delay,
                vet_blocks=vet_blocks,
                admin_transfer_delay_s=admin_delay,
            )
            deployment = deploy_consortium(chain, admin, founders, settings)
        else:
            deployment = deploy(chain, admin, admin_delay_s=admin_delay)
        deployment.save(path)
    console.print(f"Consortium     {deployment.consortium}")
    console.print(f"LearningLedger {deployment.ledger}")
    for name, address in deployment.satellites().items():
        console.print(f"{name:<14} {address}")
    if founders:
        console.print(
            f"a council of {len(founders)} founding organisations governs it; "
            f"{admin.address} holds no role"
        )
    else:
        console.print(
            f"laboratory deployment: {admin.address} is its single admin (for experiments on "
            "one host; a consortium deploys with --founder)"
        )
    console.print(f"written to {path}")


@chain_app.command("grant")
def chain_grant(
    role: Annotated[str, typer.Argument(help="PUBLISHER, PROVIDER or VALIDATOR.")],
    addresses: Annotated[
        list[str], typer.Argument(help="Account(s) to grant the role to (0x...).")
    ],
    keystore: Annotated[Path, typer.Option(help="The admin's keystore.")],
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
    fund: Annotated[bool, typer.Option(help="Also fund the account (devnet faucet).")] = False,
) -> None:
    """Grant a participant role to one or more accounts (admin)."""
    from ledgerlearn.addresses import AddressError, parse_address
    from ledgerlearn.chain.contract_errors import AccessControlUnauthorizedAccount
    from ledgerlearn.chain.keys import load_keystore
    from ledgerlearn.chain.roles import role_id

    name = role.upper()
    try:
        role_id(name)
        members = [parse_address(address) for address in addresses]  # all checked first
    except (AddressError, ValueError) as exc:
        fail(str(exc))
    with clear_errors():
        admin = load_keystore(keystore)
        client = ledger_client(deployment_file, rpc, admin)
        if client.deployment.governed:
            fail(
                "a council governs this consortium: roles change by its vote "
                f"(ledgerlearn council propose grant {name} ADDRESS)"
            )
        for member in members:
            if fund:
                client.chain.fund(member, 10**20)
            try:
                client.grant_role(name, member)
            except AccessControlUnauthorizedAccount:
                fail(
                    f"{admin.address} is not the consortium's admin: roles are granted with "
                    "the keystore that ran `ledgerlearn chain deploy`"
                )
            console.print(f"granted {name} to {member}")


@chain_app.command("info")
def chain_info(deployment_file: DeploymentOpt = None, rpc: RpcOpt = None) -> None:
    """Show the deployment, its members and its tasks."""
    with clear_errors():
        client = ledger_client(deployment_file, rpc)
        members = client.members()
        tasks = [client.task(i) for i in range(1, client.task_count() + 1)]
    deployment = client.deployment
    console.print(f"chain {deployment.chain_id}, block {client.block_number()}")
    table = Table("member", "roles", "IPFS peer", title="members")
    for m in members:
        table.add_row(m.account, ", ".join(sorted(m.roles)) or "(revoked)", m.peer_address)
    console.print(table)
    tasks_table = Table("task", "flow", "publisher", "round", "stage", "closed", title="tasks")
    for t in tasks:
        tasks_table.add_row(
            str(t.task_id),
            t.flow.name.lower(),
            t.publisher,
            str(t.current_round),
            t.stage.name.lower(),
            str(t.closed),
        )
    console.print(tasks_table)
