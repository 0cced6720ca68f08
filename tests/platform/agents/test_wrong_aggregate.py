"""Verified aggregation in the real flow: a participant races the honest keeper with a wrong
aggregate every round; the committee recomputes, never attests it, attests the right one,
and the round's result is the right aggregate."""

from __future__ import annotations

import numpy as np

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_wrong_proposals_are_not_attested_and_the_right_one_wins() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 5,
            "rogue_keeper": "wrong_aggregate",
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    assert [r.round for r in rounds_of(result)] == [1, 2]
    for row in rounds_of(result):
        assert row.proposals == 2  # the wrong one stayed on chain, unattested
        assert row.attesters >= config.policy.quorum
    # the rounds' results are the honest aggregates: the same run without the rogue keeper
    # reaches the same results bit for bit
    clean = simulate(config.model_copy(update={"rogue_keeper": "none"}))
    assert [r.proposals for r in rounds_of(clean)] == [1, 1]
    assert [r.result_hash for r in rounds_of(result)] == [r.result_hash for r in rounds_of(clean)]
    assert np.isclose(result.final_metric, clean.final_metric)


def test_a_dead_cid_proposed_first_does_not_freeze_the_round() -> None:
    """THREATS I1 in the real flow: a participant proposes the right aggregate's hash first,
    with a CID that points to nothing. The honest keeper names its own CID for the same result,
    the members attest the hash they recomputed, every round finalizes with the right result,
    and the next round's providers fetch its base model from the attesters' CIDs."""
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 5,
            "rogue_keeper": "dead_cid",
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    clean = simulate(config.model_copy(update={"rogue_keeper": "none"}))
    assert [r.round for r in rounds_of(result)] == [1, 2]
    assert [r.result_hash for r in rounds_of(result)] == [r.result_hash for r in rounds_of(clean)]
    assert all(r.attesters >= config.policy.quorum for r in rounds_of(result))
    assert len(result.updates) == len(clean.updates) == 10  # round 2's base model was fetched


def test_without_a_quorum_of_attesters_the_round_closes_at_its_deadline() -> None:
    """Three of five members never attest (k = 3, f = 1): the two others cannot finalize a
    round. At the attestation deadline the keeper closes it with the proposal more than f
    members attested: the right aggregate, the same as with every member attesting."""
    policy = Policy(
        quorum=3,
        max_faulty_validators=1,
        rounds=2,
        round_length=40,
        score_window=30,
        score_extension=10,
        attest_window=20,
    )
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 5,
            "validator_behaviours": ["honest", "honest", "silent", "silent", "silent"],
            "policy": policy,
        }
    )
    result = simulate(config)
    clean = simulate(config.model_copy(update={"validator_behaviours": None}))
    assert [r.round for r in rounds_of(result)] == [1, 2]
    assert all(r.attesters == 2 for r in rounds_of(result))  # below the quorum: closed by deadline
    assert [r.result_hash for r in rounds_of(result)] == [r.result_hash for r in rounds_of(clean)]
