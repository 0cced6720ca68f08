"""The event index: every model's CID, round membership and order, scores and receipts."""

from __future__ import annotations

from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.index import LedgerIndex
from ledgerlearn.chain.types import Flow, Status

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
