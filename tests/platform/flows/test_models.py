"""Which model of a task a person takes out: the refusals, before anything is fetched."""

from __future__ import annotations

import pytest

from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.core.rules import Flow
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.flows.models import NoModelError
from ledgerlearn.flows.registry import FLOWS


class NoMember:
    """A member that must not be asked anything: every refusal comes from the index."""

    head = 40

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the member was asked for {name}")


def a_task(flow: Flow, *, closed: bool = False) -> TaskRecord:
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="w0",
        flow=flow,
        committee=("0xv",),
        fragment_hashes=(b"\x03" * 32,),
        fragment_cids=("f",),
        quorum=1,
        max_faulty_validators=0,
        threshold=0,
        max_rounds=3,
    )
    task = TaskRecord(7, "0xp", params, published_block=1, closed=closed)
    if flow.has_rounds:
        task.rounds[1] = RoundRecord(1, b"\x02" * 32, "w0", start_block=1)
        task.rounds[1].result_hash = b"\x04" * 32
        task.rounds[1].finalized_block = 30
        task.rounds[2] = RoundRecord(2, b"\x04" * 32, "r1", start_block=30)
    return task


@pytest.mark.parametrize(
    ("flow", "closed", "kwargs", "message"),
    [
        (Flow.FEDERATION, False, {"round": 2}, "round 2 of task 7 is not finalized (finalized: 1)"),
        (Flow.FEDERATION, False, {"round": 4}, "task 7 has rounds 1 to 3, not 4"),
        (
            Flow.FEDERATION,
            False,
            {"block": 29},
            "task 7 has no finalized round by block 29 (it is still open): no model to take "
            "out yet",
        ),
        (
            Flow.DAG,
            False,
            {},
            "task 7 has no accepted update by block 40 (it is still open): no model to take "
            "out yet",
        ),
        (Flow.DAG, True, {"round": 1}, "task 7 is a dag task: it has no rounds"),
    ],
)
def test_no_model_is_a_clear_refusal(
    flow: Flow, closed: bool, kwargs: dict[str, int], message: str
) -> None:
    task = a_task(flow, closed=closed)
    with pytest.raises(NoModelError) as caught:
        FLOWS[flow].model(NoMember(), task, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)
