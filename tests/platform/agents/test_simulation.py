"""The federation flow end to end in one process: real contracts on py-evm, a real IPFS node,
the real agents; 10 providers (3 Byzantine) and 5 validators on non-IID digits."""

from __future__ import annotations

import pytest

from ledgerlearn.lab.report.sections import decision_counts
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig, simulate


@pytest.fixture(scope="module")
def quick_run():  # type: ignore[no-untyped-def]
    return simulate(RunConfig.preset(quick=True, simulated=True))


def test_byzantine_updates_are_rejected_and_honest_ones_accepted(quick_run) -> None:  # type: ignore[no-untyped-def]
    result = quick_run
    assert len(rounds_of(result)) == 3
    byzantine = [u for u in result.updates if u.behaviour != "honest"]
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert len(byzantine) == 9 and len(honest) == 21
    assert all(u.status == "rejected" for u in byzantine)
    accepted = sum(u.status == "accepted" for u in honest)
    assert accepted >= 18, f"only {accepted} of 21 honest updates accepted"
    counts = decision_counts(result)  # the report's summary sees the same decisions
    for name in ("sign_flip", "label_flip", "free_rider"):
        assert counts[name]["rejected"] == 3, counts


def test_the_global_model_learns_and_every_round_is_attested(quick_run) -> None:  # type: ignore[no-untyped-def]
    result = quick_run
    assert result.initial_metric < 0.2
    assert result.final_metric >= 0.85
    assert rounds_of(result)[-1].test_metric > rounds_of(result)[0].test_metric
    assert all(r.attesters >= 3 for r in rounds_of(result))  # quorum k = 3 recomputed each result


def test_gas_and_time_are_measured(quick_run) -> None:  # type: ignore[no-untyped-def]
    result = quick_run
    # every round mines 10 submissions (74k gas each) and the committee's scores
    assert all(r.gas_used > 10 * 70_000 for r in rounds_of(result))
    seconds = result.agent_seconds
    assert set(seconds) == {"publisher", "validators", "providers", "all"}
    assert seconds["providers"]["training"] > 0 and seconds["providers"]["validation"] == 0
    assert seconds["validators"]["validation"] > 0 and seconds["validators"]["training"] == 0
    assert seconds["publisher"]["aggregation"] > 0
    assert seconds["all"]["chain"] == pytest.approx(
        sum(seconds[r]["chain"] for r in ("publisher", "validators", "providers"))
    )


def test_a_run_without_the_byzantine_providers_keeps_the_honest_data() -> None:
    config = RunConfig.preset(quick=True, simulated=True)
    clean = config.without_byzantine()
    assert clean.providers == ["honest"] * 7 and clean.pool_parts == 10
    _, parts, validation, _ = config.data()
    _, clean_parts, clean_validation, _ = clean.data()
    assert len(clean_parts) == 7
    for i, part in enumerate(clean_parts):
        assert (part.x == parts[i].x).all() and (part.y == parts[i].y).all()
    assert (validation.y == clean_validation.y).all()
    with pytest.raises(ValueError, match="its own part index"):
        RunConfig(providers=["honest", "honest"], provider_parts=[1, 1])
    with pytest.raises(ValueError, match="too few"):
        RunConfig(providers=["honest", "honest"], provider_parts=[0, 5], pool_parts=3)
