"""Verified aggregation in the real flow: a participant races the honest keeper with a wrong
aggregate every round; the committee recomputes, never attests it, attests the right one,
and the round's result is the right aggregate."""

from __future__ import annotations

import numpy as np

from ledgerlearn.agents.publisher import Policy
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_wrong_proposals_are_not_attested_and_the_right_one_wins() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 5,
            "rogue_keeper": True,
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    assert [r.round for r in result.rounds] == [1, 2]
    for row in result.rounds:
        assert row.proposals == 2  # the wrong one stayed on chain, unattested
        assert row.attesters >= config.policy.quorum
    # the rounds' results are the honest aggregates: the same run without the rogue keeper
    # reaches the same results bit for bit
    clean = simulate(config.model_copy(update={"rogue_keeper": False}))
    assert [r.proposals for r in clean.rounds] == [1, 1]
    assert [r.result_hash for r in result.rounds] == [r.result_hash for r in clean.rounds]
    assert np.isclose(result.final_metric, clean.final_metric)
