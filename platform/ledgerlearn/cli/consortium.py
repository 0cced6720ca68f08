"""``ledgerlearn consortium``: set a consortium up across hosts, two commands per organisation.

``init`` (the founders, once): deploy the contracts governed by the founders' council, make the
private IPFS swarm's key, and write one bundle per founding organisation (see
:mod:`ledgerlearn.agents.bundle`). ``join BUNDLE`` (each organisation, on its own host): check
the bundle against the chain it reaches (chain id, genesis, every contract's code), check the
organisation's key is the bundle's account, register the host's IPFS address and encryption
key on chain, write the settings its agents use, and say what the organisation can do next.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledgerlearn.cli.common import RpcOpt, clear_errors, fail
from ledgerlearn.cli.common import report_console as console

consortium_app = typer.Typer(
    help="Set a consortium up across hosts: init (the founders, once), join (each organisation).",
    no_args_is_help=True,
)

ROLES = ("PUBLISHER", "PROVIDER", "VALIDATOR")
ENV_FILE = "ledgerlearn.env"


def _organisation(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``NAME=ADDRESS:ROLE,ROLE`` -> (name, address, roles)."""
    from ledgerlearn.addresses import AddressError, parse_address

    name, sep, rest = text.partition("=")
    address, _, roles = rest.partition(":")
    names = tuple(r.strip().upper() for r in roles.split(",") if r.strip())
    if not sep or not name or not names:
        fail(f"--org {text!r}: give NAME=ADDRESS:ROLE[,ROLE] (roles: {', '.join(ROLES)})")
    bad = [r for r in names if r not in ROLES]
    if bad:
        fail(f"--org {text}: unknown role {bad[0]!r} ({', '.join(ROLES)})")
    try:
        return name, parse_address(address), names
    except AddressError as exc:
        fail(f"--org {text}: {exc}")


@consortium_app.command("init")
def init(
    org: Annotated[
        list[str],
        typer.Option(
            help="A founding organisation, NAME=ADDRESS:ROLE[,ROLE] (repeat; ADDRESS from its "
            "own `ledgerlearn account new`)."
        ),
    ],
    keystore: Annotated[Path, typer.Option(help="The deployer's keystore (holds no power after).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the bundles.")] = Path(
        "bundles"
    ),
    rpc: RpcOpt = None,
    public_rpc: Annotated[
        str | None,
        typer.Option(help="The RPC URL the organisations reach (default: the one used here)."),
    ] = None,
    voting_period: Annotated[int, typer.Option(min=1, help="Council: blocks a vote lasts.")] = 20,
    timelock_delay: Annotated[
        int, typer.Option(min=0, help="Council: seconds a passed proposal waits.")
    ] = 60,
    vet_blocks: Annotated[int, typer.Option(min=1, help="Blocks a drawn committee vets.")] = 30,
) -> None:
    """Deploy a consortium for its founding organisations and write one bundle for each."""
    from ledgerlearn.agents.bundle import Bundle, code_hashes, write_bundle
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
    from ledgerlearn.chain.keys import load_keystore
    from ledgerlearn.cli.common import chain_settings
    from ledgerlearn.storage.swarm_key import SwarmKey

    founders = [_organisation(text) for text in org]
    names = [name for name, _, _ in founders]
    if len(set(names)) != len(names) or len({a for _, a, _ in founders}) != len(founders):
        fail("--org: each organisation once, each with an account of its own")
    if out.exists() and not out.is_dir():
        fail(f"{out} is a file: bundles are written to a new folder")
    if out.exists() and any(out.iterdir()):
        fail(f"{out} is not empty: bundles are written to a new folder")
    with clear_errors():
        deployer = load_keystore(keystore)
        settings = chain_settings(rpc)
        chain = connect(settings)
        council = CouncilSettings(
            voting_period_blocks=voting_period,
            timelock_delay_s=timelock_delay,
            vet_blocks=vet_blocks,
        )
        key = SwarmKey.generate()
        deployment = deploy_consortium(
            chain,
            deployer,
            [Founder(a, r) for _, a, r in founders],
            council,
            swarm_key_hash=key.key_hash,
        )
        hashes = code_hashes(chain, deployment)
        document = {k: v for k, v in vars(deployment).items() if v is not None}
        table = Table("organisation", "account", "roles", "bundle")
        for name, address, roles in founders:
            bundle = Bundle(
                organisation=name,
                account=address,
                roles=roles,
                rpc_url=public_rpc or settings.rpc_url,
                deployment=document,
                code_hashes=hashes,
            )
            write_bundle(out / name, bundle, key)
            table.add_row(name, address, ", ".join(roles), str(out / name))
    console.print(
        f"consortium deployed on chain {deployment.chain_id}: LearningLedger "
        f"{deployment.ledger}, council {deployment.council}; {deployer.address} holds no role"
    )
    console.print(f"private swarm key {key.fingerprint} (a secret: in each bundle, mode 0600)")
    console.print(table)
    console.print(
        "give each organisation its own folder (nothing of one is in another's); each runs "
        "`ledgerlearn consortium join FOLDER --keystore ITS_KEY` on its host"
    )


