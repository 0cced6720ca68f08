"""The robustness benchmark: aggregation rules x attacks x Byzantine counts x data splits.

Every cell is a whole task through the real flow (:func:`~ledgerlearn.lab.simulate.simulate`:
the contracts on the in-process EVM, an IPFS node, the agents), with ``f`` of the ``n``
providers running the attack and the task's rule declaring ``num_byzantine = f``. Each cell
runs with the committee's filtering (sanity checks and peer-relative scores) and without it
(validators accept every decodable update: robust statistics alone). Every (rule, split,
filtering) also runs clean, with no attacker, as the reference.

A canary runs first: the plain mean without filtering, one attacker, under optimised ALIE
and under x10 scaling. If neither collapses the mean (test accuracy <= 15%), the attack code
is wrong and every other figure would prove nothing: the run says so and fails.

A full grid runs for an hour or more, so every finished cell is appended to a journal
(:class:`Journal`, ``results.csv`` in the output folder, next to the grid's settings in
``grid.json``); run again into the same folder, the grid skips the cells already done.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from ledgerlearn.aggregation import RULE_IDS, BreakdownPointError, get
from ledgerlearn.behaviours import BEHAVIOURS
from ledgerlearn.data import DirichletPartitioner, IidPartitioner
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.simulate import RunConfig, simulate

log = logging.getLogger(__name__)

CANARY_ATTACKS = ("alie_opt", "scaling")
CANARY_CEILING = 0.15
"""The plain mean must fall to this test accuracy under one canary attack."""

Split = Literal["iid", "dirichlet"]
SPLITS: tuple[Split, ...] = ("iid", "dirichlet")


class RobustnessGrid(BaseModel):
    """Which cells to run."""

    model_config = ConfigDict(extra="forbid")

    dataset: Literal["digits", "mnist"] = "digits"
    rules: list[str] = Field(default_factory=lambda: list(RULE_IDS))
    attacks: list[str] = Field(
        default_factory=lambda: [
            "sign_flip",
            "gaussian",
            "scaling",
            "alie",
            "alie_opt",
            "ipm",
            "ipm_opt",
            "alie_adaptive",
            "ipm_adaptive",
            "mimic",
            "label_flip",
            "backdoor",
            "free_rider",
            "free_rider_copy",
        ]
    )
    num_byzantine: list[int] = Field(default_factory=lambda: [1, 3])
    splits: list[Split] = Field(default_factory=lambda: list(SPLITS))
    filtering: list[bool] = Field(default_factory=lambda: [True, False])
    providers: int = Field(10, ge=4)
    rounds: int = Field(
        6,
        ge=1,
        description="Rounds per task: at 3 the clean digits model is still improving and a "
        "task that rejects f of n providers' updates trails one that keeps all of them.",
    )
    alpha: float = Field(0.5, gt=0, description="Dirichlet concentration of the non-IID split.")
    seed: int = 0

    @classmethod
    def quick(cls) -> RobustnessGrid:
        """A small grid for a smoke run (a few minutes)."""
        return cls(
            rules=["mean", "median", "trimmed_mean"],
            attacks=["sign_flip", "alie_opt", "scaling"],
            num_byzantine=[3],
            splits=["iid"],
            filtering=[False],
            rounds=2,
        )

    def check(self) -> None:
        """Unknown rule or attack names fail before anything runs."""
        for rule in self.rules:
            if rule not in RULE_IDS:
                raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULE_IDS)}")
        for attack in self.attacks:
            if attack not in BEHAVIOURS or attack == "honest":
                raise ValueError(f"unknown attack {attack!r}")


@dataclass(frozen=True)
class Cell:
    """One run of the grid (attack ``None``: the clean reference)."""

    rule: str
    attack: str | None
    num_byzantine: int
    split: Split
    filtering: bool


@dataclass(frozen=True)
class CellResult:
    """What one cell measured."""

    kind: str  # "canary", "clean" or "attack"
    dataset: str
    split: str
    rule: str
    attack: str
    num_byzantine: int
    filtering: bool
    accuracy: float | None  # None: not run (status says why)
    byzantine_accepted: int
    honest_rejected: int
    seconds: float
    status: str  # "ok", "breakdown: ...", "failed: ..."


NO_TOLERANCE = frozenset({"mean"})
"""Rules that tolerate no Byzantine update by definition: declared with num_byzantine = 0."""


def declared_f(rule: str, f: int) -> int:
    """The num_byzantine a task with this rule declares when it expects ``f`` attackers."""
    return 0 if rule in NO_TOLERANCE else f


def run_config(grid: RobustnessGrid, cell: Cell) -> RunConfig:
    """The task of one cell: ``f`` attackers last, the rule at ``num_byzantine = f``."""
    f = cell.num_byzantine if cell.attack is not None else 0
    providers = ["honest"] * (grid.providers - f) + [cell.attack or "honest"] * f
    partition = IidPartitioner() if cell.split == "iid" else DirichletPartitioner(alpha=grid.alpha)
    if cell.filtering:
        threshold: dict[str, object] = {}
    else:  # every decodable update clears an absolute threshold of -1000 (the lowest allowed)
        threshold = {"threshold": -1000.0, "threshold_mode": "absolute"}
    policy = Policy(
        quorum=2,
        max_faulty_validators=1,
        rounds=grid.rounds,
        round_length=40,
        score_window=30,
        aggregation_rule=cell.rule,
        num_byzantine=declared_f(cell.rule, cell.num_byzantine),
        **threshold,
    )
    base = RunConfig.preset(quick=grid.dataset == "digits", simulated=True)
    return base.model_copy(
        update={
            "providers": providers,
            "validators": 3,
            "partition": partition,
            "policy": policy,
            "committee_filtering": cell.filtering,
            "seed": grid.seed,
        }
    )


def cells(grid: RobustnessGrid) -> Iterator[Cell]:
    """Every cell: per (split, filtering, rule, f), the clean reference (no attacker, the
    rule still declared for ``f``) then each attack."""
    for split in grid.splits:
        for filtering in grid.filtering:
            for rule in grid.rules:
                for f in grid.num_byzantine:
                    yield Cell(rule, None, f, split, filtering)
                    for attack in grid.attacks:
                        yield Cell(rule, attack, f, split, filtering)


def run_cell(grid: RobustnessGrid, cell: Cell, *, kind: str | None = None) -> CellResult:
    """Run one cell; a rule beyond its breakdown point is recorded, not run."""
    started = time.perf_counter()

    def row(status: str, accuracy: float | None = None, byz: int = 0, rej: int = 0) -> CellResult:
        return CellResult(
            kind=kind or ("attack" if cell.attack else "clean"),
            dataset=grid.dataset,
            split=cell.split,
            rule=cell.rule,
            attack=cell.attack or "clean",
            num_byzantine=cell.num_byzantine,
            filtering=cell.filtering,
            accuracy=accuracy,
            byzantine_accepted=byz,
            honest_rejected=rej,
            seconds=time.perf_counter() - started,
            status=status,
        )

    try:
        f = declared_f(cell.rule, cell.num_byzantine)
        get(cell.rule, num_byzantine=f).check_num_updates(grid.providers)
    except BreakdownPointError as exc:
        return row(f"breakdown: {exc}")
    try:
        result = simulate(run_config(grid, cell))
    except LedgerlearnError as exc:
        log.warning("cell %s failed: %s", cell, exc)
        return row(f"failed: {exc}")
    byzantine = [u for u in result.updates if u.behaviour != "honest"]
    honest = [u for u in result.updates if u.behaviour == "honest"]
    return row(
        "ok",
        result.final_metric,
        sum(u.status == "accepted" for u in byzantine),
        sum(u.status == "rejected" for u in honest),
    )


class CanaryError(LedgerlearnError):
    """The plain mean survived the canary attacks: the attack code is wrong."""


def canary(grid: RobustnessGrid, split: Split = "iid") -> list[CellResult]:
    """Plain mean, no filtering, one attacker, under each canary attack."""
    rows = [
        run_cell(grid, Cell("mean", attack, 1, split, False), kind="canary")
        for attack in CANARY_ATTACKS
    ]
    if not any(r.accuracy is not None and r.accuracy <= CANARY_CEILING for r in rows):
        got = ", ".join(f"{r.attack}: {r.accuracy}" for r in rows)
        raise CanaryError(
            f"CANARY FAILED: the plain mean kept {got} (must fall to <= {CANARY_CEILING:.0%} "
            "under one of them): the attack code is wrong and no other figure can be trusted"
        )
    return rows


def _key(row: CellResult) -> tuple[object, ...]:
    return (row.kind, row.split, row.filtering, row.rule, row.num_byzantine, row.attack)


def _cell_key(cell: Cell) -> tuple[object, ...]:
    kind = "attack" if cell.attack else "clean"
    return (kind, cell.split, cell.filtering, cell.rule, cell.num_byzantine, cell.attack or "clean")


class Journal:
    """The cells finished so far, on disk: ``results.csv`` and the grid in ``grid.json``.

    Parameters
    ----------
    out_dir
        The benchmark's output folder.
    grid
        The grid being run; a folder holding another grid's journal is refused.
    """

    def __init__(self, out_dir: Path, grid: RobustnessGrid) -> None:
        self.csv = out_dir / "results.csv"
        settings = out_dir / "grid.json"
        out_dir.mkdir(parents=True, exist_ok=True)
        if settings.exists():
            if RobustnessGrid.model_validate_json(settings.read_text()) != grid:
                raise LedgerlearnError(
                    f"{out_dir} holds the journal of another grid (grid.json): run with the "
                    "same settings to resume it, or choose another output folder"
                )
        else:
            settings.write_text(grid.model_dump_json(indent=1))
        self.rows: list[CellResult] = read_csv(self.csv) if self.csv.exists() else []

    def done(self) -> dict[tuple[object, ...], CellResult]:
        """Finished cells by key."""
        return {_key(r): r for r in self.rows}

    def add(self, row: CellResult) -> None:
        """Append one finished cell (flushed: a killed run keeps it)."""
        new = not self.csv.exists()
        with self.csv.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(row)))
            if new:
                writer.writeheader()
            writer.writerow(asdict(row))
        self.rows.append(row)


def run_grid(
    grid: RobustnessGrid,
    on_cell: Callable[[CellResult, int, int], None] | None = None,
    journal: Journal | None = None,
) -> list[CellResult]:
    """The canary, then every cell; ``on_cell(result, done, total)`` after each.

    With a ``journal``, cells it already holds are not run again and every new one is added
    to it as soon as it finishes.
    """
    grid.check()
    todo = list(cells(grid))
    done = journal.done() if journal is not None else {}
    canaries = [r for r in done.values() if r.kind == "canary"]
    if not canaries:
        canaries = canary(grid)
        for row in canaries:
            if journal is not None:
                journal.add(row)
    results = list(canaries)
    total = len(todo) + len(results)
    for i, row in enumerate(results):
        if on_cell is not None:
            on_cell(row, i + 1, total)
    for cell in todo:
        row = done.get(_cell_key(cell)) or run_cell(grid, cell)
        if journal is not None and _key(row) not in done:
            journal.add(row)
        results.append(row)
        if on_cell is not None:
            on_cell(row, len(results), total)
    return results


# --- outputs ------------------------------------------------------------------------------


def write_csv(rows: list[CellResult], path: Path) -> None:
    """One line per cell."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(rows[0])))
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))


