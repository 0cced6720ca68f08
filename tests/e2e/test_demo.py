"""The quick demo end to end, as ``make demo-quick`` runs it: a consortium on a devnet, every
agent a separate process with its own key and IPFS node, 10 providers of which 3 Byzantine,
6 validators in the pool (one lies) and a committee of 5 drawn from it, digits, 3 rounds.

Governance (issue 14, section 5): two organisations admitted by the council's vote, the task
vetted and approved by its drawn committee, a second task rejected at vetting and never opened,
scores by commit-reveal, the Byzantine providers excluded, the reward split at close and
withdrawn by each earner."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerlearn.lab.demo import run_demo
from ledgerlearn.lab.report.federation import write_report
from ledgerlearn.lab.results import RunResult, rounds_of
from ledgerlearn.lab.simulate import RunConfig

CONFIG = RunConfig.preset(quick=True).as_consortium()


def test_quick_demo(tmp_path: Path) -> None:
    result = run_demo(CONFIG, tmp_path / "run", timeout_s=600)
    assert len(rounds_of(result)) == 3
    assert all(r.attesters >= 3 for r in rounds_of(result))
    byzantine = [u for u in result.updates if u.behaviour != "honest"]
    honest = [u for u in result.updates if u.behaviour == "honest"]
    assert byzantine and honest
    # sign flipping, label flipping and free riding never get in
    assert all(u.status == "rejected" for u in byzantine), [
        (u.round, u.behaviour, u.status) for u in byzantine
    ]
    accepted = sum(u.status == "accepted" for u in honest)
    assert accepted >= 0.8 * len(honest), f"{accepted} of {len(honest)} honest accepted"
    # an honest update is never rejected for want of scores: it was judged by a quorum (a
    # digits update can legitimately fall below the peer threshold), or it expired
    quorum = CONFIG.policy.quorum
    unjudged = [
        (u.round, u.provider, len(u.scores))
        for u in honest
        if u.status == "rejected" and len(u.scores) < quorum
    ]
    assert not unjudged, unjudged
    assert result.final_metric >= 0.8
    assert all(r.gas_used > 0 for r in rounds_of(result))
    # every round's wall time is split into phases that add up, from the agents' intervals
    assert [t.round for t in result.round_timings] == [1, 2, 3]
    for t in result.round_timings:
        assert t.submitting_s + t.waiting_s + t.closing_s == pytest.approx(t.wall_s)
        assert 0 < t.ledger_ipfs_s < t.wall_s
    # each agent process wrote where its time went; the demo summed them per role
    seconds = result.agent_seconds
    assert seconds["providers"]["training"] > 0 and seconds["validators"]["validation"] > 0
    assert seconds["publisher"]["aggregation"] > 0 and seconds["all"]["ipfs"] > 0
    # nothing went wrong, and the logs say so: a WARNING or an ERROR means something did
    # (normal races are INFO in plain words)
    # (a Byzantine provider excluded by the task says so as a WARNING: for it, it went wrong)
    byzantine_logs = {f"provider-{i}.log" for i, b in enumerate(CONFIG.providers) if b != "honest"}
    alarms = [
        f"{log.name}: {line}"
        for log in sorted((tmp_path / "run" / "logs").glob("*.log"))
        if log.name != "devnet.log"
        for line in log.read_text(errors="replace").splitlines()
        if (" WARNING " in line or " ERROR " in line or "Traceback" in line)
        and not (log.name in byzantine_logs and "excluded this provider" in line)
    ]
    assert not alarms, "\n".join(alarms[:20])
    report = write_report(result, tmp_path / "report", title="e2e quick demo")
    text = report.read_text()
    assert "provider-7" in text and (tmp_path / "report" / "accuracy.png").exists()
    assert "Where each round's wall time went" in text
    assert (tmp_path / "report" / "round_time.png").exists()
    for heading in (
        "The consortium's council",
        "The draw and the vetting",
        "Reputation",
        "Rewards",
    ):
        assert f"## {heading}" in text
    assert (tmp_path / "report" / "rewards.png").exists()
    check_governance(result)


def check_governance(result: RunResult) -> None:
    """What the council, the draw, the vetting, commit-reveal and the reward did."""
    record = result.consortium
    assert record is not None
    # two organisations admitted by vote: a majority of the founders for, one against
    assert [d.state for d in record.decisions] == ["executed", "executed"]
    assert all(d.votes_for >= d.quorum and d.votes_against == 1 for d in record.decisions)
    assert record.members == CONFIG.validators + len(CONFIG.providers) + 1
    # the task: a committee of 5 drawn from the pool of 6 (the admitted validator in it),
    # approved with reasons before it opened
    task, rejected = record.vetting
    assert task.stage == "open" and task.opened_block is not None and task.updates > 0
    assert len(task.pool) == CONFIG.validators and "validator-5" in task.pool
    assert len(task.committee) == CONFIG.policy.draw_size and set(task.committee) <= set(task.pool)
    assert task.seed.startswith("0x") and len(task.seeds_revealed) == CONFIG.validators
    approvals = [v for v in task.votes if v.approve]
    assert len(approvals) >= CONFIG.policy.quorum
    assert all("within limits" in v.reason for v in approvals)
    # the second task, a model over the validators' limit: rejected, never opened
    assert rejected.stage == "rejected" and rejected.opened_block is None
    assert rejected.updates == 0 and rejected.parameters > 1_000_000
    assert rejected.votes and not any(v.approve for v in rejected.votes)
    assert all("above the limit of 1,000,000" in v.reason for v in rejected.votes)
    # the free riders and the poisoners: rejected twice, excluded, nothing earned
    providers = {p.provider: p for p in record.providers}
    earned = {e.account: e for e in record.earnings}
    for i, b in enumerate(CONFIG.providers):
        name = f"provider-{i}"
        if b == "honest":
            assert earned[name].withdrawn > 0 and not providers[name].excluded
        else:
            assert providers[name].excluded and providers[name].rejected == 2
            assert earned[name].withdrawn == 0 and earned[name].accepted_updates == 0
    # commit-reveal: every drawn member revealed every score it committed (after the first
    # reveals decided an update, the others' are still taken), and earned by agreeing scores
    for v in record.validators:
        assert v.unrevealed == 0, v
        if not v.drawn:
            assert v.scored == 0 and earned[v.validator].withdrawn == 0
        elif v.behaviour == "honest":
            assert v.agreed >= 0.8 * v.scored > 0 and earned[v.validator].withdrawn > 0
        else:  # the liar, when drawn: it passed the poisoned updates, it earns nothing
            assert earned[v.validator].disagreeing_scores > 0
            assert earned[v.validator].withdrawn == 0
    paid = sum(e.withdrawn for e in record.earnings)
    assert record.reward - 10**6 < paid <= record.reward  # all but rounding dust (token units)