@consortium_app.command("join")
def join(
    bundle_dir: Annotated[Path, typer.Argument(help="The organisation's bundle folder.")],
    keystore: Annotated[Path, typer.Option(help="The organisation's keystore.")],
    home: Annotated[
        Path | None,
        typer.Option(
            help="Where the organisation's agents keep their files (default: the bundle folder)."
        ),
    ] = None,
    rpc: Annotated[
        str | None,
        typer.Option(help="The chain node's URL from this host (default: the bundle's)."),
    ] = None,
    ipfs_host: Annotated[
        str, typer.Option(help="This host's address the other members reach its node at.")
    ] = "127.0.0.1",
    ipfs_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Its node's port (default: kept).")
    ] = None,
) -> None:
    """Join a consortium from this host: check the bundle and the chain, register this host's
    IPFS node and encryption key, write the agents' settings."""
    from ledgerlearn.agents.bundle import check_bundle, read_bundle
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.keys import load_keystore
    from ledgerlearn.config import ChainSettings, StorageSettings
    from ledgerlearn.storage import IpfsNode

    folder = (home or bundle_dir).expanduser().resolve()
    with clear_errors():
        bundle, key = read_bundle(bundle_dir)
        account = load_keystore(keystore)
        if account.address != bundle.account:
            fail(
                f"{keystore} is {account.address}, but the bundle of {bundle.organisation} is "
                f"for {bundle.account}"
            )
        url = rpc or bundle.rpc_url
        chain = connect(ChainSettings(backend="rpc", rpc_url=url))
        deployment = check_bundle(chain, bundle)
        client = LedgerClient(chain, deployment, account)
        missing = [r for r in bundle.roles if not client.has_role(r, account.address)]
        if missing:
            fail(f"{account.address} does not hold {', '.join(missing)} on this consortium")
        folder.mkdir(parents=True, exist_ok=True)
        deployment.save(folder / "deployment.json")
        key_file = folder / "swarm.key"
        key.write(key_file)  # the bundle's, also over a key of an earlier bundle (a new key)
        repo_root = folder / "ipfs"
        storage = StorageSettings(
            repo_dir=repo_root / account.address,  # where the agent commands look for it
            swarm_host=ipfs_host,
            swarm_port=ipfs_port,
            swarm_key_file=key_file,
        )
        with IpfsNode(storage, handle_signals=False) as node:
            address = node.multiaddrs[0]
        if client.member(account.address).peer_address != address:
            client.register_member(address)  # the account's encryption key, with its proof
        environment = {
            "LEDGERLEARN_CHAIN__BACKEND": "rpc",
            "LEDGERLEARN_CHAIN__RPC_URL": url,
            "LEDGERLEARN_CHAIN__DEPLOYMENT_FILE": str(folder / "deployment.json"),
            "LEDGERLEARN_STORAGE__REPO_DIR": str(repo_root),
            "LEDGERLEARN_STORAGE__SWARM_HOST": ipfs_host,
            "LEDGERLEARN_STORAGE__SWARM_KEY_FILE": str(key_file),
            "LEDGERLEARN_AGENT__KEYSTORE": str(keystore.expanduser().resolve()),
            "LEDGERLEARN_AGENT__STATE_DIR": str(folder / "state"),
        }
        if ipfs_port is not None:
            environment["LEDGERLEARN_STORAGE__SWARM_PORT"] = str(ipfs_port)
        lines = [f"{k}={shlex.quote(v)}" for k, v in environment.items()]
        (folder / ENV_FILE).write_text("\n".join(lines) + "\n")
    console.print(
        f"{bundle.organisation} ({account.address}) joined the consortium on chain "
        f"{deployment.chain_id}: contracts checked (chain id, genesis, code of "
        f"{len(bundle.code_hashes)} contracts), IPFS node registered at {address} in the "
        f"private swarm {key.fingerprint}"
    )
    console.print(f"settings for its agents: {folder / ENV_FILE} (load: set -a; . FILE; set +a)")
    steps = {
        "VALIDATOR": "join the validators' pool and vet and score drawn tasks: "
        "`ledgerlearn validator run`",
        "PROVIDER": "train on your data: `ledgerlearn provider run TASK --data FILE`",
        "PUBLISHER": "publish a task to the committee the pool draws: "
        "`ledgerlearn publish --draw-size N ...`",
    }
    for role in bundle.roles:
        console.print(f"  {role.lower()}: {steps[role]}")
    console.print("  every member: `ledgerlearn council status`, `ledgerlearn council vote ...`")