def read_csv(path: Path) -> list[CellResult]:
    """Cells written by :func:`write_csv` or a :class:`Journal`."""
    rows = []
    with path.open(newline="") as handle:
        for raw in csv.DictReader(handle):
            try:
                rows.append(
                    CellResult(
                        kind=raw["kind"],
                        dataset=raw["dataset"],
                        split=raw["split"],
                        rule=raw["rule"],
                        attack=raw["attack"],
                        num_byzantine=int(raw["num_byzantine"]),
                        filtering=raw["filtering"] == "True",
                        accuracy=float(raw["accuracy"]) if raw["accuracy"] else None,
                        byzantine_accepted=int(raw["byzantine_accepted"]),
                        honest_rejected=int(raw["honest_rejected"]),
                        seconds=float(raw["seconds"]),
                        status=raw["status"],
                    )
                )
            except (KeyError, TypeError, ValueError) as exc:  # a torn last line is dropped
                log.warning("%s: skipping an unreadable line (%s)", path, exc)
    return rows


def _groups(rows: list[CellResult]) -> dict[tuple[str, int, bool], list[CellResult]]:
    groups: dict[tuple[str, int, bool], list[CellResult]] = {}
    for row in rows:
        if row.kind == "attack" and row.status == "ok":
            groups.setdefault((row.split, row.num_byzantine, row.filtering), []).append(row)
    return groups


