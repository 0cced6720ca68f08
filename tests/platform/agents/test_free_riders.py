"""Free riders in the real flow (THREATS C1-C3): an all-zero model, the global model plus small
noise and a slightly perturbed copy of another provider's update are all rejected by the
committee; the global model replayed is refused by the ledger itself; the honest providers are
not."""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate

RIDERS = ["free_rider", "free_rider_replay", "free_rider_zero", "free_rider_copy"]


def test_every_kind_of_free_rider_is_rejected() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 6 + RIDERS,
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    assert [r.round for r in rounds_of(result)] == [1, 2]
    riders = [u for u in result.updates if u.behaviour in RIDERS]
    # the global model replayed never reaches the ledger: it refuses a known model (THREATS I4)
    assert {u.behaviour for u in riders} == set(RIDERS) - {"free_rider_replay"}
    # an all-zero model is the same content every round: the ledger takes it once (C3)
    assert [u.round for u in riders if u.behaviour == "free_rider_zero"] == [1]
    assert len(riders) == 5
    for update in riders:
        assert update.status == "rejected", update
        if update.behaviour != "free_rider_zero":  # flagged by the sanity checks: no score
            assert all(score is None for score in update.scores.values()), update
        else:  # zeros are a large change, scored: far below the peers
            assert all(s is not None and s < -0.2 for s in update.scores.values()), update
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert sum(u.status == "accepted" for u in honest) >= 10
