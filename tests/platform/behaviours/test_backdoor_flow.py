"""THREATS A8: one provider planting a boosted backdoor for 20 rounds, through the real flow
(contracts on the in-process EVM, IPFS, the committee): the global model's success on
triggered inputs stays at or below 10%."""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_a_boosted_backdoor_does_not_take_over_in_20_rounds() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 9 + ["backdoor"],
            "policy": Policy(
                quorum=3,
                max_faulty_validators=2,
                rounds=20,
                round_length=40,
                score_window=30,
                aggregation_rule="median",
            ),
        }
    )
    result = simulate(config)
    assert len(rounds_of(result)) == 20
    success = [r.backdoor_success for r in rounds_of(result)]
    assert all(s is not None for s in success)
    assert max(s for s in success if s is not None) <= 0.10, success
    assert result.final_metric >= 0.85
    planted = [u for u in result.updates if u.behaviour == "backdoor"]
    assert len(planted) == 20


def test_without_the_defences_the_same_attacker_plants_its_backdoor() -> None:
    # the contrast that makes the test above mean something: plain mean, every update accepted
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 9 + ["backdoor"],
            "committee_filtering": False,
            "policy": Policy(
                quorum=3,
                max_faulty_validators=2,
                rounds=5,
                round_length=40,
                score_window=30,
                aggregation_rule="mean",
                threshold=-1000.0,
                threshold_mode="absolute",
            ),
        }
    )
    result = simulate(config)
    assert max(r.backdoor_success or 0.0 for r in rounds_of(result)) >= 0.5
