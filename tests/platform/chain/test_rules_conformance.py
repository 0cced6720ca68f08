"""The rules of ``core/rules.py`` decide as the contract does, on both backends: the decision
after each score and at the deadline (random score sequences against ``getUpdate``), the
accepted digest (against ``getRound``), the commitment (against ``updateCommitment``) and the
choice of a round closed at its attestation deadline (against ``RoundClosedAtDeadline``)."""

from __future__ import annotations

import random

import pytest
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.index import read_index
from ledgerlearn.core.rules import (
    INT64_MAX,
    SCORE_INVALID,
    Flow,
    Status,
    accepted_digest,
    closes_with_proposal,
    decide_at_deadline,
    decide_on_score,
    passes,
    update_commitment,
)

from .conftest import Consortium, sha

THRESHOLD = 500_000
UPDATES_PER_TASK = 12


def _score_values(rng: random.Random) -> int:
    return rng.choice([SCORE_INVALID, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1, INT64_MAX, -5])


@pytest.mark.parametrize(("quorum", "max_faulty"), [(3, 1), (2, 1), (4, 1)])
def test_the_decision_matches_the_contract_on_random_score_sequences(
    consortium: Consortium, quorum: int, max_faulty: int
) -> None:
    """Each update gets a random sequence of scores from random members; after every score
    the contract's status is :func:`decide_on_score`'s, and the updates still pending settle
    at the deadline as :func:`decide_at_deadline` says (expired ones included)."""
    c = consortium
    rng = random.Random(f"{quorum}/{max_faulty}")
    n = len(c.validators)
    task_id = c.client(c.publisher).publish_task(
        c.params(
            flow=Flow.DAG,
            quorum=quorum,
            max_faulty_validators=max_faulty,
            threshold=THRESHOLD,
            score_window=400,
            score_extension=5,
            max_pending=UPDATES_PER_TASK,
        )
    )
    root = c.params().initial_weights_hash
    providers = [c.client(p) for p in c.providers]
    for p in providers:
        p.join_task(task_id)
    updates = [sha(f"{task_id}/{quorum}/{max_faulty}/update-{i}") for i in range(UPDATES_PER_TASK)]
    for i, update in enumerate(updates):
        providers[i % len(providers)].submit_dag_update(task_id, [root], update, f"bafy-{i}", 1)

    scorers = [c.client(v) for v in c.validators]
    reader = c.client()
    tallies: dict[bytes, tuple[int, int]] = {}
    early: set[Status] = set()
    for update in updates:
        members = rng.sample(range(n), rng.randint(0, n))
        passed = scored = 0
        for member in members:
            score = _score_values(rng)
            scorers[member].submit_score(task_id, update, score)
            passed += passes(score, THRESHOLD)
            scored += 1
            expected = decide_on_score(passed, scored, n)
            info = reader.update(task_id, update)
            assert info.status is expected, (update.hex()[:8], passed, scored)
            assert (info.pass_count, info.score_count) == (passed, scored)
            if expected is not Status.PENDING:
                early.add(expected)
                break
        tallies[update] = (passed, scored)

    pending = [u for u in updates if reader.update(task_id, u).status is Status.PENDING]
    assert pending, "no update reached the deadline: the sequences decide too early"
    index = read_index(reader)
    extended = max(index.tasks[task_id].scoring_deadlines(u).extended_close for u in pending)
    c.chain.mine(max(0, extended - reader.block_number()))
    c.client(c.publisher).settle_updates(task_id, pending)
    outcomes = set()
    for update in pending:
        passed, scored = tallies[update]
        expected = decide_at_deadline(passed, scored, quorum, max_faulty)
        assert reader.update(task_id, update).status is expected, (passed, scored)
        outcomes.add(expected)
    # the sequences reach every path: decided early both ways, expired, settled otherwise
    assert early == {Status.ACCEPTED, Status.REJECTED}
    assert Status.EXPIRED in outcomes and len(outcomes) >= 2


def _accept(c: Consortium, task_id: int, update: bytes, score: int) -> None:
    for validator in c.validators[:3]:  # a majority of 5 decides
        c.client(validator).submit_score(task_id, update, score)


def _three_providers(c: Consortium) -> list[LocalAccount]:
    c.client(c.admin).grant_role("PROVIDER", c.outsider.address)
    return [*c.providers, c.outsider]


def test_the_accepted_digest_matches_the_contract(consortium: Consortium) -> None:
    """Three updates, one rejected, the other two accepted in reverse submission order."""
    c = consortium
    task_id = c.client(c.publisher).publish_task(c.params(round_length=30))
    updates = [sha(f"digest-{i}") for i in range(3)]
    for account, update in zip(_three_providers(c), updates, strict=True):
        client = c.client(account)
        client.join_task(task_id)
        client.submit_update(task_id, 1, update, "bafy", 1)
    _accept(c, task_id, updates[2], THRESHOLD)
    _accept(c, task_id, updates[1], SCORE_INVALID)
    assert c.client().round(task_id, 1).accepted_digest == accepted_digest([updates[2]])
    _accept(c, task_id, updates[0], THRESHOLD + 1)
    digest = c.client().round(task_id, 1).accepted_digest
    assert digest == accepted_digest([updates[2], updates[0]])
    assert digest != accepted_digest([updates[0], updates[2]])
    assert digest == accepted_digest(read_index(c.client()).tasks[task_id].rounds[1].accepted)


def test_the_commitment_matches_the_contract(consortium: Consortium) -> None:
    c = consortium
    rng = random.Random(7)
    view = c.client().ledger.functions.updateCommitment
    for account in (*c.providers, c.outsider):
        task_id = rng.randrange(2**256)
        update, salt = rng.randbytes(32), rng.randbytes(32)
        mine = update_commitment(task_id, account.address, update, salt)
        assert mine == bytes(view(task_id, account.address, update, salt).call())


@pytest.mark.parametrize("attesters", [1, 2])
def test_a_round_closed_at_its_deadline_chooses_as_the_contract(
    consortium: Consortium, attesters: int
) -> None:
    """quorum 3, f = 1: one attestation keeps the base model, two take the proposal."""
    c = consortium
    params = c.params(quorum=3, max_faulty_validators=1, round_length=20, max_rounds=1)
    task_id = c.client(c.publisher).publish_task(params)
    updates = [sha(f"close-{attesters}-{i}") for i in range(2)]
    for account, update in zip(c.providers, updates, strict=True):
        client = c.client(account)
        client.join_task(task_id)
        client.submit_update(task_id, 1, update, "bafy", 1)
    for update in updates:
        _accept(c, task_id, update, THRESHOLD)
    submissions = c.client().round_deadlines(task_id, 1)[0]
    c.chain.mine(max(0, submissions - c.client().block_number()))
    result = sha(f"aggregate-{attesters}")
    c.client(c.publisher).propose_aggregate(task_id, 1, updates, result, "bafy-aggregate")
    for validator in c.validators[:attesters]:
        c.client(validator).attest_aggregate(task_id, 1, result)
    attestation = c.client().round_deadlines(task_id, 1)[3]
    c.chain.mine(max(0, attestation - c.client().block_number()))
    c.client(c.publisher).close_round(task_id, 1, result)
    record = read_index(c.client()).tasks[task_id].rounds[1]
    assert record.closed_at_deadline
    takes_proposal = closes_with_proposal(len(record.accepted), attesters, 1)
    assert takes_proposal is (attesters == 2)
    assert record.kept_base_model is not takes_proposal
    assert record.result_hash == (result if takes_proposal else params.initial_weights_hash)
