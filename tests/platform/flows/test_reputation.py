"""Reputation from the chain's records, by hand."""

from __future__ import annotations

import hashlib

from ledgerlearn.chain.index import TaskRecord, UpdateRecord, VoteRecord
from ledgerlearn.core.rules import SCORE_INVALID, Flow, Status
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.flows.reputation import reputation


def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _task() -> TaskRecord:
    committee = ("v1", "v2", "v3")
    params = TaskParams(
        model_spec_hash=_h("spec"),
        model_spec_cid="spec",
        initial_weights_hash=_h("w"),
        initial_weights_cid="w",
        flow=Flow.DAG,
        quorum=2,
        max_faulty_validators=1,
        threshold=500_000,  # 0.5
        score_window=10,
        committee=committee,
        fragment_hashes=tuple(_h(m) for m in committee),
        fragment_cids=committee,
        commit_window=4,
    )
    task = TaskRecord(1, "publisher", params, published_block=1)

    def update(name: str, provider: str, block: int, status: Status, scores: dict) -> UpdateRecord:
        u = UpdateRecord(1, _h(name), provider, None, 10, name, [_h("w")], block, status=status)
        for member, (score, at) in scores.items():
            u.scores[member], u.score_blocks[member] = score, at
            u.committed[member] = block + 1
        task.updates[u.update] = u
        return u

    # accepted; v3 failed it; v1's score came after the window closed (block 110)
    update(
        "u1",
        "p1",
        100,
        Status.ACCEPTED,
        {"v1": (900_000, 111), "v2": (800_000, 105), "v3": (100_000, 105)},
    )
    # rejected by v1 and v2 (an invalid score fails); v3 committed and never revealed
    u2 = update(
        "u2", "p2", 120, Status.REJECTED, {"v1": (100_000, 125), "v2": (SCORE_INVALID, 125)}
    )
    u2.committed["v3"] = 121
    # expired with one score: it counts for nobody, the others missed it
    update("u3", "p2", 140, Status.EXPIRED, {"v1": (900_000, 145)})
    # pending: nobody is blamed yet
    update("u4", "p3", 160, Status.PENDING, {})
    # accepted by v1's and v2's reveals; v3 revealed its pass after that decision, in time: the
    # commitments contract credited it (an agreeing score, not a score of the ledger)
    u5 = update("u5", "p4", 180, Status.ACCEPTED, {"v1": (900_000, 186), "v2": (800_000, 186)})
    u5.decided_block = 186
    u5.committed["v3"] = 181
    u5.revealed_late["v3"] = True
    task.vetting.votes["v1"] = VoteRecord(True, "ok", 2)
    task.vetting.votes["v2"] = VoteRecord(True, "ok", 2)
    task.excluded.append("p2")
    return task


def test_providers_by_hand() -> None:
    table = reputation([_task()]).providers
    p1, p2, p3 = table["p1"], table["p2"], table["p3"]
    assert (p1.accepted, p1.rejected, p1.expired, p1.verdicts) == (1, 0, 0, [0.8])
    # u2's lower median is the invalid score (no verdict), u3's is 0.9
    assert (p2.accepted, p2.rejected, p2.expired, p2.verdicts) == (0, 1, 1, [0.9])
    assert p2.excluded_from == [1] and p1.excluded_from == []
    assert p1.acceptance == 1.0 and p2.acceptance == 0.0 and p3.acceptance is None


def test_validators_by_hand() -> None:
    table = reputation([_task()]).validators
    got = {
        m: (v.scored, v.agreed, v.missed, v.late, v.unrevealed, v.votes) for m, v in table.items()
    }
    # v3 missed u3 only: u2 it committed and never revealed (unrevealed, not also missed)
    assert got == {
        "v1": (3, 3, 0, 1, 0, 1),
        "v2": (3, 3, 1, 0, 0, 1),
        "v3": (2, 1, 1, 0, 1, 0),
    }
    assert table["v3"].agreement == 0.5 and table["v1"].agreement == 1.0
