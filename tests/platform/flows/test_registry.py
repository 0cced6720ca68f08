"""Every flow the contract knows has exactly one strategy, under the name policies use."""

from __future__ import annotations

import typing

from ledgerlearn.chain.index import RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.core.rules import Flow, Status
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS

ROOT = b"\x01" * 32


def test_every_flow_has_its_strategy() -> None:
    assert set(FLOWS) == set(Flow)
    for flow, strategy in FLOWS.items():
        assert strategy.flow is flow
        assert FLOW_NAMES[strategy.name] is flow
        # the contract's facts, read from the enum
        assert (strategy.has_rounds, strategy.has_graph) == (flow.has_rounds, flow.has_graph)
    # exactly one way to learn per task: rounds or a graph
    assert all(s.has_rounds != s.has_graph for s in FLOWS.values())


def test_the_policy_offers_exactly_the_registered_flows() -> None:
    field = Policy.model_fields["flow"]
    assert set(typing.get_args(field.annotation)) == set(FLOW_NAMES)
    assert field.description and all(name in field.description for name in FLOW_NAMES)


def _task(flow: Flow) -> TaskRecord:
    params = TaskParams(
        model_spec_hash=bytes(32),
        model_spec_cid="spec",
        initial_weights_hash=ROOT,
        initial_weights_cid="weights",
        threshold=0,
        quorum=1,
        max_faulty_validators=0,
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        flow=flow,
        max_rounds=3,
    )
    return TaskRecord(1, "0xpublisher", params, 10)


def test_a_watcher_hears_of_each_round() -> None:
    strategy, task = FLOWS[Flow.FEDERATION], _task(Flow.FEDERATION)
    task.rounds[1] = RoundRecord(1, ROOT, "weights", 10)
    first = strategy.milestone(task)
    assert strategy.progress(task) == "round 1 of 3"
    task.updates[b"u"] = UpdateRecord(1, b"u", "0xp", 1, 5, "cid", [], 11)
    assert strategy.milestone(task) == first  # an update is no news
    task.rounds[2] = RoundRecord(2, b"r1", "r1", 30)
    assert strategy.milestone(task) != first
    assert strategy.progress(task) == "round 2 of 3"


def test_a_watcher_hears_of_every_fifth_accepted_update_and_the_close() -> None:
    strategy, task = FLOWS[Flow.DAG], _task(Flow.DAG)
    heard = [strategy.milestone(task)]
    parent = ROOT
    for n in range(1, 8):  # a chain: each update builds on the one before
        update = f"u{n}".encode()
        task.updates[update] = UpdateRecord(
            1, update, "0xp", None, 5, "cid", [parent], 10 + n, Status.ACCEPTED, {}, 10 + n
        )
        task.accepted.append(update)
        parent = update
        if strategy.milestone(task) != heard[-1]:
            heard.append(strategy.milestone(task))
    assert len(heard) == 2  # at the fifth
    assert strategy.progress(task) == "dag: 7 updates, 7 accepted, 1 tips"
    task.closed = True
    assert strategy.milestone(task) != heard[-1]
