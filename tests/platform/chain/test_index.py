"""The event index: every model's CID, round membership and order, scores and receipts."""

from __future__ import annotations

from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.index import LedgerIndex, read_index
from ledgerlearn.core.rules import Flow, Status

from .conftest import Consortium, sha


def test_index_follows_a_federation_round_and_a_dag_update(consortium: Consortium) -> None:
    c = consortium
    fed = c.client(c.publisher).publish_task(c.params(round_length=20, max_rounds=2))
    dag = c.client(c.publisher).publish_task(c.params(flow=Flow.DAG))
    a, b = sha("a"), sha("b")
    for provider, update in zip(c.providers, (a, b), strict=True):
        client = c.client(provider)
        client.join_task(fed)
        client.submit_update(fed, 1, update, f"cid-{update.hex()[:6]}", 10)
    for v in c.validators[:3]:
        c.client(v).submit_scores(fed, [b, a], [900_000, 800_000])  # b is accepted first
    c.chain.mine(20)
    c.client(c.publisher).propose_aggregate(fed, 1, [b, a], sha("agg"), "cid-agg")
    for v in c.validators[:3]:
        c.client(v).attest_aggregate(fed, 1, sha("agg"))
    c.client(c.providers[0]).join_task(dag)
    c.client(c.providers[0]).submit_dag_update(dag, [sha("weights-0")], sha("d"), "cid-d", 5)

    index = LedgerIndex()
    index.apply_all(EventStream(c.client()).poll())
    task = index.tasks[fed]
    assert task.providers == [p.address for p in c.providers]
    first = task.rounds[1]
    assert first.base_model_cid == "bafy-weights-0"
    assert first.updates == [a, b] and first.accepted == [b, a]
    assert task.updates[a].status is Status.ACCEPTED
    assert task.updates[a].scores == {v.address: 800_000 for v in c.validators[:3]}
    proposal = first.proposals[sha("agg")]
    assert proposal.updates == [b, a] and proposal.cid == "cid-agg"
    assert proposal.attesters == [v.address for v in c.validators[:3]]
    assert first.result_hash == sha("agg")
    assert task.rounds[2].base_model_hash == sha("agg")
    assert task.rounds[2].base_model_cid == "cid-agg"
    assert task.cid_of(a) == "cid-" + a.hex()[:6]
    dag_task = index.tasks[dag]
    assert dag_task.flow is Flow.DAG and not dag_task.rounds
    assert dag_task.updates[sha("d")].parents == [sha("weights-0")]
    assert dag_task.updates[sha("d")].round is None
    # Flow.has_rounds is the contract's choice: it opens round 1 only for such a flow
    for task_id in (fed, dag):
        record = index.tasks[task_id]
        opened = c.client().task(task_id).current_round > 0
        assert record.flow.has_rounds is opened is bool(record.rounds)
        assert record.flow.has_graph is not opened


def test_dag_tips_follow_the_committee_decisions(consortium: Consortium) -> None:
    """Tips: accepted updates no accepted update built on; the initial model until then.
    A rejected or pending update naming a tip does not take its place."""
    c = consortium
    root = sha("weights-0")
    task_id = c.client(c.publisher).publish_task(c.params(flow=Flow.DAG, max_parents=2))
    providers = [c.client(p) for p in c.providers]
    for client in providers:
        client.join_task(task_id)
    validators = [c.client(v) for v in c.validators]

    def index() -> LedgerIndex:
        return read_index(c.client())

    def decide(update: bytes, score: int) -> int:
        for v in validators[:3]:  # 3 of 5 agreeing decide (majority of the committee)
            v.submit_score(task_id, update, score)
        return c.client().block_number()

    assert index().tasks[task_id].tips() == [root]
    a, b, r, d = sha("a"), sha("b"), sha("r"), sha("d")
    providers[0].submit_dag_update(task_id, [root], a, "cid-a", 5)
    assert index().tasks[task_id].tips() == [root]  # pending: nothing built on the root yet
    accepted_a = decide(a, 900_000)
    providers[1].submit_dag_update(task_id, [root], b, "cid-b", 5)
    accepted_b = decide(b, 800_000)
    assert index().tasks[task_id].tips() == [a, b]
    providers[0].submit_dag_update(task_id, [a, b], r, "cid-r", 5)
    decide(r, 100_000)  # below the 0.5 threshold: rejected
    task = index().tasks[task_id]
    assert task.updates[r].status is Status.REJECTED
    assert task.tips() == [a, b]  # a rejected child does not bury its parents
    providers[1].submit_dag_update(task_id, [a], d, "cid-d", 5)
    decide(d, 700_000)
    task = index().tasks[task_id]
    assert task.tips() == [b, d]
    assert task.accepted == [a, b, d]
    assert task.children()[a] == [d] and task.children()[root] == [a, b]
    # the DAG as it stood at earlier blocks
    assert task.tips(accepted_a - 1) == [root]
    assert task.tips(accepted_a) == [a]
    assert task.tips(accepted_b) == [a, b]
    assert task.updates[d].committee_score == 700_000
    assert task.updates[r].parents == [a, b]


def test_a_dag_update_has_no_round_but_its_submission_block(consortium: Consortium) -> None:
    """The contract stores a dag update's submission block where a federation update has its
    round, and ``UpdateSubmitted`` says so; the index keeps the round None."""
    c = consortium
    task_id = c.client(c.publisher).publish_task(c.params(flow=Flow.DAG))
    provider = c.client(c.providers[0])
    provider.join_task(task_id)
    for name in ("first", "second"):
        provider.submit_dag_update(task_id, [sha("weights-0")], sha(name), f"cid-{name}", 5)
        c.chain.mine(3)
    events = [e for e in EventStream(c.client()).poll().events if e.name == "UpdateSubmitted"]
    assert len(events) == 2 and events[0].block_number < events[1].block_number
    for event in events:
        assert event.args["round"] == event.block_number
        assert c.client().update(task_id, event.args["update"]).round == event.block_number
    task = read_index(c.client()).tasks[task_id]
    for event in events:
        record = task.updates[event.args["update"]]
        assert record.round is None and record.submitted_block == event.block_number
    assert task.submitted_rounds(c.providers[0].address) == set()


def test_committee_score_is_the_lower_median() -> None:
    from ledgerlearn.chain.index import UpdateRecord

    record = UpdateRecord(1, b"u", "p", 1, 1, "cid", [], 1)
    assert record.committee_score is None
    record.scores = {"v1": 5, "v2": 1, "v3": 9, "v4": 7}
    assert record.committee_score == 5  # sorted 1, 5, 7, 9: the lower of the two middle ones
    record.scores["v5"] = 3
    assert record.committee_score == 5
