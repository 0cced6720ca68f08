"""The dag report: the DAG picture, tips, consensus over time, decisions; from a result
alone (no chain, no IPFS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ledgerlearn.lab.dag_results import CurvePoint, DagHistory, DagNode
from ledgerlearn.lab.report.dag import DAG_PNG, dag_summary_lines, tips_table, write_dag_report
from ledgerlearn.lab.report.sections import ACCURACY_PNG, REPORT_MD, RESULT_JSON, SCORES_PNG
from ledgerlearn.lab.results import RoundsHistory, RunResult, UpdateRow

ROOT = "0x" + "00" * 32


def node(
    name: str,
    provider: str,
    behaviour: str,
    status: str,
    parents: list[str],
    block: int,
    score: float | None,
) -> DagNode:
    return DagNode(
        name,
        provider,
        behaviour,
        status,
        parents,
        block,
        block + 2,
        score,
        score if status == "accepted" else None,
    )


def dag_result() -> RunResult:
    nodes = [
        node("0xa1", "provider-0", "honest", "accepted", [ROOT], 105, 0.4),
        node("0xb1", "provider-1", "honest", "accepted", [ROOT], 106, 0.3),
        node("0xf1", "provider-2", "sign_flip", "accepted", [ROOT], 106, 0.01),
        node("0xf2", "provider-2", "sign_flip", "rejected", ["0xa1"], 112, -0.4),
        node("0xa2", "provider-0", "honest", "accepted", ["0xa1", "0xb1"], 112, 0.05),
        node("0xb2", "provider-1", "honest", "rejected", ["0xf1"], 113, -0.2),
        node("0xa3", "provider-0", "honest", "pending", ["0xa2"], 120, None),
    ]
    history = DagHistory(
        root=ROOT,
        published_block=100,
        closed_block=121,
        block_time_s=1.0,
        top_k=2,
        nodes=nodes,
        tips=["0xa2", "0xf1"],
        dropped=3,
        consensus=[
            CurvePoint(100, 0.0, 0.08, "0x01", [ROOT]),
            CurvePoint(107, 7.0, 0.55, "0x02", ["0xa1", "0xb1"]),
            CurvePoint(121, 21.0, 0.81, "0x03", ["0xa2"]),
        ],
    )
    result = RunResult(task_id=4, metric="accuracy", initial_metric=0.08, history=history)
    for n in nodes:
        scores = {"validator-0": n.score, "validator-1": n.score}
        result.updates.append(
            UpdateRow(n.submitted_block, n.provider, n.behaviour, n.update, "cid", n.status, scores)
        )
    result.timings["wall_s"] = 30.0
    return result


def test_summary_counts_decisions_and_honest_updates_built_on_byzantine_ones() -> None:
    lines = dag_summary_lines(dag_result())
    text = "\n".join(lines)
    assert "7 update(s) in 21 s: 4 accepted, 2 rejected; 2 tip(s)" in text
    assert "final 81.00%" in text and "+73.00 points" in text
    assert "honest updates built on a Byzantine update: 1 of 5" in text
    assert "Byzantine updates rejected: 1 of 2 (sign_flip 1/2)" in text
    assert "not published" in text and ": 3" in text
    assert tips_table(dag_result()).row_count == 2


def test_the_report_draws_the_dag_and_the_consensus_curve(tmp_path: Path) -> None:
    report = write_dag_report(dag_result(), tmp_path, title="dag report", config={"k": 1})
    assert report == tmp_path / REPORT_MD
    for name in (DAG_PNG, ACCURACY_PNG, SCORES_PNG):
        with Image.open(tmp_path / name) as image:
            assert image.size[0] > 500 and image.size[1] > 300
    text = report.read_text()
    assert "# dag report" in text and f"![the DAG]({DAG_PNG})" in text
    assert "Tips when the task closed" in text and "ledgerlearn dag consensus --task 4" in text
    assert "| 21 | 121 | 81.00% | 1 |" in text  # the consensus over time
    assert "**sign_flip (Byzantine)**" in text and "initial" in text
    assert (tmp_path / RESULT_JSON).exists()


def test_a_federation_result_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a dag run"):
        write_dag_report(RunResult(1, "accuracy", 0.1, RoundsHistory()), tmp_path, title="x")
