"""The contract's rules as ``core/rules.py`` mirrors them, on hand-made cases (against the
contract on both backends: ``tests/platform/chain/test_rules_conformance.py``)."""

from __future__ import annotations

import itertools

import pytest

from ledgerlearn.core.rules import (
    INT64_MAX,
    SCORE_INVALID,
    Status,
    accepted_digest,
    closes_with_proposal,
    decide_at_deadline,
    decide_on_score,
    lower_median,
    passes,
    update_commitment,
)


def test_an_invalid_score_never_passes() -> None:
    assert passes(0, 0) and passes(1, 0) and not passes(-1, 0)
    assert not passes(SCORE_INVALID, SCORE_INVALID)  # even against the lowest threshold
    assert passes(INT64_MAX, 10**12)


def test_lower_median() -> None:
    assert lower_median([]) is None
    assert lower_median([5]) == 5
    assert lower_median([3, 1]) == 1  # the lower of the two middle scores
    assert lower_median([3, SCORE_INVALID, 2, 7]) == 2
    assert lower_median([SCORE_INVALID, SCORE_INVALID, 9]) == SCORE_INVALID


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_the_lower_median_passes_exactly_when_more_than_half_of_the_scores_pass(n: int) -> None:
    """Why the contract can count passes instead of keeping the scores."""
    for scores in itertools.product([SCORE_INVALID, -1, 0, 1], repeat=n):
        median = lower_median(scores)
        assert median is not None
        count = sum(passes(s, 0) for s in scores)
        assert passes(median, 0) is (count >= n // 2 + 1), scores


def test_decision_after_each_score() -> None:
    # committee of 5: 3 passes accept, 3 failures reject, whatever the other members score
    assert decide_on_score(2, 2, 5) is Status.PENDING
    assert decide_on_score(3, 3, 5) is Status.ACCEPTED
    assert decide_on_score(2, 4, 5) is Status.PENDING
    assert decide_on_score(1, 4, 5) is Status.REJECTED
    # 4 members need 3 passes: one failure leaves them possible, two do not
    assert decide_on_score(0, 1, 4) is Status.PENDING
    assert decide_on_score(0, 2, 4) is Status.REJECTED


def test_decision_at_the_deadline() -> None:
    assert decide_at_deadline(2, 2, quorum=3, max_faulty_validators=1) is Status.EXPIRED
    assert decide_at_deadline(2, 3, quorum=3, max_faulty_validators=1) is Status.ACCEPTED
    assert decide_at_deadline(1, 3, quorum=3, max_faulty_validators=1) is Status.REJECTED
    # more than half passed, but not more than f: no honest member is sure to have approved
    assert decide_at_deadline(2, 3, quorum=3, max_faulty_validators=2) is Status.REJECTED
    assert decide_at_deadline(2, 4, quorum=3, max_faulty_validators=1) is Status.REJECTED


def test_a_round_closed_at_its_deadline_keeps_a_proposal_only_with_more_than_f() -> None:
    assert closes_with_proposal(2, 2, max_faulty_validators=1)
    assert not closes_with_proposal(2, 1, max_faulty_validators=1)
    assert not closes_with_proposal(0, 5, max_faulty_validators=1)  # nothing to aggregate


def test_accepted_digest_depends_on_the_order() -> None:
    a, b = b"\x01" * 32, b"\x02" * 32
    assert accepted_digest([]) == bytes(32)
    assert accepted_digest([a, b]) != accepted_digest([b, a])
    assert len(accepted_digest([a])) == 32


def test_update_commitment_binds_every_input() -> None:
    provider = "0x" + "11" * 20
    base = update_commitment(1, provider, b"\x01" * 32, b"\x02" * 32)
    assert base != update_commitment(2, provider, b"\x01" * 32, b"\x02" * 32)
    assert base != update_commitment(1, "0x" + "12" * 20, b"\x01" * 32, b"\x02" * 32)
    assert base != update_commitment(1, provider, b"\x03" * 32, b"\x02" * 32)
    assert base != update_commitment(1, provider, b"\x01" * 32, b"\x03" * 32)