def _joined_settings(home: Path) -> dict[str, str]:
    """The agents' settings ``join`` wrote in ``home``."""
    path = home / ENV_FILE
    try:
        text = path.read_text()
    except OSError:
        fail(f"{home} is not a joined organisation's folder (no {ENV_FILE}: run consortium join)")
    settings = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            settings[name] = shlex.split(value)[0] if value else ""
    needed = ("RPC_URL", "DEPLOYMENT_FILE", "SWARM_KEY_FILE")
    missing = [n for n in needed if not any(k.endswith("__" + n) for k in settings)]
    if missing:
        fail(f"{path} names no {', '.join(missing)}: run consortium join again")
    return settings


@consortium_app.command("bundle")
def bundle(
    organisation: Annotated[str, typer.Argument(help="The admitted organisation's name.")],
    account: Annotated[str, typer.Option(help="Its account (admitted by the council).")],
    home: Annotated[
        Path, typer.Option(help="This organisation's folder, as consortium join wrote it.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the bundle.")] = Path(
        "bundles"
    ),
    public_rpc: Annotated[
        str | None,
        typer.Option(help="The RPC URL the organisation reaches (default: this one's)."),
    ] = None,
) -> None:
    """Write the bundle of an organisation the council admitted, from a member's host: the
    consortium's deployment, the code of its contracts, and the current swarm key."""
    from ledgerlearn.addresses import AddressError, parse_address
    from ledgerlearn.agents.bundle import Bundle, code_hashes, write_bundle
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.deployment import Deployment
    from ledgerlearn.chain.swarm_keys import SwarmKeys
    from ledgerlearn.config import ChainSettings
    from ledgerlearn.storage.swarm_key import SwarmKey

    try:
        address = parse_address(account)
    except AddressError as exc:
        fail(f"--account: {exc}")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", organisation):
        fail(f"{organisation!r}: a name of letters, digits, '.', '_' and '-' (at most 64)")
    folder = out / organisation
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        fail(f"{folder} exists: a bundle is written to a new folder")
    settings = _joined_settings(home.expanduser().resolve())
    with clear_errors():
        url = settings["LEDGERLEARN_CHAIN__RPC_URL"]
        chain = connect(ChainSettings(backend="rpc", rpc_url=url))
        deployment = Deployment.load(Path(settings["LEDGERLEARN_CHAIN__DEPLOYMENT_FILE"]))
        deployment.check(chain)
        client = LedgerClient(chain, deployment)
        roles = tuple(r for r in ROLES if client.has_role(r, address))
        if not roles:
            fail(
                f"{address} holds no role on this consortium: the council admits it first "
                f"(`ledgerlearn council propose admit {address} --role ...`, votes, execute)"
            )
        key = SwarmKey.load(Path(settings["LEDGERLEARN_STORAGE__SWARM_KEY_FILE"]))
        epoch = 0
        if deployment.swarm_keys is not None:
            keys = SwarmKeys(client)
            epoch = keys.epoch()
            current = keys.key_hash(epoch)
            if current != bytes(32) and current != key.key_hash:
                fail(
                    f"the swarm key in {home} is not the consortium's current one (epoch "
                    f"{epoch}): start one of this organisation's agents so it adopts it, then "
                    "run this again"
                )
        document = {k: v for k, v in vars(deployment).items() if v is not None}
        made = Bundle(
            organisation=organisation,
            account=address,
            roles=roles,
            rpc_url=public_rpc or url,
            deployment=document,
            code_hashes=code_hashes(chain, deployment),
        )
        write_bundle(folder, made, key)
    console.print(
        f"bundle of {organisation} ({address}: {', '.join(r.lower() for r in roles)}) written "
        f"to {folder}, with the swarm key of epoch {epoch} ({key.fingerprint}): a secret, hand "
        f"it over privately; on its host: `ledgerlearn consortium join {folder} --keystore ...`"
    )
