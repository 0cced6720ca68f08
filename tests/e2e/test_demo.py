"""The quick demo end to end: a devnet, every agent a separate process with its own key and
IPFS node, 5 validators, 10 providers of which 3 Byzantine, digits, 3 rounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerlearn.lab.demo import run_demo
from ledgerlearn.lab.report.federation import write_report
from ledgerlearn.lab.results import rounds_of
from ledgerlearn.lab.simulate import RunConfig


def test_quick_demo(tmp_path: Path) -> None:
    result = run_demo(RunConfig.preset(quick=True), tmp_path / "run", timeout_s=600)
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
    quorum = RunConfig.preset(quick=True).policy.quorum
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
    alarms = [
        f"{log.name}: {line}"
        for log in sorted((tmp_path / "run" / "logs").glob("*.log"))
        if log.name != "devnet.log"
        for line in log.read_text(errors="replace").splitlines()
        if " WARNING " in line or " ERROR " in line or "Traceback" in line
    ]
    assert not alarms, "\n".join(alarms[:20])
    report = write_report(result, tmp_path / "report", title="e2e quick demo")
    text = report.read_text()
    assert "provider-7" in text and (tmp_path / "report" / "accuracy.png").exists()
    assert "Where each round's wall time went" in text
    assert (tmp_path / "report" / "round_time.png").exists()