def _clean(rows: list[CellResult], split: str, rule: str, f: int, filtering: bool) -> float | None:
    for row in rows:
        key = (row.kind, row.split, row.rule, row.num_byzantine, row.filtering)
        if key == ("clean", split, rule, f, filtering):
            return row.accuracy
    return None


def worst_cases(rows: list[CellResult]) -> list[dict[str, object]]:
    """Per (split, f, filtering, rule): the clean accuracy, the worst attack and its accuracy."""
    table = []
    for (split, f, filtering), group in sorted(_groups(rows).items()):
        for rule in dict.fromkeys(r.rule for r in group):
            mine = [r for r in group if r.rule == rule and r.accuracy is not None]
            worst = min(mine, key=lambda r: r.accuracy or 0.0)
            clean = _clean(rows, split, rule, f, filtering)
            table.append(
                {
                    "split": split,
                    "f": f,
                    "filtering": filtering,
                    "rule": rule,
                    "clean": clean,
                    "worst_attack": worst.attack,
                    "worst": worst.accuracy,
                    "gap": None if clean is None else (worst.accuracy or 0.0) - clean,
                }
            )
    return table


def target_verdicts(rows: list[CellResult]) -> list[str]:
    """The issue's targets at f = 3, each judged on the best pipeline (rule and filtering):
    IID, the worst case within 2 points of that pipeline's clean run (best: the smallest
    gap); Dirichlet, the worst case at least 80% (best: the highest worst case)."""

    def num(value: object) -> float:
        return float(value)  # type: ignore[arg-type]

    out = []
    table = [w for w in worst_cases(rows) if w["f"] == 3 and w["worst"] is not None]
    iid = [w for w in table if w["split"] == "iid" and w["gap"] is not None]
    if iid:
        best = max(iid, key=lambda w: num(w["gap"]))
        met = num(best["gap"]) >= -0.02
        out.append(
            f"**{'met' if met else 'MISSED'}** (iid) best pipeline's worst case within 2 "
            f"points of its clean run: {best['rule']}, filtering "
            f"{'on' if best['filtering'] else 'off'}: {_pct(best['worst'])} under "
            f"{best['worst_attack']} vs {_pct(best['clean'])} clean "
            f"({100 * num(best['gap']):+.1f} pts)"
        )
    dirichlet = [w for w in table if w["split"] == "dirichlet"]
    if dirichlet:
        best = max(dirichlet, key=lambda w: num(w["worst"]))
        met = num(best["worst"]) >= 0.80
        line = (
            f"**{'met' if met else 'MISSED'}** (dirichlet) best pipeline's worst case >= 80%: "
            f"{best['rule']}, filtering {'on' if best['filtering'] else 'off'}: "
            f"{_pct(best['worst'])} under {best['worst_attack']}"
        )
        alone = [w for w in dirichlet if not w["filtering"]]
        if alone:
            top = max(alone, key=lambda w: num(w["worst"]))
            line += f"; statistics alone (filtering off) reach {_pct(top['worst'])} ({top['rule']})"
        out.append(line)
    return out


