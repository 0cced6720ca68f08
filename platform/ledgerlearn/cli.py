"""The ``ledgerlearn`` command."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from ledgerlearn import cli_agents
from ledgerlearn.cli_dag import dag_app
from ledgerlearn.config import ChainSettings, Settings
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn_gateway.cli import api_app, gateway

if TYPE_CHECKING:
    from ledgerlearn.lab.results import RunResult
    from ledgerlearn.lab.robustness import CellResult
    from ledgerlearn.lab.simulate import RunConfig

app = typer.Typer(
    name="ledgerlearn",
    help="Permissioned-ledger coordinated learning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
devnet_app = typer.Typer(help="The local anvil devnet.", no_args_is_help=True)
account_app = typer.Typer(help="Participant keys (eth-account keystores).", no_args_is_help=True)
chain_app = typer.Typer(help="Deploy and inspect the contracts.", no_args_is_help=True)
app.add_typer(devnet_app, name="devnet")
app.add_typer(account_app, name="account")
app.add_typer(chain_app, name="chain")
app.command("publish")(cli_agents.publish)
app.add_typer(cli_agents.provider_app, name="provider")
app.add_typer(cli_agents.validator_app, name="validator")
app.add_typer(dag_app, name="dag")
app.command("gateway")(gateway)
app.add_typer(api_app, name="api")

console = Console()
err = Console(stderr=True)

DeploymentOpt = Annotated[
    Path, typer.Option("--deployment", "-d", help="Deployment file (contract addresses).")
]
RpcOpt = Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL (default: settings).")]


def _fail(exc: LedgerlearnError) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=1)


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
        raise _fail(exc) from exc
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
        raise _fail(exc) from exc
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
        raise _fail(exc) from exc
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
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
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
        raise _fail(exc) from exc
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


def _report(
    result: RunResult,
    out: Path,
    title: str,
    config: RunConfig,
    baseline: RunResult | None = None,
) -> None:
    from ledgerlearn.lab.registry import LAB_FLOWS

    lab = LAB_FLOWS[result.history.flow]
    lab.show(console, result, baseline)
    config_json = config.model_dump(mode="json")
    path = lab.write(result, out, title=title, config=config_json, baseline=baseline)
    console.print(f"report: [bold]{path}[/]")


def _preset(flow: str, quick: bool, *, simulated: bool = False) -> RunConfig:
    from ledgerlearn.lab.simulate import RunConfig

    if flow == "dag":
        return RunConfig.dag_preset(quick=quick, simulated=simulated)
    return RunConfig.preset(quick=quick, simulated=simulated)


def _clean_baseline(quick: bool, flow: str = "federation") -> RunResult:
    """The same task without its Byzantine providers, simulated in this process."""
    from ledgerlearn.lab.simulate import simulate

    with console.status("baseline: the same task without the Byzantine providers"):
        config = _preset(flow, quick, simulated=True)
        return simulate(config.without_byzantine())


def _default_out(kind: str) -> Path:
    import time

    return Path("reports") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


QuickOpt = Annotated[
    bool, typer.Option("--quick", help="Digits and 3 rounds (about 2 minutes) instead of MNIST.")
]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Report folder (default: reports/...).")]
BaselineOpt = Annotated[
    bool,
    typer.Option(
        "--baseline",
        help="Also simulate the task without its Byzantine providers (each honest provider "
        "on the same data) and compare the final accuracy.",
    ),
]


FlowOpt = Annotated[
    Literal["federation", "dag"],
    typer.Option(help="federation (synchronous rounds) or dag (asynchronous tangle)."),
]


@app.command("demo")
def demo(
    quick: QuickOpt = False,
    out: OutOpt = None,
    flow: FlowOpt = "federation",
    baseline: BaselineOpt = False,
    background_load: Annotated[
        int,
        typer.Option(
            min=0,
            help="Keep this many cores busy with a CPU hog (stress-ng when installed, else "
            "Python busy loops) while the agents run: the demo on a loaded machine.",
        ),
    ] = 0,
) -> None:
    """The main job: a full task on a devnet, every agent a separate process, then a report.

    5 validators, 10 providers of which 3 are Byzantine (sign flipping, label flipping, free
    riding) on non-IID data; each agent with its own key and embedded IPFS node. With
    ``--flow dag`` the providers build a DAG at their own pace (two of them three times
    slower) and the report draws it.
    """
    import logging

    from ledgerlearn.lab.demo import run_demo

    logging.basicConfig(level=logging.WARNING)
    config = _preset(flow, quick)
    out = out or _default_out("demo")
    try:
        with console.status("starting the devnet") as status:

            def progress(message: str) -> None:
                status.update(message)
                console.log(message)

            result = run_demo(config, out, progress=progress, background_load=background_load)
    except LedgerlearnError as exc:
        raise _fail(exc) from exc
    title = f"ledgerlearn demo ({'quick: digits' if quick else 'MNIST'}, {flow})"
    _report(result, out, title, config, _clean_baseline(quick, flow) if baseline else None)


@app.command("simulate")
def simulate_command(
    quick: QuickOpt = False,
    out: OutOpt = None,
    baseline: BaselineOpt = False,
    flow: FlowOpt = "federation",
) -> None:
    """The demo's task with every agent in this process on the in-process EVM (fast)."""
    import logging

    from rich.progress import Progress

    from ledgerlearn.lab.simulate import simulate

    logging.basicConfig(level=logging.WARNING)
    config = _preset(flow, quick, simulated=True)
    out = out or _default_out("simulate")
    with Progress(console=console) as progress:
        bar = progress.add_task("blocks", total=None)
        result = simulate(config, on_block=lambda block, _: progress.update(bar, completed=block))
    clean = _clean_baseline(quick, flow) if baseline else None
    _report(result, out, f"ledgerlearn simulation ({config.dataset}, {flow})", config, clean)


