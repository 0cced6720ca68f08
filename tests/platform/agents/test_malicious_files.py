"""Providers submitting a pickle payload, wrong shapes and NaN: every validator marks each
update invalid (nothing is unpickled), keeps running, and the round still finishes."""

from __future__ import annotations

from pathlib import Path

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate

SENTINEL = Path("/tmp/ledgerlearn-pickle-sentinel")


def test_malicious_files_are_invalid_and_validators_keep_running() -> None:
    SENTINEL.unlink(missing_ok=True)
    config = RunConfig(
        providers=["honest"] * 5
        + ["malformed_pickle", "malformed_wrong_shapes", "malformed_nan", "inf"],
        policy=Policy(
            quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
        ),
    )
    result = simulate(config)
    assert len(rounds_of(result)) == 2  # both rounds finalized: validators survived round 1
    malicious = [
        u for u in result.updates if u.behaviour.startswith("malformed") or u.behaviour == "inf"
    ]
    # the same pickle bytes again in round 2 are a duplicate content hash: refused on chain
    assert {u.behaviour for u in malicious} == {
        "malformed_pickle",
        "malformed_wrong_shapes",
        "malformed_nan",
        "inf",
    }
    assert len(malicious) >= 7
    for update in malicious:
        assert update.status == "rejected"
        assert update.scores and all(score is None for score in update.scores.values())
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert sum(u.status == "accepted" for u in honest) >= 8
    assert not SENTINEL.exists(), "a pickle payload was unpickled"