def _pct(value: object) -> str:
    return "-" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def write_markdown(grid: RobustnessGrid, rows: list[CellResult], path: Path) -> None:
    """The canary, the worst case per rule, skipped cells."""
    out = [f"# Robustness benchmark ({grid.dataset}, n = {grid.providers})", ""]
    out += ["## Canary (plain mean, no filtering, f = 1)", ""]
    out += [
        f"Passes when the plain mean falls to <= {CANARY_CEILING:.0%} under at least one of "
        "these attacks (otherwise the run stops: the attack code is wrong).",
        "",
    ]
    for row in (r for r in rows if r.kind == "canary"):
        fell = row.accuracy is not None and row.accuracy <= CANARY_CEILING
        out.append(f"- {row.attack}: {_pct(row.accuracy)} ({'collapsed' if fell else 'held'})")
    verdicts = target_verdicts(rows)
    if verdicts:
        out += ["", "## Targets (3 of 10 Byzantine)", ""]
        out += [f"- {v}" for v in verdicts]
    out += ["", "## Worst case per rule", ""]
    out.append("| split | f | committee filtering | rule | clean | worst attack | worst | gap |")
    out.append("|---|---|---|---|---|---|---|---|")
    for w in worst_cases(rows):
        gap = "-" if w["gap"] is None else f"{100 * float(w['gap']):+.1f} pts"  # type: ignore[arg-type]
        out.append(
            f"| {w['split']} | {w['f']} | {'on' if w['filtering'] else 'off'} | {w['rule']} | "
            f"{_pct(w['clean'])} | {w['worst_attack']} | {_pct(w['worst'])} | {gap} |"
        )
    skipped = [r for r in rows if r.status != "ok"]
    if skipped:
        out += ["", "## Not run", ""]
        seen = set()
        for r in skipped:
            key = (r.rule, r.num_byzantine, r.status)
            if key not in seen:
                seen.add(key)
                out.append(f"- {r.rule}, f = {r.num_byzantine}: {r.status}")
    out += ["", "Heatmaps: `heatmap-<split>-f<f>-<filtering>.png`; every cell: `results.csv`.", ""]
    path.write_text("\n".join(out))


