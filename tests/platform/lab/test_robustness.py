"""The robustness benchmark on a tiny grid through the real flow: the canary holds, the
median resists what breaks the mean, and every output is written."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.lab import robustness
from ledgerlearn.lab.robustness import (
    Cell,
    CellResult,
    Journal,
    RobustnessGrid,
    run_config,
    run_grid,
    target_verdicts,
    worst_cases,
    write_outputs,
)


def test_tiny_grid_canary_and_outputs(tmp_path: Path) -> None:
    grid = RobustnessGrid(
        rules=["mean", "median"],
        attacks=["alie_opt"],
        num_byzantine=[1],
        splits=["iid"],
        filtering=[False],
        rounds=1,
    )
    seen: list[int] = []
    rows = run_grid(grid, lambda row, done, total: seen.append(done))
    assert seen == list(range(1, 7)) and len(rows) == 6  # 2 canary + 2 x (clean + attack)
    canary = [r for r in rows if r.kind == "canary"]
    assert min(r.accuracy or 1.0 for r in canary) <= 0.15  # ran before anything else
    by = {(r.kind, r.rule): r for r in rows if r.kind != "canary"}
    assert by[("attack", "mean")].accuracy <= 0.15  # type: ignore[operator]
    assert by[("attack", "median")].accuracy >= 0.6  # type: ignore[operator]
    assert by[("clean", "median")].accuracy >= 0.6  # type: ignore[operator]
    assert by[("attack", "mean")].byzantine_accepted == 1  # no filtering: it got in
    worst = {w["rule"]: w for w in worst_cases(rows)}
    assert worst["mean"]["worst_attack"] == "alie_opt" and worst["mean"]["gap"] < -0.5  # type: ignore[operator]

    path = write_outputs(grid, rows, tmp_path)
    text = path.read_text()
    assert "| iid | 1 | off | median |" in text and "## Canary" in text
    with (tmp_path / "results.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 6
    assert (tmp_path / "heatmap-iid-f1-off.png").read_bytes()[:4] == b"\x89PNG"


def test_configuration_errors_come_first() -> None:
    with pytest.raises(ValueError, match="unknown attack 'alie2'"):
        RobustnessGrid(attacks=["alie2"]).check()
    with pytest.raises(ValueError, match="unknown rule 'krumm'"):
        RobustnessGrid(rules=["krumm"]).check()


def test_cells_declare_the_rule_for_f_and_turn_filtering_off() -> None:
    grid = RobustnessGrid()
    config = run_config(grid, Cell("krum", "ipm", 3, "dirichlet", False))
    assert config.providers == ["honest"] * 7 + ["ipm"] * 3
    assert config.policy.num_byzantine == 3 and config.policy.aggregation_rule == "krum"
    assert config.policy.threshold_mode == "absolute" and not config.committee_filtering
    clean = run_config(grid, Cell("mean", None, 3, "iid", True))
    assert clean.providers == ["honest"] * 10 and clean.policy.num_byzantine == 0
    assert clean.policy.threshold_mode == "peer" and clean.committee_filtering


def test_an_interrupted_grid_resumes_from_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = RobustnessGrid(
        rules=["median"],
        attacks=["sign_flip", "gaussian"],
        num_byzantine=[1],
        splits=["iid"],
        filtering=[False],
        rounds=1,
    )
    real = robustness.run_cell
    ran: list[str] = []

    def interrupted(grid: RobustnessGrid, cell: Cell, **kw: object) -> object:
        if cell.attack == "gaussian":
            raise KeyboardInterrupt  # the run is stopped before its last cell
        ran.append(cell.attack or "clean")
        return real(grid, cell, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(robustness, "run_cell", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_grid(grid, journal=Journal(tmp_path, grid))
    assert ran == ["alie_opt", "scaling", "clean", "sign_flip"]  # the canary first
    first = {(r.kind, r.attack): r.accuracy for r in Journal(tmp_path, grid).rows}
    assert len(first) == 4

    ran.clear()

    def counted(grid: RobustnessGrid, cell: Cell, **kw: object) -> object:
        ran.append(cell.attack or "clean")
        return real(grid, cell, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(robustness, "run_cell", counted)
    rows = run_grid(grid, journal=Journal(tmp_path, grid))
    assert ran == ["gaussian"]  # only what the journal did not hold
    assert len(rows) == 5 and {(r.kind, r.attack): r.accuracy for r in rows[:4]} == first
    with pytest.raises(LedgerlearnError, match="another grid"):
        Journal(tmp_path, grid.model_copy(update={"rounds": 2}))


def _cell(kind: str, split: str, rule: str, attack: str, filtering: bool, acc: float) -> CellResult:
    return CellResult(kind, "digits", split, rule, attack, 3, filtering, acc, 0, 0, 1.0, "ok")


def test_targets_are_judged_on_the_best_pipeline() -> None:
    rows = [
        _cell("clean", "iid", "median", "none", True, 0.94),
        _cell("attack", "iid", "median", "alie", True, 0.93),
        _cell("attack", "iid", "median", "ipm", True, 0.925),  # worst: -1.5 pts
        _cell("clean", "iid", "mean", "none", False, 0.95),
        _cell("attack", "iid", "mean", "alie", False, 0.10),
        _cell("clean", "dirichlet", "median", "none", True, 0.90),
        _cell("attack", "dirichlet", "median", "ipm", True, 0.79),
        _cell("clean", "dirichlet", "median", "none", False, 0.90),
        _cell("attack", "dirichlet", "median", "ipm", False, 0.70),
    ]
    iid, dirichlet = target_verdicts(rows)
    assert iid.startswith("**met** (iid)") and "median, filtering on" in iid and "-1.5 pts" in iid
    assert dirichlet.startswith("**MISSED** (dirichlet)") and "79.0%" in dirichlet
    assert "statistics alone (filtering off) reach 70.0%" in dirichlet
    rows[2] = _cell("attack", "iid", "median", "ipm", True, 0.915)  # -2.5 pts
    assert target_verdicts(rows)[0].startswith("**MISSED** (iid)")
