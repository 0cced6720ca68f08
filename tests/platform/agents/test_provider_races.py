"""Races a provider meets in a running task end its attempt, not the agent.

Both stopped a whole simulation before (found by scripts/golden_runs.py's casts):
- an adaptive attacker watches the round's other updates; one of them withheld (or
  malformed) raised out of the provider's step;
- a reveal sent after the submission window closed (the chain moved between the provider's
  look at it and the transaction) raised ``UpdateLedgerSubmissionClosed`` out of the step.
"""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_an_adaptive_attacker_next_to_a_withheld_update_keeps_going() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 6 + ["withhold", "alie_adaptive"],
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(RunConfig.model_validate(config.model_dump()))
    assert [r.round for r in rounds_of(result)] == [1, 2]
    adaptive = [u for u in result.updates if u.behaviour == "alie_adaptive"]
    assert adaptive, "the adaptive attacker never submitted"
    assert all(u.status in ("accepted", "rejected") for u in adaptive)
    assert all(u.status == "rejected" for u in result.updates if u.behaviour == "withhold")


def test_adaptive_attackers_that_reveal_late_lose_their_update_not_the_run() -> None:
    base = RunConfig.preset(quick=True, simulated=True)
    config = base.model_copy(
        update={
            "providers": ["honest"] * 6
            + ["alie_adaptive", "ipm_adaptive", "free_rider_copy", "sign_flip"],
            "policy": base.policy.model_copy(update={"rounds": 1}),
        }
    )
    result = simulate(RunConfig.model_validate(config.model_dump()))
    rounds = rounds_of(result)
    assert [r.round for r in rounds] == [1]
    assert rounds[0].attesters >= config.policy.quorum
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert len(honest) == 6 and all(u.status == "accepted" for u in honest)