def write_heatmaps(rows: list[CellResult], out_dir: Path) -> list[Path]:
    """One PNG per (split, f, filtering): rules x attacks, final test accuracy."""
    paths = []
    for (split, f, filtering), group in sorted(_groups(rows).items()):
        rules = list(dict.fromkeys(r.rule for r in group))
        attacks = list(dict.fromkeys(r.attack for r in group))
        grid = np.full((len(rules), len(attacks)), np.nan)
        for r in group:
            grid[rules.index(r.rule), attacks.index(r.attack)] = r.accuracy or 0.0
        figure = Figure(figsize=(1.0 + 0.8 * len(attacks), 1.0 + 0.45 * len(rules)), dpi=110)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(attacks)), attacks, rotation=45, ha="right")
        ax.set_yticks(range(len(rules)), rules)
        for i in range(len(rules)):
            for j in range(len(attacks)):
                if not np.isnan(grid[i, j]):
                    color = "white" if grid[i, j] < 0.5 else "black"
                    ax.text(j, i, f"{100 * grid[i, j]:.0f}", ha="center", va="center",
                            fontsize=7, color=color)  # fmt: skip
        label = "filtering on" if filtering else "filtering off"
        ax.set_title(f"{split}, f = {f}, {label}: test accuracy (%)")
        figure.colorbar(image, ax=ax)
        figure.tight_layout()
        path = out_dir / f"heatmap-{split}-f{f}-{'on' if filtering else 'off'}.png"
        figure.savefig(path)
        paths.append(path)
    return paths


def write_outputs(grid: RobustnessGrid, rows: list[CellResult], out_dir: Path) -> Path:
    """CSV, markdown and heatmaps; returns the markdown's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out_dir / "results.csv")
    write_heatmaps(rows, out_dir)
    path = out_dir / "robustness.md"
    write_markdown(grid, rows, path)
    return path