bench_app = typer.Typer(help="Benchmarks that write reports.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


def _csv(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


@bench_app.command("robustness")
def bench_robustness(
    quick: Annotated[
        bool, typer.Option("--quick", help="3 rules x 3 attacks, f = 3, IID, no filtering.")
    ] = False,
    dataset: Annotated[str, typer.Option(help="digits or mnist.")] = "digits",
    rules: Annotated[str | None, typer.Option(help="Comma-separated rules.")] = None,
    attacks: Annotated[str | None, typer.Option(help="Comma-separated attacks.")] = None,
    byzantine: Annotated[
        str | None, typer.Option("--f", help="Comma-separated Byzantine counts (of 10).")
    ] = None,
    splits: Annotated[str | None, typer.Option(help="iid,dirichlet")] = None,
    filtering: Annotated[
        str | None, typer.Option(help="on,off: with / without the committee's filtering.")
    ] = None,
    rounds: Annotated[int | None, typer.Option(help="Rounds per task.")] = None,
    out: OutOpt = None,
) -> None:
    """Rules x attacks x Byzantine counts x splits through the real flow (in-process EVM):
    a canary first, then CSV, a markdown table of worst cases and heatmaps. Run again with
    the same --out and settings to resume an interrupted grid."""
    import logging

    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ledgerlearn.lab.robustness import Journal, RobustnessGrid, run_grid, write_outputs

    logging.basicConfig(level=logging.WARNING)
    grid = RobustnessGrid.quick() if quick else RobustnessGrid()
    updates: dict[str, object] = {"dataset": dataset}
    for key, value in (
        ("rules", _csv(rules)),
        ("attacks", _csv(attacks)),
        ("splits", _csv(splits)),
    ):
        if value is not None:
            updates[key] = value
    if byzantine is not None:
        updates["num_byzantine"] = [int(v) for v in _csv(byzantine) or []]
    if filtering is not None:
        updates["filtering"] = [v == "on" for v in _csv(filtering) or []]
    if rounds is not None:
        updates["rounds"] = rounds
    try:
        grid = RobustnessGrid.model_validate({**grid.model_dump(), **updates})
        grid.check()
    except (ValidationError, ValueError, LedgerlearnError) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    out = out or _default_out("robustness")
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("canary", total=None)

        def on_cell(row: CellResult, done: int, total: int) -> None:
            label = f"{row.split} f={row.num_byzantine} {row.rule} / {row.attack}"
            progress.update(bar, completed=done, total=total, description=label)

        try:
            rows = run_grid(grid, on_cell, Journal(out, grid))
        except LedgerlearnError as exc:
            raise _fail(exc) from exc
    path = write_outputs(grid, rows, out)
    console.print(path.read_text())
    console.print(f"report: [bold]{path}[/]")


@bench_app.command("flows")
def bench_flows(
    quick: Annotated[
        bool, typer.Option("--quick", help="A 70-s budget instead of 150 s (a few minutes).")
    ] = False,
    scenarios: Annotated[
        str | None, typer.Option(help="Comma-separated: clean, byzantine, stragglers.")
    ] = None,
    budget: Annotated[
        int | None, typer.Option(min=10, help="Wall-time budget in modelled seconds.")
    ] = None,
    out: OutOpt = None,
) -> None:
    """Centralized vs federation vs DAG on one task, data split and budget: accuracy over
    (modelled) wall time, clean, with 3 of 10 Byzantine providers and with 5x-slower
    stragglers. Writes CSV, a markdown table with the targets, and PNGs."""
    import logging

    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ledgerlearn.lab.flows_bench import FlowsBench, run_bench, write_outputs

    logging.basicConfig(level=logging.ERROR)
    bench = FlowsBench.quick() if quick else FlowsBench()
    updates: dict[str, object] = {}
    if scenarios is not None:
        updates["scenarios"] = _csv(scenarios)
    if budget is not None:
        updates["budget_ticks"] = budget
    try:
        bench = FlowsBench.model_validate({**bench.model_dump(), **updates})
    except ValidationError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=1) from exc
    out = out or _default_out("flows")
    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        runs_bar = progress.add_task("runs", total=None)
        ticks_bar = progress.add_task("ticks", total=bench.budget_ticks)

        def on_run(scenario: str, flow: str, done: int, total: int) -> None:
            progress.update(
                runs_bar, completed=done, total=total, description=f"{scenario}: {flow}"
            )
            progress.reset(ticks_bar, total=bench.budget_ticks)

        def on_tick(tick: int) -> None:
            progress.update(ticks_bar, completed=tick + 1)

        try:
            runs = run_bench(bench, on_run, on_tick)
        except LedgerlearnError as exc:
            raise _fail(exc) from exc
        progress.update(runs_bar, completed=len(runs))
    path = write_outputs(bench, runs, out)
    console.print(path.read_text())
    console.print(f"report: [bold]{path}[/]")


if __name__ == "__main__":
    app()
