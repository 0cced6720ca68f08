"""The run report: files written, tables, plots, receipts, baseline comparison, empty runs."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from rich.console import Console

from ledgerlearn.lab.report.federation import (
    decision_table,
    receipts,
    round_table,
    summary_lines,
    write_report,
)
from ledgerlearn.lab.report.sections import decision_counts, format_delta, format_metric
from ledgerlearn.lab.results import RoundRow, RoundsHistory, RunResult, UpdateRow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PROVIDERS = {"alice": "honest", "bob": "honest", "carol": "honest", "mallory": "sign_flip"}
VALIDATORS = ("v0", "v1", "v2")
METRICS = {1: 0.55, 2: 0.8, 3: 0.9}


def _update(round_: int, provider: str, status: str, score: float | None) -> UpdateRow:
    index = list(PROVIDERS).index(provider)
    return UpdateRow(
        round=round_,
        provider=provider,
        behaviour=PROVIDERS[provider],
        update=f"0x{round_:02x}{index:02x}" + "ab" * 30,
        cid=f"bafyupdate{round_}{index}",
        status=status,
        scores={v: None if score is None else score + 0.01 * i for i, v in enumerate(VALIDATORS)},
    )


def federation_result() -> RunResult:
    """3 rounds, 4 providers (mallory sign-flips, its scores are invalid), 3 validators.

    Carol skips round 2; bob is rejected in round 3.
    """
    updates: list[UpdateRow] = []
    for r in (1, 2, 3):
        for p in PROVIDERS:
            if p == "carol" and r == 2:
                continue
            if p == "mallory":
                updates.append(_update(r, p, "rejected", None))
            elif p == "bob" and r == 3:
                updates.append(_update(r, p, "rejected", 0.2))
            else:
                updates.append(_update(r, p, "accepted", METRICS[r] - 0.05))
    rounds = [
        RoundRow(
            round=r,
            submitted=sum(u.round == r for u in updates),
            accepted=sum(u.round == r and u.status == "accepted" for u in updates),
            rejected=sum(u.round == r and u.status == "rejected" for u in updates),
            test_metric=metric,
            result_hash=f"0x{r:064x}",
            result_cid=f"bafyresult{r}",
            attesters=2 + r % 2,
            gas_used=1_000_000 + r,
        )
        for r, metric in METRICS.items()
    ]
    timings = {"wall_s": 100.0, "training_s": 40.0, "ipfs_s": 10.0, "chain_s": 5.0}
    seconds = {
        "providers": {"training": 30.0, "ipfs": 4.0, "chain": 6.0, "events": 50.0},
        "validators": {"validation": 10.0, "ipfs": 2.0, "chain": 8.0, "events": 40.0},
    }
    seconds["all"] = {
        c: seconds["providers"].get(c, 0.0) + seconds["validators"].get(c, 0.0)
        for c in ("training", "validation", "ipfs", "chain", "events")
    }
    return RunResult(7, "accuracy", 0.1, RoundsHistory(rounds), updates, timings, seconds)


def _baseline() -> RunResult:
    rounds = [
        RoundRow(r, 3, 3, 0, m + 0.02, f"0x{r:064x}", f"bafyb{r}", 3) for r, m in METRICS.items()
    ]
    return RunResult(8, "accuracy", 0.1, RoundsHistory(rounds))


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    config = {"dataset": "digits", "providers": list(PROVIDERS.values()), "validators": 3}
    path = write_report(
        federation_result(),
        out,
        title="Demo report",
        config=config,
        baseline=_baseline(),
        baseline_label="clean run",
    )
    assert path == out / "report.md"
    return out


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_every_file_is_written(report_dir: Path) -> None:
    names = {p.name for p in report_dir.iterdir()}
    assert names == {
        "report.md",
        "accuracy.png",
        "decisions.png",
        "scores.png",
        "receipts.json",
        "result.json",
    }


@pytest.mark.parametrize("name", ["accuracy.png", "decisions.png", "scores.png"])
def test_plots_are_png_files_of_reasonable_size(report_dir: Path, name: str) -> None:
    path = report_dir / name
    width, height = _png_size(path)
    assert 400 <= width <= 2500 and 250 <= height <= 2000
    assert 5_000 < path.stat().st_size < 2_000_000


def test_markdown_has_rounds_decisions_and_links(report_dir: Path) -> None:
    text = (report_dir / "report.md").read_text()
    assert text.startswith("# Demo report\n")
    assert '"dataset": "digits"' in text
    # per-round rows: round, submitted, accepted, rejected, metric, attestations, gas, CID
    assert "| 1 | 4 | 3 | 1 | 55.00% | 3 | 1,000,001 | `bafyresult1` |" in text
    assert "| 2 | 3 | 2 | 1 | 80.00% | 2 | 1,000,002 | `bafyresult2` |" in text
    assert "| 3 | 4 | 2 | 2 | 90.00% | 3 | 1,000,003 | `bafyresult3` |" in text
    assert "| 0 |  |  |  | 10.00% |" in text
    # decisions: Byzantine rows in bold, invalid scores, fixed 3 decimals
    assert "| 1 | **mallory** | **sign_flip** |" in text
    assert "| invalid | invalid | invalid |" in text
    assert "| 0.500 | 0.510 | 0.520 |" in text
    # confusion summary and timings
    assert "| honest | 8 | 7 | 1 | 0 |" in text
    assert "| **sign_flip (Byzantine)** | 3 | 0 | 3 | 0 |" in text
    assert "| training | 40.00 | 40.0% |" in text
    for link in ("accuracy.png", "decisions.png", "scores.png", "receipts.json", "result.json"):
        assert f"]({link})" in text


def test_baseline_difference_is_in_points(report_dir: Path) -> None:
    text = (report_dir / "report.md").read_text()
    assert "final 90.00% (+80.00 points)" in text
    assert "clean run, task 8: final 92.00%; this run vs clean run: -2.00 points" in text


def test_receipts_list_accepted_updates_in_order(report_dir: Path) -> None:
    data = json.loads((report_dir / "receipts.json").read_text())
    assert data["task_id"] == 7
    assert [r["round"] for r in data["rounds"]] == [1, 2, 3]
    result = federation_result()
    first = data["rounds"][0]
    assert first["accepted_updates"] == [u.update for u in result.updates[:3]]
    assert first["result_hash"] == f"0x{1:064x}"
    assert first["result_cid"] == "bafyresult1"
    assert first["attesters"] == 3
    third = data["rounds"][2]
    assert third["accepted_updates"] == [
        u.update for u in result.updates if u.round == 3 and u.provider in ("alice", "carol")
    ]


def test_result_json_round_trips(report_dir: Path) -> None:
    data = json.loads((report_dir / "result.json").read_text())
    assert data["final_metric"] == 0.9
    assert len(data["updates"]) == 11
    assert data["updates"][3]["scores"] == {"v0": None, "v1": None, "v2": None}
    rebuilt = RunResult(
        data["task_id"],
        data["metric"],
        data["initial_metric"],
        RoundsHistory([RoundRow(**r) for r in data["rounds"]]),
        [UpdateRow(**u) for u in data["updates"]],
        data["timings"],
        data["agent_seconds"],
    )
    assert rebuilt == federation_result()


def _render(table: object) -> str:
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


def test_rich_tables_render_numbers() -> None:
    rounds = _render(round_table(federation_result()))
    assert "55.00%" in rounds and "90.00%" in rounds and "bafyresult3" in rounds
    decisions = _render(decision_table(federation_result()))
    assert "invalid" in decisions and "sign_flip" in decisions
    assert "0.850" in decisions and "0.220" in decisions
    assert all(v in decisions for v in VALIDATORS)


def test_summary_and_decision_counts() -> None:
    lines = summary_lines(federation_result(), _baseline())
    assert lines[0] == "task 7: 3 finalized round(s), 11 update(s): 7 accepted, 4 rejected"
    assert "honest updates accepted: 7 of 8" in lines
    assert "Byzantine updates rejected: 3 of 3 (sign_flip 3/3)" in lines
    assert "wall time: 100.0 s" in lines
    counts = decision_counts(federation_result())
    assert list(counts) == ["honest", "sign_flip"]
    assert counts["sign_flip"] == {
        "updates": 3,
        "accepted": 0,
        "rejected": 3,
        "expired": 0,
        "undecided": 0,
    }


def test_run_without_finalized_rounds_still_writes_a_report(tmp_path: Path) -> None:
    pending = _update(1, "alice", "pending", 0.3)
    result = RunResult(3, "accuracy", 0.12, RoundsHistory(), updates=[pending])
    path = write_report(result, tmp_path / "empty", title="Nothing finalized")
    text = path.read_text()
    assert "No round was finalized" in text
    assert "final 12.00% (+0.00 points)" in text
    assert "| pending |" in text
    assert json.loads((tmp_path / "empty" / "receipts.json").read_text())["rounds"] == []
    for name in ("accuracy.png", "decisions.png", "scores.png"):
        assert (tmp_path / "empty" / name).read_bytes()[:8] == PNG_MAGIC
    assert receipts(result) == []
    assert "0" in _render(round_table(result))


def test_run_without_updates_still_writes_a_report(tmp_path: Path) -> None:
    path = write_report(
        RunResult(4, "negative_loss", -2.3, RoundsHistory()), tmp_path, title="Empty"
    )
    text = path.read_text()
    assert "No update was submitted." in text
    assert "-2.3000" in text
    assert (tmp_path / "decisions.png").read_bytes()[:8] == PNG_MAGIC


def test_baseline_with_another_metric_is_refused(tmp_path: Path) -> None:
    other = RunResult(9, "macro_f1", 0.1, RoundsHistory())
    with pytest.raises(ValueError, match=r"'macro_f1'.*'accuracy'"):
        write_report(federation_result(), tmp_path, title="x", baseline=other)
    assert not any(tmp_path.iterdir())


def test_formatting() -> None:
    assert format_metric("accuracy", 0.5) == "50.00%"
    assert format_metric("negative_loss", -0.5) == "-0.5000"
    assert format_delta("macro_f1", 0.0123) == "+1.23 points"
    assert format_delta("negative_loss", -0.5) == "-0.5000"


def test_time_split_and_gas_per_round(report_dir: Path) -> None:
    text = (report_dir / "report.md").read_text()
    # work = 30 + 10 + 6 + 14 = 60 s, of which IPFS + transactions 20 s; polling excluded
    assert "ledger + IPFS: 33.3% of the agents' work" in text
    assert "event polling 90.0 s" in text
    assert "| **all** | 30.0 | 10.0 | 0.0 | 6.0 | 14.0 | 90.0 | 60.0 | 33.3% |" in text
    assert "| providers | 30.0 | 0.0 | 0.0 | 4.0 | 6.0 | 50.0 | 40.0 | 25.0% |" in text
    assert "gas per round: mean 1,000,002 (min 1,000,001, max 1,000,003)" in text
    assert "| 1,000,003 |" in text
    assert "1,000,002" in _render(round_table(federation_result()))
