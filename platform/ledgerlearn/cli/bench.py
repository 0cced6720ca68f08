"""``ledgerlearn bench``: benchmarks that write reports (the robustness grid, and the flows
compared on one task)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ledgerlearn.cli.common import OutOpt, default_out, fail
from ledgerlearn.cli.common import report_console as console
from ledgerlearn.errors import LedgerlearnError

if TYPE_CHECKING:
    from ledgerlearn.lab.robustness import CellResult

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Benchmarks that write reports.", no_args_is_help=True)


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
        fail(str(exc))
    out = out or default_out("robustness")
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
            fail(str(exc))
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
        fail(str(exc))
    out = out or default_out("flows")
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
            fail(str(exc))
        progress.update(runs_bar, completed=len(runs))
    path = write_outputs(bench, runs, out)
    console.print(path.read_text())
    console.print(f"report: [bold]{path}[/]")
