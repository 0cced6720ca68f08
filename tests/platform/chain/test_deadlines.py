"""The deadline arithmetic of ``core/deadlines.py`` equals the contract's, as events show it."""

from __future__ import annotations

from ledgerlearn.chain.index import read_index
from ledgerlearn.core.rules import Flow

from .conftest import Consortium, sha


def test_round_deadlines_follow_min_updates_and_extensions(consortium: Consortium) -> None:
    """A round waiting for min_updates: the index's deadlines equal ``roundDeadlines`` after
    every submission, while the window is held open and once it shrinks."""
    c = consortium
    params = c.params(
        round_length=4, score_window=5, min_updates=2, round_extension=12, score_extension=3
    )
    task_id = c.client(c.publisher).publish_task(params)
    providers = [c.client(p) for p in c.providers]
    for p in providers:
        p.join_task(task_id)

    def check() -> None:
        index = read_index(c.client())
        mine = index.tasks[task_id].round_deadlines(1)
        theirs = c.client().round_deadlines(task_id, 1)
        assert (
            mine.submissions_close,
            mine.scoring_close,
            mine.extended_close,
            mine.attestation_close,
        ) == theirs

    check()
    providers[0].submit_update(task_id, 1, sha("first"), "bafy-first", 1)
    check()
    start = c.client().round(task_id, 1).start_block
    c.chain.mine(max(0, start + 6 - c.client().block_number()))  # past round_length: waiting
    index = read_index(c.client())
    assert index.tasks[task_id].round_deadlines(1).waiting
    assert index.tasks[task_id].round_deadlines(1).base_close == start + 4
    check()
    providers[1].submit_update(task_id, 1, sha("second"), "bafy-second", 1)  # the 2nd: closes
    check()
    d = read_index(c.client()).tasks[task_id].round_deadlines(1)
    assert not d.waiting
    assert start + 4 < d.submissions_close < start + 4 + 12


def test_dag_scoring_deadline_matches_the_contract(consortium: Consortium) -> None:
    c = consortium
    task_id = c.client(c.publisher).publish_task(
        c.params(flow=Flow.DAG, max_parents=2, score_window=7, score_extension=4)
    )
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    root = c.params().initial_weights_hash
    provider.submit_dag_update(task_id, [root], sha("d"), "bafy-d", 1)
    index = read_index(c.client())
    deadlines = index.tasks[task_id].scoring_deadlines(sha("d"))
    assert deadlines.close == c.client().score_deadline(task_id, sha("d"))
    assert deadlines.extended_close == deadlines.close + 4
    submitted = index.tasks[task_id].updates[sha("d")].block_number
    assert deadlines.opened == submitted and deadlines.half_window == submitted + 3
