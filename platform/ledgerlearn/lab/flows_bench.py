"""The flows benchmark: centralized training vs federation vs DAG on one task and budget.

Every flow trains the same model on the same data split, from the same initial weights, with
the same local training hyperparameters, for the same wall-time budget:

- **centralized**: all the honest providers' data in one place, one machine at speed 1,
  epoch after epoch (the reference a consortium gives up by not pooling its data);
- **federation** and **dag**: the real flows (:func:`~ledgerlearn.lab.simulate.simulate`: the
  contracts on the in-process EVM, IPFS, the real agents and committee).

Time is modelled, because one process on two cores cannot show ten providers training in
parallel: a *tick* is one block time of a real chain (1 s) in which every agent takes a step;
the in-process EVM advances exactly ``blocks_per_tick`` blocks per tick whatever the number of
transactions (:attr:`~ledgerlearn.lab.simulate.RunConfig.blocks_per_tick`), and a provider's
local training takes ``samples x epochs x speed factor / samples_per_tick`` ticks
(:class:`~ledgerlearn.agents.pace.BlockPace`). Centralized training pays the same throughput
for the pooled data. The accuracy figures are measured (test split, never seen in training).

Scenarios: **clean** (10 honest providers), **byzantine** (the demo's cast: 3 of 10 Byzantine,
sign flipping, label flipping, free riding), **stragglers** (10 honest providers, some of them
``straggler_factor`` times slower). A federation round must wait for its slowest provider
(round length = the slowest training time) or leave it behind; the stragglers scenario runs
both ("federation" waits, "federation (fast rounds)" does not).

Targets checked and written: the DAG's final accuracy within 2 points of federation's on the
same budget (clean and byzantine); with stragglers, the DAG reaches federation's final
accuracy in less wall time than federation does.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from ledgerlearn.data import Dataset
from ledgerlearn.lab.dag_results import DagHistory
from ledgerlearn.lab.results import RunResult, rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.training import evaluate, train

log = logging.getLogger(__name__)

Scenario = Literal["clean", "byzantine", "stragglers"]
SCENARIOS: tuple[Scenario, ...] = ("clean", "byzantine", "stragglers")
BENCH_FLOWS = (
    "centralized",
    "federation",
    "federation (fast rounds)",
    "dag",
    "dag (always publish)",
)
TARGET_POINTS = 0.02
"""The DAG's final accuracy must be within this of federation's (clean, byzantine)."""


class FlowsBench(BaseModel):
    """What the benchmark runs."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario] = Field(default_factory=lambda: list(SCENARIOS))
    budget_ticks: int = Field(150, ge=10, description="Wall-time budget, in ticks (seconds).")
    blocks_per_tick: int = Field(20, ge=2)
    samples_per_tick: float = Field(
        100.0, gt=0, description="Sample-passes a provider at speed 1 trains per tick."
    )
    stragglers: int = Field(3, ge=1, description="Slow providers in the stragglers scenario.")
    straggler_factor: float = Field(5.0, gt=1)
    score_window: int = Field(4, ge=1, description="Ticks the committee has to score.")
    ablations: bool = Field(
        True,
        description="Also run the DAG without publish-if-better (clean and byzantine): what "
        "the provider's own held-out split costs.",
    )
    seed: int = 0

    @classmethod
    def quick(cls) -> FlowsBench:
        """A shorter budget, no ablation (a few minutes)."""
        return cls(budget_ticks=70, blocks_per_tick=10, ablations=False)

    def base(self) -> RunConfig:
        """The task every flow runs: the demo's digits task (Dirichlet(1) split, 10
        providers, 5 validators, local training of 5 epochs)."""
        return RunConfig.preset(quick=True, simulated=True).model_copy(
            update={
                "seed": self.seed,
                "blocks_per_tick": self.blocks_per_tick,
                "idle_blocks": 1,
                "samples_per_block": self.samples_per_tick,
            }
        )

    def cast(self, scenario: Scenario) -> RunConfig:
        """The base task with the scenario's providers and speeds."""
        base = self.base()
        n = len(base.providers)
        if scenario == "byzantine":
            return base  # the demo's cast: 7 honest, sign flip, label flip, free rider
        speeds = None
        if scenario == "stragglers":
            speeds = [1.0] * n
            for i in range(self.stragglers):  # honest providers spread over the cast
                speeds[(i * n) // self.stragglers] = self.straggler_factor
        return base.model_copy(update={"providers": ["honest"] * n, "speeds": speeds})

    def training_ticks(self, config: RunConfig, data: list[Dataset]) -> list[int]:
        """Each provider's local training time in ticks (the whole local data)."""
        speeds = config.speeds or [1.0] * len(data)
        epochs = config.training.epochs
        return [
            max(1, math.ceil(len(d) * epochs * s / self.samples_per_tick))
            for d, s in zip(data, speeds, strict=True)
        ]

    def federation(self, scenario: Scenario, *, wait_for_stragglers: bool = True) -> RunConfig:
        """The federation task: a round is as long as the slowest provider it waits for
        (plus a tick to send), the committee scores within ``score_window`` ticks."""
        config = self.cast(scenario)
        _, parts, _, _ = config.data()
        ticks = self.training_ticks(config, parts)
        speeds = config.speeds or [1.0] * len(parts)
        fast = [t for t, s in zip(ticks, speeds, strict=True) if s <= 1]
        waited = ticks if wait_for_stragglers else fast
        policy = config.policy.model_copy(
            update={
                "rounds": 10_000,  # the budget ends the run
                "round_length": max(waited) + 2,
                "score_window": self.score_window,
            }
        )
        return config.model_copy(update={"policy": policy})

    def dag(self, scenario: Scenario, *, publish_if_better: bool = True) -> RunConfig:
        """The dag task (the dag demo's policy and provider settings) closed by its
        publisher at the budget."""
        config = self.cast(scenario)
        preset = RunConfig.dag_preset(quick=True, simulated=True)
        policy = preset.policy.model_copy(update={"score_window": self.score_window})
        dag = preset.dag.model_copy(update={"publish_if_better": publish_if_better})
        return config.model_copy(
            update={
                "policy": policy,
                "dag": dag,
                "consensus_top_k": preset.consensus_top_k,
                "duration_blocks": self.budget_ticks,
            }
        )


@dataclass(frozen=True)
class Point:
    """One point of an accuracy-versus-time curve."""

    seconds: float
    metric: float


@dataclass
class FlowRun:
    """One flow in one scenario."""

    scenario: str
    flow: str
    curve: list[Point]
    updates: int = 0
    accepted: int = 0
    byzantine_accepted: int = 0
    run_seconds: float = 0.0  # real time the simulation took
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def final(self) -> float:
        """The metric at the end of the budget."""
        return self.curve[-1].metric

    def late(self, budget: float, share: float = 0.2) -> float:
        """The time-weighted mean of the (step) curve over the last ``share`` of the budget:
        where a flow settles, less sensitive than the final point to the last update."""
        start = budget * (1 - share)
        total = 0.0
        for point, following in zip(self.curve, [*self.curve[1:], None], strict=True):
            end = budget if following is None else min(following.seconds, budget)
            total += max(0.0, end - max(point.seconds, start)) * point.metric
        return total / (budget - start)

    def reaches(self, target: float) -> float | None:
        """The first time the curve reaches ``target`` (None: never within the budget)."""
        for point in self.curve:
            if point.metric >= target - 1e-9:
                return point.seconds
        return None


def _federation_curve(result: RunResult, blocks_per_tick: int, budget: int) -> list[Point]:
    curve = [Point(0.0, result.initial_metric)]
    for row in rounds_of(result):
        if row.finalized_block is None:
            continue
        seconds = (row.finalized_block - result.published_block) / blocks_per_tick
        if seconds <= budget:
            curve.append(Point(seconds, row.test_metric))
    return curve


def _counts(run: FlowRun, result: RunResult) -> FlowRun:
    run.updates = len(result.updates)
    run.accepted = sum(u.status == "accepted" for u in result.updates)
    run.byzantine_accepted = sum(
        u.status == "accepted" and u.behaviour != "honest" for u in result.updates
    )
    return run


def run_centralized(bench: FlowsBench, scenario: Scenario) -> FlowRun:
    """Train on the honest providers' pooled data, one epoch at a time, for the budget."""
    config = bench.cast(scenario)
    spec, parts, _, test = config.data()
    honest = [p for p, b in zip(parts, config.providers, strict=True) if b == "honest"]
    pooled = Dataset(
        np.concatenate([p.x for p in honest]),
        np.concatenate([p.y for p in honest]),
        spec.num_classes,
        "pooled honest data",
    )
    started = time.perf_counter()
    weights = dict(state_dict_to_arrays(build(spec, seed=config.seed)))
    curve = [Point(0.0, evaluate(spec, weights, test, "accuracy"))]
    epoch_s = len(pooled) / bench.samples_per_tick
    epoch = 0
    while (epoch + 1) * epoch_s <= bench.budget_ticks:
        epoch += 1
        once = config.training.model_copy(update={"epochs": 1, "seed": config.seed + epoch})
        weights = dict(train(spec, pooled, once, initial=weights))
        curve.append(Point(epoch * epoch_s, evaluate(spec, weights, test, "accuracy")))
    run = FlowRun(scenario, "centralized", curve, run_seconds=time.perf_counter() - started)
    run.extra["epochs"] = epoch
    return run


def run_flow(
    bench: FlowsBench,
    scenario: Scenario,
    flow: str,
    on_tick: Callable[[int], None] | None = None,
) -> FlowRun:
    """One flow of one scenario through the real agents, for the budget."""
    if flow == "centralized":
        return run_centralized(bench, scenario)
    if flow.startswith("dag"):
        config = bench.dag(scenario, publish_if_better=flow == "dag")
    else:
        config = bench.federation(scenario, wait_for_stragglers=flow == "federation")
    started = time.perf_counter()
    result = simulate(
        config,
        max_blocks=bench.budget_ticks,
        budget=True,
        on_block=None if on_tick is None else lambda tick, _: on_tick(tick),
    )
    elapsed = time.perf_counter() - started
    if isinstance(result.history, DagHistory):
        dag = result.history
        curve = [Point(p.seconds, p.metric) for p in dag.consensus]
        run = FlowRun(scenario, flow, curve, run_seconds=elapsed)
        if dag.dropped is not None:
            run.extra["dropped"] = dag.dropped
    else:
        curve = _federation_curve(result, bench.blocks_per_tick, bench.budget_ticks)
        run = FlowRun(scenario, flow, curve, run_seconds=elapsed)
        run.extra["rounds"] = len(curve) - 1
        run.extra["round_ticks"] = config.policy.round_length
    return _counts(run, result)


def flows_for(bench: FlowsBench, scenario: Scenario) -> list[str]:
    """The flows a scenario runs."""
    flows = ["centralized", "federation"]
    if scenario == "stragglers":
        flows.append("federation (fast rounds)")
    flows.append("dag")
    if bench.ablations and scenario != "stragglers":
        flows.append("dag (always publish)")
    return flows


def run_bench(
    bench: FlowsBench,
    on_run: Callable[[str, str, int, int], None] | None = None,
    on_tick: Callable[[int], None] | None = None,
) -> list[FlowRun]:
    """Every scenario and flow; ``on_run(scenario, flow, done, total)`` before each run."""
    plan = [(s, f) for s in bench.scenarios for f in flows_for(bench, s)]
    runs = []
    for done, (scenario, flow) in enumerate(plan):
        if on_run is not None:
            on_run(scenario, flow, done, len(plan))
        runs.append(run_flow(bench, scenario, flow, on_tick))
    return runs


# --- targets and outputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class TargetVerdict:
    """A target checked on the runs."""

    scenario: str
    target: str
    met: bool
    detail: str


def _run(runs: list[FlowRun], scenario: str, flow: str) -> FlowRun | None:
    return next((r for r in runs if r.scenario == scenario and r.flow == flow), None)


def verdicts(runs: list[FlowRun]) -> list[TargetVerdict]:
    """The issue's targets, per scenario that ran both flows."""
    out = []
    for scenario in dict.fromkeys(r.scenario for r in runs):
        fed, dag = _run(runs, scenario, "federation"), _run(runs, scenario, "dag")
        if fed is None or dag is None:
            continue
        gap = dag.final - fed.final
        out.append(
            TargetVerdict(
                scenario,
                f"DAG final accuracy within {100 * TARGET_POINTS:.0f} points of federation",
                gap >= -TARGET_POINTS,
                f"DAG {100 * dag.final:.2f}% vs federation {100 * fed.final:.2f}% "
                f"({100 * gap:+.2f} points)",
            )
        )
        if scenario == "stragglers":
            fed_time = fed.reaches(fed.final)
            dag_time = dag.reaches(fed.final)
            met = dag_time is not None and fed_time is not None and dag_time < fed_time
            shown = "never" if dag_time is None else f"{dag_time:.0f} s"
            out.append(
                TargetVerdict(
                    scenario,
                    "DAG reaches federation's final accuracy in less wall time",
                    met,
                    f"federation's final {100 * fed.final:.2f}%: federation at {fed_time:.0f} s, "
                    f"DAG {shown}",
                )
            )
    return out


def write_csv(bench: FlowsBench, runs: list[FlowRun], out_dir: Path) -> None:
    """``curves.csv`` (every point) and ``summary.csv`` (one row per run)."""
    with (out_dir / "curves.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["scenario", "flow", "seconds", "accuracy"])
        for run in runs:
            for point in run.curve:
                writer.writerow([run.scenario, run.flow, f"{point.seconds:.1f}", point.metric])
    with (out_dir / "summary.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "scenario",
                "flow",
                "final_accuracy",
                "last_20pct_mean",
                "best_accuracy",
                "updates",
                "accepted",
                "byzantine_accepted",
                "run_seconds",
                "extra",
            ]
        )
        for run in runs:
            writer.writerow(
                [
                    run.scenario,
                    run.flow,
                    run.final,
                    run.late(bench.budget_ticks),
                    max(p.metric for p in run.curve),
                    run.updates,
                    run.accepted,
                    run.byzantine_accepted,
                    f"{run.run_seconds:.1f}",
                    ";".join(f"{k}={v:g}" for k, v in run.extra.items()),
                ]
            )


COLOURS = {
    "centralized": "tab:gray",
    "federation": "tab:blue",
    "federation (fast rounds)": "tab:cyan",
    "dag": "tab:red",
    "dag (always publish)": "tab:orange",
}


def plot_scenario(runs: list[FlowRun], scenario: str, path: Path, budget: int) -> Path:
    """Accuracy versus wall time of every flow of one scenario."""
    figure = Figure(figsize=(7.0, 4.2), dpi=120, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    for run in (r for r in runs if r.scenario == scenario):
        xs = [p.seconds for p in run.curve] + [float(budget)]
        ys = [100 * p.metric for p in run.curve] + [100 * run.final]
        ax.step(
            xs,
            ys,
            where="post",
            color=COLOURS.get(run.flow),
            label=f"{run.flow}: {100 * run.final:.1f}%",
        )
    ax.set_xlabel("wall time (s, modelled: 1 tick = 1 block = 1 s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(0, budget)
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{scenario}: accuracy over wall time")
    ax.legend(loc="lower right")
    figure.savefig(path)
    return path


def write_markdown(bench: FlowsBench, runs: list[FlowRun], path: Path) -> None:
    """The final table, the targets and the plots."""
    out = ["# Flows benchmark: centralized vs federation vs DAG", ""]
    out.append(
        f"Digits, 10 providers on a Dirichlet(1) split, 5 validators; budget "
        f"{bench.budget_ticks} s of modelled wall time (a tick is one 1-s block; a provider "
        f"trains {bench.samples_per_tick:g} sample-passes per tick at speed 1; stragglers "
        f"{bench.straggler_factor:g}x slower). Accuracy on the test split."
    )
    out += ["", "## Final accuracy", ""]
    out.append(
        "*final*: at the end of the budget (what the targets compare); *last 20 %*: the mean "
        "over the last fifth of the budget (where a flow settles); *best*: the highest point."
    )
    out.append("")
    out.append(
        "| scenario | flow | final | last 20 % | best | updates | accepted | "
        "Byzantine accepted | notes |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        notes = ", ".join(f"{k} {v:g}" for k, v in run.extra.items())
        out.append(
            f"| {run.scenario} | {run.flow} | {100 * run.final:.2f}% | "
            f"{100 * run.late(bench.budget_ticks):.2f}% | "
            f"{100 * max(p.metric for p in run.curve):.2f}% | {run.updates or '-'} | "
            f"{run.accepted or '-'} | {run.byzantine_accepted if run.updates else '-'} | "
            f"{notes} |"
        )
    out += ["", "## Targets", ""]
    for v in verdicts(runs):
        out.append(f"- **{'met' if v.met else 'MISSED'}** ({v.scenario}) {v.target}: {v.detail}")
    out += ["", "## Accuracy over wall time", ""]
    for scenario in dict.fromkeys(r.scenario for r in runs):
        out += [f"![{scenario}](accuracy-{scenario}.png)", ""]
    out += ["Every point: `curves.csv`; one row per run: `summary.csv`.", ""]
    path.write_text("\n".join(out))


def write_outputs(bench: FlowsBench, runs: list[FlowRun], out_dir: Path) -> Path:
    """CSV, PNG per scenario, markdown; returns the markdown's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(bench, runs, out_dir)
    for scenario in dict.fromkeys(r.scenario for r in runs):
        plot_scenario(runs, scenario, out_dir / f"accuracy-{scenario}.png", bench.budget_ticks)
    path = out_dir / "flows.md"
    write_markdown(bench, runs, path)
    (out_dir / "runs.json").write_text(json.dumps([asdict(r) for r in runs], indent=1))
    return path
