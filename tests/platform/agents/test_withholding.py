"""CID withholding: a provider submits the hash and CID of an update it never puts on IPFS.

Every validator scores it unavailable after its fetch deadline, the committee rejects it,
the honest updates of the same round are scored and accepted, and the round closes."""

from __future__ import annotations

from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


def test_withheld_update_is_rejected_and_the_rounds_close() -> None:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest"] * 6 + ["withhold"],
            "policy": Policy(
                quorum=3, max_faulty_validators=2, rounds=2, round_length=40, score_window=30
            ),
        }
    )
    result = simulate(config)
    assert [r.round for r in rounds_of(result)] == [1, 2]  # both rounds finalized
    withheld = [u for u in result.updates if u.behaviour == "withhold"]
    assert len(withheld) == 2
    for update in withheld:
        assert update.status == "rejected"
        # scored unavailable by a majority (later scores of a decided update are skipped)
        assert len(update.scores) >= config.validators // 2 + 1
        assert all(score is None for score in update.scores.values())
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert len(honest) == 12
    assert sum(u.status == "accepted" for u in honest) >= 10
    assert all(row.attesters >= config.policy.quorum for row in rounds_of(result))
