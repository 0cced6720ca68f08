"""The dag flow end to end in one process: real contracts on py-evm, a real IPFS node, the
same provider and validator agents as the federation flow, on a dag task."""

from __future__ import annotations

import statistics

import pytest

from ledgerlearn.lab.dag_results import dag_of
from ledgerlearn.lab.report.sections import decision_counts
from ledgerlearn.lab.results import RunResult
from ledgerlearn.lab.simulate import RunConfig, simulate


def _byzantine_parent_share(result: RunResult) -> float:
    """Share of the honest updates that name a Byzantine update as a parent."""
    dag = dag_of(result)
    byzantine = {n.update for n in dag.nodes if n.behaviour != "honest"}
    honest = [n for n in dag.nodes if n.behaviour == "honest"]
    return sum(any(p in byzantine for p in n.parents) for n in honest) / len(honest)


@pytest.fixture(scope="module")
def dag_run() -> RunResult:
    return simulate(RunConfig.dag_preset(quick=True, simulated=True))


def test_the_dag_learns_and_the_consensus_improves(dag_run: RunResult) -> None:
    result = dag_run
    dag = dag_of(result)
    assert dag.consensus
    assert result.initial_metric < 0.2
    assert result.final_metric >= 0.85, [round(p.metric, 3) for p in dag.consensus]
    assert dag.consensus[-1].metric > dag.consensus[1].metric
    assert dag.tips and len(dag.final.tips) <= dag.top_k  # type: ignore[union-attr]
    assert dag.dropped is not None and dag.dropped > 0  # publish-if-better held some back


def test_every_update_names_parents_accepted_before_it(dag_run: RunResult) -> None:
    dag = dag_of(dag_run)
    accepted = {n.update: n.decided_block for n in dag.nodes if n.status == "accepted"}
    for node in dag.nodes:
        assert 1 <= len(node.parents) <= 3
        for parent in node.parents:
            if parent == dag.root:
                continue
            assert parent in accepted, "a parent must be an accepted update"
            decided = accepted[parent]
            assert decided is not None and decided <= node.submitted_block
    # the tips are exactly the accepted updates no accepted update names
    named = {p for n in dag.nodes if n.status == "accepted" for p in n.parents}
    assert set(dag.tips) == {u for u in accepted if u not in named}


def test_byzantine_updates_are_rejected_and_not_built_on(dag_run: RunResult) -> None:
    counts = decision_counts(dag_run)
    assert counts["free_rider"]["accepted"] == 0
    for name in ("sign_flip", "label_flip"):
        assert counts[name]["rejected"] >= 0.8 * counts[name]["updates"], counts
    honest = counts["honest"]
    assert honest["accepted"] >= 0.6 * honest["updates"], counts
    assert _byzantine_parent_share(dag_run) <= 0.05


def test_providers_work_at_their_own_pace(dag_run: RunResult) -> None:
    dag = dag_of(dag_run)
    submitted: dict[str, list[int]] = {}
    for node in dag.nodes:
        submitted.setdefault(node.provider, []).append(node.submitted_block)

    def median_gap(names: list[str]) -> float:
        # the median: a gap also holds the wait after a dropped attempt (publish-if-better),
        # which depends on the DAG, not on the provider's speed
        gaps = [b - a for n in names for a, b in zip(submitted[n], submitted[n][1:], strict=False)]
        return float(statistics.median(gaps))

    slow = median_gap(["provider-5", "provider-6"])  # three times slower
    fast = median_gap([f"provider-{i}" for i in (0, 1, 2, 3, 4)])
    assert slow > 2 * fast, (slow, fast)
    first = {name: blocks[0] for name, blocks in submitted.items()}
    assert min(first["provider-5"], first["provider-6"]) > max(
        first[f"provider-{i}"] for i in range(5)
    )
    seconds = dag_run.agent_seconds
    assert seconds["providers"]["training"] > 0 and seconds["validators"]["validation"] > 0


def test_a_poisoned_branch_is_not_built_on_by_honest_providers() -> None:
    """The committee lets every update through (no filtering, threshold far below any
    score): sign-flipped updates are accepted, so only tip selection keeps the honest
    providers off them. With the walk biased by the committee's scores, honest providers
    (almost) never build on them; with the unbiased walk they do."""
    base = RunConfig.dag_preset(quick=True, simulated=True)
    policy = base.policy.model_copy(update={"threshold_mode": "absolute", "threshold": -1000.0})
    config = base.model_copy(
        update={
            "providers": ["honest"] * 7 + ["sign_flip"] * 3,
            "committee_filtering": False,
            "policy": policy,
            "duration_blocks": 60,
            "speeds": None,
        }
    )
    biased = simulate(config)
    unbiased = simulate(
        config.model_copy(update={"dag": config.dag.model_copy(update={"alpha": 0.0})})
    )
    for result in (biased, unbiased):
        counts = decision_counts(result)
        assert counts["sign_flip"]["accepted"] >= 5, counts  # the branch exists on chain
    share, uniform = _byzantine_parent_share(biased), _byzantine_parent_share(unbiased)
    assert share <= 0.05, share
    assert uniform >= 0.15 and uniform >= 3 * share, (share, uniform)
    assert biased.final_metric > unbiased.final_metric


def test_attacks_work_in_the_dag_flow_too() -> None:
    """Omniscient, withholding, malformed and copying attackers run the same behaviours as
    in a federation round; the committee rejects the withheld and malformed ones and most
    copies (a copy of a change that still sits in a validator's recent context is a
    near-duplicate; ALIE stays inside the honest spread by design)."""
    base = RunConfig.dag_preset(quick=True, simulated=True)
    providers = ["honest"] * 6 + ["alie", "withhold", "nan", "free_rider_copy"]
    speeds = [1.0] * 10
    speeds[7] = 6.0  # each withheld update costs every validator a fetch deadline
    config = base.model_copy(
        update={"providers": providers, "duration_blocks": 50, "speeds": speeds}
    )
    result = simulate(config)
    counts = decision_counts(result)
    for name in ("withhold", "nan"):
        assert counts[name]["updates"] > 0 and counts[name]["accepted"] == 0, counts
        invalid = [u for u in result.updates if u.behaviour == name and u.status == "rejected"]
        assert all(all(s is None for s in u.scores.values()) for u in invalid)
    copies = counts["free_rider_copy"]
    assert copies["updates"] > 0 and copies["accepted"] <= copies["updates"] / 4, counts
    assert counts["alie"]["updates"] > 0
    assert result.final_metric >= 0.8
