"""The flows benchmark: its tasks (same data, model, budget), targets, outputs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from ledgerlearn.lab.flows_bench import (
    FlowRun,
    FlowsBench,
    Point,
    flows_for,
    run_centralized,
    verdicts,
    write_outputs,
)


def test_every_flow_runs_the_same_task_data_and_budget() -> None:
    bench = FlowsBench(budget_ticks=40)
    fed, dag = bench.federation("clean"), bench.dag("clean")
    assert fed.data()[1][3].y.tolist() == dag.data()[1][3].y.tolist()  # the same split
    assert fed.training == dag.training and fed.seed == dag.seed
    assert fed.policy.flow == "federation" and dag.policy.flow == "dag"
    assert dag.duration_blocks == 40 and dag.blocks_per_tick == bench.blocks_per_tick
    assert (
        dag.dag.publish_if_better
        and not bench.dag("clean", publish_if_better=False).dag.publish_if_better
    )


def test_federation_rounds_wait_for_the_slowest_provider_or_not() -> None:
    bench = FlowsBench()
    config = bench.cast("stragglers")
    assert config.speeds is not None and config.speeds.count(5.0) == 3
    assert config.providers == ["honest"] * 10
    _, parts, _, _ = config.data()
    ticks = bench.training_ticks(config, parts)
    waiting = bench.federation("stragglers")
    fast = bench.federation("stragglers", wait_for_stragglers=False)
    assert waiting.policy.round_length == max(ticks) + 2
    fast_ticks = [t for t, s in zip(ticks, config.speeds, strict=True) if s == 1.0]
    assert fast.policy.round_length == max(fast_ticks) + 2 < waiting.policy.round_length
    assert bench.cast("byzantine").providers.count("honest") == 7
    assert "federation (fast rounds)" in flows_for(bench, "stragglers")
    assert "dag (always publish)" in flows_for(bench, "clean")
    assert "dag (always publish)" not in flows_for(FlowsBench.quick(), "clean")


def test_centralized_training_pays_the_same_throughput_for_the_pooled_data() -> None:
    bench = FlowsBench(budget_ticks=30)
    run = run_centralized(bench, "byzantine")
    _, parts, _, _ = bench.cast("byzantine").data()
    pooled = sum(
        len(p)
        for p, b in zip(parts, bench.cast("byzantine").providers, strict=True)
        if b == "honest"
    )
    epoch = pooled / bench.samples_per_tick
    assert [round(p.seconds, 6) for p in run.curve] == [
        round(i * epoch, 6) for i in range(len(run.curve))
    ]
    assert run.curve[-1].seconds <= 30 < run.curve[-1].seconds + epoch
    assert run.final > run.curve[0].metric + 0.3


def runs() -> list[FlowRun]:
    def run(scenario: str, flow: str, points: list[tuple[float, float]]) -> FlowRun:
        return FlowRun(scenario, flow, [Point(s, m) for s, m in points])

    return [
        run("clean", "federation", [(0, 0.1), (20, 0.8), (40, 0.93)]),
        run("clean", "dag", [(0, 0.1), (10, 0.7), (40, 0.915)]),
        run("byzantine", "federation", [(0, 0.1), (40, 0.95)]),
        run("byzantine", "dag", [(0, 0.1), (40, 0.9)]),
        run("stragglers", "federation", [(0, 0.1), (30, 0.6), (60, 0.9)]),
        run("stragglers", "dag", [(0, 0.1), (20, 0.85), (35, 0.91), (60, 0.92)]),
        run("stragglers", "centralized", [(0, 0.1), (10, 0.95)]),
    ]


def test_the_late_mean_weighs_the_step_curve_by_time() -> None:
    run = FlowRun("clean", "dag", [Point(0, 0.1), Point(70, 0.8), Point(90, 0.9)])
    assert run.late(100) == pytest.approx((10 * 0.8 + 10 * 0.9) / 20)
    assert run.late(100, share=0.5) == pytest.approx((20 * 0.1 + 20 * 0.8 + 10 * 0.9) / 50)


def test_targets_are_checked_with_their_figures() -> None:
    found = {(v.scenario, v.target.split()[0] + v.target.split()[1]): v for v in verdicts(runs())}
    clean = found[("clean", "DAGfinal")]
    assert clean.met and "-1.50 points" in clean.detail
    assert not found[("byzantine", "DAGfinal")].met
    faster = found[("stragglers", "DAGreaches")]
    assert faster.met and "federation at 60 s, DAG 35 s" in faster.detail
    slow = runs()
    slow[5] = FlowRun("stragglers", "dag", [Point(0, 0.1), Point(60, 0.89)])
    late = {v.target: v for v in verdicts(slow) if v.scenario == "stragglers"}
    assert not late["DAG reaches federation's final accuracy in less wall time"].met


def test_outputs_csv_markdown_and_one_plot_per_scenario(tmp_path: Path) -> None:
    path = write_outputs(FlowsBench(budget_ticks=60), runs(), tmp_path)
    text = path.read_text()
    assert "| clean | dag | 91.50% | 91.50% |" in text and "**MISSED** (byzantine)" in text
    with (tmp_path / "curves.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(r.curve) for r in runs())
    with (tmp_path / "summary.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(runs())
    for scenario in ("clean", "byzantine", "stragglers"):
        with Image.open(tmp_path / f"accuracy-{scenario}.png") as image:
            assert image.size[0] > 500
