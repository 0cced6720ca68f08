"""Peer-relative scoring with too few peers (issue 11, section 3).

On a loaded machine a round once held a single update, a free rider's, and peer mode had no
peers to compare it with: it was accepted. With fewer than three valid updates an update must
now beat the global model it would replace (the tolerance below the peers' median does not
apply), and the previous round's changes are the sanity checks' context.
"""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def _alone(behaviour: str) -> RunConfig:
    return RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": [behaviour],
            "policy": Policy(
                quorum=3,
                max_faulty_validators=2,
                rounds=2,
                round_length=30,
                score_window=20,
                threshold=-0.25,
                threshold_mode="peer",
            ),
        }
    )


def test_a_free_rider_alone_in_its_round_is_rejected() -> None:
    result = simulate(_alone("free_rider"))
    assert [u.round for u in result.updates] == [1, 2]
    for update in result.updates:
        assert update.status == "rejected", update
        # scored (not flagged): the global model's metric plus the tolerance is the bar
        assert all(s is not None and s < -0.25 for s in update.scores.values()), update
    assert result.final_metric == result.initial_metric  # nothing was aggregated


def test_an_honest_update_alone_is_accepted_when_it_beats_the_global_model() -> None:
    """Round 1: the lone honest update lifts the random initial model by far, accepted. Round
    2: from a converged model its local training no longer beats the global model on the
    committee's fragments; alone, it would replace the global model, so it is not accepted
    (with peers its small loss would be within the tolerance)."""
    result = simulate(_alone("honest"))
    first, second = result.updates
    assert first.status == "accepted"
    assert all(s is not None and s > 0 for s in first.scores.values())
    assert rounds_of(result)[0].test_metric > result.initial_metric + 0.3
    beat = [s is not None and s >= -0.25 for s in second.scores.values()]
    assert second.status == ("accepted" if sum(beat) >= 2 else "rejected"), second
