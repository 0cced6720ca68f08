"""What the command groups share: consoles, the one-line ``error:``, logging, the options of
every agent command and a few formatting helpers.

Nothing here imports torch or web3: ``ledgerlearn --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ledgerlearn.config import ChainSettings, Settings
from ledgerlearn.errors import ConfigError, LedgerlearnError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledgerlearn.chain.client import LedgerClient

console = Console(soft_wrap=True)
"""Standard output of the agent, dag and gateway commands: one line per event, never wrapped."""

err = Console(stderr=True, soft_wrap=True)
"""Standard error of every command: warnings and the one-line ``error:``."""

report_console = Console()
"""Standard output of the chain and lab commands: tables and reports wrapped to the terminal."""

POLL_S = 0.5
"""Wait between polls of the chain when an agent has nothing to do."""


# --- errors -----------------------------------------------------------------------------------


def fail(message: str) -> NoReturn:
    """End the command with ``error: <message>`` on one line and exit code 1."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=1)


def _describe(exc: ValidationError, what: str, options: Mapping[str, str]) -> str:
    """One line from a pydantic error, naming the command-line options at fault."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        where = options.get(field, field)
        problems.append(f"{where}: {message}" if where else message)
    return f"invalid {what}: " + "; ".join(problems)


@contextmanager
def clear_errors(
    what: str = "settings", options: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Turn the library's errors into ``error: ...`` and exit code 1 (no traceback); an invalid
    ``what`` names the options at fault (``options``: field -> option)."""
    try:
        yield
    except LedgerlearnError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(_describe(exc, what, options or {}))


def setup_logging() -> None:
    """The agents' logs at ``LEDGERLEARN_LOG`` (default WARNING), the libraries' at WARNING."""
    level = os.environ.get("LEDGERLEARN_LOG", "WARNING").upper()
    if not isinstance(logging.getLevelName(level), int):
        level = "WARNING"
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("web3", "urllib3", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def one_of(first: object, second: object, names: str) -> None:
    """Refuse the command line unless exactly one of two options is given."""
    if (first is None) == (second is None):
        raise typer.BadParameter(f"give exactly one of {names}")


# --- the node and the deployment every command talks to ---------------------------------------

DEFAULT_DEPLOYMENT = Path("deployment.json")


def chain_settings(rpc: str | None = None) -> ChainSettings:
    """The chain every command talks to, resolved one way for all of them: ``--rpc``, else
    ``LEDGERLEARN_CHAIN__RPC_URL``, else the local devnet at http://127.0.0.1:8545.

    Commands always talk to a node: the in-process EVM (the settings' default backend, for the
    Python API and ``ledgerlearn simulate``) forgets everything when the command exits, so an
    explicit ``LEDGERLEARN_CHAIN__BACKEND=embedded`` is refused in one line.
    """
    settings = Settings().chain
    if settings.backend == "embedded" and "backend" in settings.model_fields_set:
        raise ConfigError(
            "LEDGERLEARN_CHAIN__BACKEND=embedded: the commands talk to a node (the in-process "
            "EVM forgets everything when a command exits); unset it or set it to rpc"
        )
    update: dict[str, object] = {"backend": "rpc"}
    if rpc is not None:
        update["rpc_url"] = rpc
    return settings.model_copy(update=update)


def deployment_path(option: Path | None = None) -> Path:
    """The deployment file: ``--deployment``, else ``LEDGERLEARN_CHAIN__DEPLOYMENT_FILE``, else
    ``deployment.json`` in the working folder."""
    return (option or Settings().chain.deployment_file or DEFAULT_DEPLOYMENT).expanduser()


def ledger_client(
    deployment: Path | None, rpc: str | None, account: LocalAccount | None = None
) -> LedgerClient:
    """A client of the deployment the options and settings name, checked against the chain
    (read-only without ``account``)."""
    from ledgerlearn.chain.backend import connect
    from ledgerlearn.chain.client import LedgerClient
    from ledgerlearn.chain.deployment import Deployment

    chain = connect(chain_settings(rpc))
    found = Deployment.load(deployment_path(deployment))
    found.check(chain)
    return LedgerClient(chain, found, account)


def signer(keystore: Path | None) -> LocalAccount:
    """The account of ``--keystore``, else of ``LEDGERLEARN_AGENT__KEYSTORE`` (its password from
    the settings or a prompt).

    Raises
    ------
    ConfigError
        Neither names a keystore.
    """
    from ledgerlearn.chain.keys import load_keystore
    from ledgerlearn.config import Settings
    from ledgerlearn.errors import ConfigError

    path = keystore or Settings().agent.keystore
    if path is None:
        raise ConfigError("no keystore: give --keystore (or set LEDGERLEARN_AGENT__KEYSTORE)")
    return load_keystore(path.expanduser())


# --- formatting -------------------------------------------------------------------------------


def count(n: int, noun: str) -> str:
    """``1 round``, ``3 rounds``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def short(digest: bytes) -> str:
    """A digest as a person reads it in a line: ``0x`` and 12 hex digits."""
    return "0x" + digest.hex()[:12]


def default_out(kind: str) -> Path:
    """A fresh report folder: ``reports/<kind>-<date>-<time>``."""
    return Path("reports") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


# --- options of the agent commands --------------------------------------------------------------

KeystoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="Your keystore (default: LEDGERLEARN_AGENT__KEYSTORE); its password comes from "
        "LEDGERLEARN_AGENT__PASSWORD or a prompt."
    ),
]
DeploymentOpt = Annotated[
    Path | None,
    typer.Option(
        "--deployment",
        "-d",
        help="Deployment file (default: LEDGERLEARN_CHAIN__DEPLOYMENT_FILE or deployment.json).",
    ),
]
RpcOpt = Annotated[
    str | None,
    typer.Option(
        "--rpc",
        help="JSON-RPC URL of the node (default: LEDGERLEARN_CHAIN__RPC_URL or "
        "http://127.0.0.1:8545, the local devnet).",
    ),
]
StateDirOpt = Annotated[
    Path | None,
    typer.Option(
        help="Checkpoint and outbox of this agent (default: <agent.state_dir>/<account>)."
    ),
]
IpfsRepoOpt = Annotated[
    Path | None,
    typer.Option(help="IPFS repository of this agent (default: <storage.repo_dir>/<account>)."),
]
IpfsPortOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="TCP port of this agent's IPFS node (default: storage.swarm_port, else the port "
        "chosen at its first start and kept in its repository).",
    ),
]
FetchTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        min=0.1, help="Deadline of one IPFS fetch, seconds (default: storage.get_timeout_s)."
    ),
]
MetricsPortOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        max=65535,
        help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics while the agent runs "
        "(0: a free port, printed; default: no metrics).",
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Report folder (default: reports/...).")]

BundledOpt = Literal["digits", "mnist"]
"""The bundled datasets."""

HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="A .csv file's line 1 names the columns / is data (default: detected; a line "
        "reading 0,1,...,n-1 or 1,...,n must be said).",
    ),
]
"""Whether a CSV data file has a header line (None: detect it)."""

DATASET_HELP = (
    "Bundled dataset: the publisher validates on a seeded share of its training split "
    "(30 % of digits, 5 % of MNIST); providers partition the rest."
)
