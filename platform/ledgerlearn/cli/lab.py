"""``ledgerlearn demo`` and ``simulate``: the demo's task (5 validators, 10 providers of which 3
are Byzantine) in either flow, run for real (a devnet, a process per agent) or simulated in this
process, then its report (``LAB_FLOWS[flow]`` prints it and writes the folder)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ledgerlearn.cli.common import OutOpt, default_out, fail
from ledgerlearn.cli.common import report_console as console
from ledgerlearn.errors import LedgerlearnError

if TYPE_CHECKING:
    from ledgerlearn.lab.results import RunResult
    from ledgerlearn.lab.simulate import RunConfig

__all__ = ["demo", "simulate_command"]


def _report(
    result: RunResult,
    out: Path,
    title: str,
    config: RunConfig,
    baseline: RunResult | None = None,
) -> None:
    """Print the run (and its comparison with ``baseline``) and write its report folder."""
    from ledgerlearn.lab.registry import LAB_FLOWS

    lab = LAB_FLOWS[result.history.flow]
    lab.show(console, result, baseline)
    config_json = config.model_dump(mode="json")
    path = lab.write(result, out, title=title, config=config_json, baseline=baseline)
    console.print(f"report: [bold]{path}[/]")


def _preset(flow: str, quick: bool, *, simulated: bool = False) -> RunConfig:
    """The demo's task in the flow named ``flow``. (The one table of the CLI keyed by the
    flow: its place is the lab's registry, ``LAB_FLOWS``, which has no preset yet.)"""
    from ledgerlearn.core.rules import Flow
    from ledgerlearn.flows.registry import FLOW_NAMES
    from ledgerlearn.lab.simulate import RunConfig

    presets = {Flow.FEDERATION: RunConfig.preset, Flow.DAG: RunConfig.dag_preset}
    return presets[FLOW_NAMES[flow]](quick=quick, simulated=simulated)


def _clean_baseline(quick: bool, flow: str = "federation") -> RunResult:
    """The same task without its Byzantine providers, simulated in this process."""
    from ledgerlearn.lab.simulate import simulate

    with console.status("baseline: the same task without the Byzantine providers"):
        config = _preset(flow, quick, simulated=True)
        return simulate(config.without_byzantine())


QuickOpt = Annotated[
    bool, typer.Option("--quick", help="Digits and 3 rounds (about 2 minutes) instead of MNIST.")
]
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
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="The dashboard's port (default 8000, else a free one)."
        ),
    ] = None,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Serve the gateway and its dashboard on the demo's chain while it runs.",
        ),
    ] = True,
    linger: Annotated[
        bool | None,
        typer.Option(
            "--linger/--no-linger",
            help="After the report, keep the devnet, the agents and the dashboard serving the "
            "finished task until Ctrl-C (default: when run in a terminal).",
        ),
    ] = None,
    consortium: Annotated[
        bool | None,
        typer.Option(
            "--consortium/--laboratory",
            help="Run as a consortium governed by a council (default for federation): members "
            "admitted by vote, the committee drawn from a pool and vetting the task, a second "
            "task rejected at vetting, scores by commit-reveal, a reward split at close. "
            "--laboratory: one admin key grants the roles, the publisher names the committee.",
        ),
    ] = None,
    hosts: Annotated[
        bool,
        typer.Option(
            "--hosts",
            help="Run the devnet and every organisation's agent on a test host of its own "
            "(Linux network namespaces on a bridge, real addresses, a private IPFS swarm; "
            "needs root).",
        ),
    ] = False,
) -> None:
    """The main job: a full task on a devnet, every agent a separate process, then a report.

    5 validators, 10 providers of which 3 are Byzantine (sign flipping, label flipping, free
    riding) on non-IID data; each agent with its own key and embedded IPFS node. As a
    consortium (the default for federation), a sixth validator that lies joins the pool the
    committee of 5 is drawn from, and the report adds the council's decisions, the vetting
    votes, the reputation table and who earned what of the reward. With
    ``--flow dag`` the providers build a DAG at their own pace (two of them three times
    slower) and the report draws it.
    """
    import contextlib
    import logging
    import sys

    from ledgerlearn.cli.dashboard import DemoDashboard, wait_for_ctrl_c
    from ledgerlearn.lab.demo import run_demo
    from ledgerlearn.lab.hosts import HostNetwork

    logging.basicConfig(level=logging.WARNING)
    config = _preset(flow, quick)
    governed = flow == "federation" if consortium is None else consortium
    if governed:
        config = config.as_consortium()
    out = out or default_out("demo")
    kind = "consortium" if config.consortium else "laboratory"
    spread = ", one test host per organisation" if hosts else ""
    title = f"ledgerlearn demo ({'quick: digits' if quick else 'MNIST'}, {flow}, {kind}{spread})"
    linger = sys.stdin.isatty() if linger is None else linger
    board = DemoDashboard(out, config.dataset, port) if dashboard else None
    if board is not None:
        console.print(f"dashboard: [bold]{board.url}[/] (once the contracts are deployed)")

    def report(result: RunResult) -> None:
        _report(result, out, title, config, _clean_baseline(quick, flow) if baseline else None)

    try:
        with contextlib.ExitStack() as stack, console.status("starting the devnet") as status:
            network = stack.enter_context(HostNetwork()) if hosts else None

            def progress(message: str) -> None:
                status.update(message)
                console.log(message)

            def finished(result: RunResult) -> None:  # the devnet and the agents still run
                status.stop()
                report(result)
                where = f"the dashboard at {board.url}" if board is not None else "the devnet"
                wait_for_ctrl_c(f"serving the finished task: {where}")

            result = run_demo(
                config,
                out,
                progress=progress,
                background_load=background_load,
                on_chain_ready=board.start if board is not None else None,
                on_finished=finished if linger else None,
                on_teardown=board.stop if board is not None else None,
                hosts=network,
            )
    except LedgerlearnError as exc:
        fail(str(exc))
    finally:
        if board is not None:
            board.stop()
    if not linger:
        report(result)


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
    out = out or default_out("simulate")
    with Progress(console=console) as progress:
        bar = progress.add_task("blocks", total=None)
        result = simulate(config, on_block=lambda block, _: progress.update(bar, completed=block))
    clean = _clean_baseline(quick, flow) if baseline else None
    _report(result, out, f"ledgerlearn simulation ({config.dataset}, {flow})", config, clean)
