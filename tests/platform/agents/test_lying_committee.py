"""Lying committee members in the real flow (THREATS B1, B2 at the flow level): two of five
validators collude with the Byzantine providers (inflating their updates, reporting every
honest one invalid); the majority still rejects every Byzantine update, accepts the honest
ones, and the rounds close."""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_colluding_validators_cannot_flip_the_committee() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 6 + ["sign_flip", "label_flip"],
            "validator_behaviours": ["collude", "collude", "honest", "honest", "honest"],
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    assert [r.round for r in rounds_of(result)] == [1, 2]
    byzantine = [u for u in result.updates if u.behaviour != "honest"]
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert len(byzantine) == 4 and len(honest) == 12
    assert all(u.status == "rejected" for u in byzantine)
    assert sum(u.status == "accepted" for u in honest) >= 10
    liars = {"validator-0", "validator-1"}
    # the liars did report their lies (high for partners, invalid for the honest)
    lies = [u.scores[v] for u in byzantine for v in liars if v in u.scores]
    assert lies and all(score is not None and score >= 1.0 for score in lies)
    assert result.final_metric >= 0.8
