"""A run result: the flow's history next to the updates, its final metric, and result.json's
layout (the same for both flows, as the reports always wrote it)."""

from __future__ import annotations

import pytest

from ledgerlearn.lab.dag_results import DagHistory, dag_of
from ledgerlearn.lab.results import RoundsHistory, RunResult, rounds_of
from tests.platform.lab.report.test_dag import dag_result
from tests.platform.lab.report.test_federation import federation_result

LAYOUT = [
    "task_id",
    "metric",
    "initial_metric",
    "rounds",
    "updates",
    "timings",
    "agent_seconds",
    "published_block",
    "dag",
    "round_timings",
    "background_load",
    "consortium",
    "final_metric",
]


def test_result_json_has_one_layout_for_both_flows() -> None:
    federation = federation_result().as_json()
    assert list(federation) == LAYOUT
    assert federation["dag"] is None and [r["round"] for r in federation["rounds"]] == [1, 2, 3]
    assert federation["final_metric"] == 0.9
    assert federation["consortium"] is None  # a laboratory run: no governance to report
    dag = dag_result().as_json()
    assert list(dag) == LAYOUT
    assert dag["rounds"] == [] and len(dag["dag"]["nodes"]) == 7
    assert list(dag["dag"]) == [
        "root",
        "published_block",
        "closed_block",
        "block_time_s",
        "top_k",
        "nodes",
        "tips",
        "consensus",
        "dropped",
    ]
    assert dag["final_metric"] == 0.81


def test_the_final_metric_is_the_last_model_or_else_the_initial_one() -> None:
    assert federation_result().final_metric == 0.9
    assert dag_result().final_metric == 0.81
    assert RunResult(1, "accuracy", 0.1, RoundsHistory()).final_metric == 0.1
    empty = DagHistory(root="0x00", published_block=5, closed_block=9, block_time_s=1.0, top_k=3)
    assert RunResult(2, "accuracy", 0.2, empty).final_metric == 0.2


def test_a_history_is_read_only_as_its_own_flow() -> None:
    assert len(rounds_of(federation_result())) == 3
    assert dag_of(dag_result()).top_k == 2
    with pytest.raises(ValueError, match="task 4 is not a federation run"):
        rounds_of(dag_result())
    with pytest.raises(ValueError, match="task 7 is not a dag run"):
        dag_of(federation_result())
