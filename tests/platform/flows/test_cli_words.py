"""What each flow's strategy says for the CLI: the task's shape ``publish`` prints and what a
provider trains for."""

from __future__ import annotations

from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.registry import FLOWS


def test_a_federation_task_is_described_by_its_rounds() -> None:
    federation = FLOWS[Flow.FEDERATION]
    policy = Policy(rounds=3, round_length=15, score_window=10)
    assert federation.task_shape(policy, close_after=None) == (
        "3 rounds of 15 blocks (+10 to score)"
    )
    one = policy.model_copy(update={"rounds": 1})
    assert federation.task_shape(one, close_after=40) == "1 round of 15 blocks (+10 to score)"
    assert federation.work_unit == "round"


def test_a_dag_task_is_described_by_its_parents_and_how_long_it_stays_open() -> None:
    dag = FLOWS[Flow.DAG]
    policy = Policy(flow="dag", max_parents=2, score_window=10)
    assert dag.task_shape(policy, close_after=None) == (
        "dag: up to 2 parents per update, 10 blocks to score each, open until Ctrl-C"
    )
    assert dag.task_shape(policy, close_after=40).endswith("open for 40 blocks")
    assert dag.work_unit == "dag update"
