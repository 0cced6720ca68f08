"""What every run report has, whatever the flow: the vocabulary (honest or Byzantine, how a
metric value is written), the sections of ``report.md`` every flow shows (outcome,
configuration, decisions by behaviour, where the agents' time went, files), the plot helpers,
and the writing of ``result.json`` and ``report.md``.

Each flow's report (:mod:`~ledgerlearn.lab.report.federation`,
:mod:`~ledgerlearn.lab.report.dag`) puts these sections together with its own. A section is a
list of markdown lines that starts with the blank line before its heading.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ledgerlearn.lab.results import RunResult
from ledgerlearn.stopwatch import CATEGORIES, OVERHEAD, WORK
from ledgerlearn.training import METRICS

__all__ = [
    "ACCURACY_PNG",
    "BASELINE_LABEL",
    "BYZANTINE_COLOURS",
    "BYZANTINE_MARKERS",
    "DPI",
    "HONEST",
    "HONEST_COLOUR",
    "REPORT_MD",
    "RESULT_FILE",
    "RESULT_JSON",
    "SCORES_PNG",
    "STATUS_COLOURS",
    "STATUS_ORDER",
    "UNKNOWN",
    "agents_time",
    "behaviours",
    "check_baseline",
    "configuration",
    "decision_counts",
    "decision_lines",
    "decisions_by_behaviour",
    "dump",
    "figure",
    "files",
    "finish_metric_plot",
    "format_delta",
    "format_metric",
    "is_byzantine",
    "is_fraction",
    "label_providers",
    "link",
    "md",
    "metric_plot",
    "natural",
    "outcome",
    "overhead_share",
    "provider_order",
    "run_label",
    "short",
    "styles",
    "table",
    "wall",
    "write_files",
]

log = logging.getLogger(__name__)

REPORT_MD = "report.md"
ACCURACY_PNG = "accuracy.png"
SCORES_PNG = "scores.png"
RESULT_JSON = "result.json"

HONEST = "honest"
"""The behaviour name of an honest provider; every other known behaviour is Byzantine."""
UNKNOWN = "?"
"""The behaviour :func:`~ledgerlearn.lab.results.update_row` records for an unknown account."""
BASELINE_LABEL = "without the Byzantine providers"
"""What a report calls its baseline run: the same task with only the honest providers."""

DPI = 120
STATUS_ORDER = ("accepted", "rejected", "expired", "pending", "not submitted")
STATUS_COLOURS = ("#2ca02c", "#d62728", "#9467bd", "#ffbf00", "#e6e6e6")
HONEST_COLOUR = "tab:blue"
BYZANTINE_COLOURS = ("tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
BYZANTINE_MARKERS = ("X", "^", "s", "D", "v", "P")


# --- vocabulary and formatting ------------------------------------------------------------


def is_byzantine(behaviour: str) -> bool:
    """Whether a provider with this behaviour is Byzantine (not honest, not unknown)."""
    return behaviour not in (HONEST, UNKNOWN)


def is_fraction(metric: str) -> bool:
    """Whether the metric's values lie in [0, 1] (shown as percentages)."""
    known = METRICS.get(metric)
    return known is not None and known.lower == 0.0 and known.upper == 1.0


def format_metric(metric: str, value: float) -> str:
    """A metric value for people: a percentage for metrics in [0, 1], else 4 decimals.

    Examples
    --------
    >>> format_metric("accuracy", 0.9123)
    '91.23%'
    >>> format_metric("negative_loss", -0.25)
    '-0.2500'
    """
    return f"{100 * value:.2f}%" if is_fraction(metric) else f"{value:.4f}"


def format_delta(metric: str, delta: float) -> str:
    """A signed difference of two metric values: percentage points for metrics in [0, 1].

    Examples
    --------
    >>> format_delta("accuracy", -0.02)
    '-2.00 points'
    >>> format_delta("negative_loss", 0.125)
    '+0.1250'
    """
    return f"{100 * delta:+.2f} points" if is_fraction(metric) else f"{delta:+.4f}"


def short(text: str, keep: int = 10) -> str:
    """``text`` cut in the middle when longer than ``2 * keep`` characters."""
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"


def md(text: object) -> str:
    """A value made safe for a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def natural(name: str) -> list[tuple[int, int | str]]:
    """A sort key putting ``provider-2`` before ``provider-10``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A markdown table, every cell made safe."""
    lines = ["| " + " | ".join(md(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return lines


def link(name: str) -> str:
    """A markdown link to a file of the report folder."""
    return f"[{name}]({name})"


def _finite(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dump(value: Any) -> str:
    """``value`` as indented strict JSON (non-finite floats as null, other values as ``str``)."""
    return json.dumps(_finite(value), indent=2, allow_nan=False, default=str) + "\n"


# --- views of a result --------------------------------------------------------------------


def provider_order(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(provider, behaviour)`` once per provider (its first behaviour): honest providers
    first, then Byzantine ones, by name."""
    seen: dict[str, str] = {}
    for provider, behaviour in pairs:
        seen.setdefault(provider, behaviour)
    return sorted(seen.items(), key=lambda item: (is_byzantine(item[1]), natural(item[0])))


def behaviours(result: RunResult) -> list[str]:
    """Behaviours present: honest first, then the others in order of first appearance."""
    seen = dict.fromkeys(row.behaviour for row in result.updates)
    return sorted(seen, key=lambda b: b != HONEST)


def decision_counts(result: RunResult) -> dict[str, dict[str, int]]:
    """Committee decisions by provider behaviour (a confusion summary).

    Returns
    -------
    dict
        ``behaviour -> {"updates", "accepted", "rejected", "expired", "undecided"}``; honest
        first. ``expired``: the committee could not judge them in time (no credit, no blame);
        ``undecided`` counts updates still pending (or never decided) when the run was read.
    """
    counts = {
        b: {"updates": 0, "accepted": 0, "rejected": 0, "expired": 0, "undecided": 0}
        for b in behaviours(result)
    }
    for row in result.updates:
        entry = counts[row.behaviour]
        entry["updates"] += 1
        decided = row.status in ("accepted", "rejected", "expired")
        entry[row.status if decided else "undecided"] += 1
    return counts


def decision_lines(counts: dict[str, dict[str, int]]) -> list[str]:
    """The outcome's lines on honest updates accepted and Byzantine updates rejected."""
    lines = []
    honest = counts.get(HONEST)
    if honest is not None:
        lines.append(f"honest updates accepted: {honest['accepted']} of {honest['updates']}")
    byzantine = [(b, c) for b, c in counts.items() if is_byzantine(b)]
    if byzantine:
        rejected = sum(c["rejected"] for _, c in byzantine)
        total = sum(c["updates"] for _, c in byzantine)
        detail = ", ".join(f"{b} {c['rejected']}/{c['updates']}" for b, c in byzantine)
        lines.append(f"Byzantine updates rejected: {rejected} of {total} ({detail})")
    return lines


def wall(timings: dict[str, float]) -> float | None:
    """The run's wall time in seconds, if measured."""
    for key in ("wall_s", "wall"):
        if key in timings:
            return timings[key]
    return None


def overhead_share(result: RunResult) -> float | None:
    """Share of all agents' measured time spent on IPFS and the chain (None: not measured)."""
    total = result.agent_seconds.get("all")
    work = sum(total.get(c, 0.0) for c in WORK) if total else 0.0
    if not total or work <= 0:
        return None
    return sum(total.get(c, 0.0) for c in OVERHEAD) / work


def check_baseline(result: RunResult, baseline: RunResult | None) -> None:
    """Refuse a baseline run whose metric is not the run's.

    Raises
    ------
    ValueError
        If the two metrics differ.
    """
    if baseline is not None and baseline.metric != result.metric:
        raise ValueError(
            f"baseline metric {baseline.metric!r} differs from the run's metric "
            f"{result.metric!r}: the two cannot be compared"
        )


# --- plots --------------------------------------------------------------------------------


def figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no global backend)."""
    drawing = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(drawing)
    return drawing


def styles(groups: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``behaviour -> (colour, marker)``: blue dots for honest, distinct ones for the rest."""
    chosen: dict[str, tuple[str, str]] = {}
    others = 0
    for group in groups:
        if group == HONEST:
            chosen[group] = (HONEST_COLOUR, "o")
        elif group == UNKNOWN:
            chosen[group] = ("tab:gray", "o")
        else:
            chosen[group] = (
                BYZANTINE_COLOURS[others % len(BYZANTINE_COLOURS)],
                BYZANTINE_MARKERS[others % len(BYZANTINE_MARKERS)],
            )
            others += 1
    return chosen


def metric_plot(result: RunResult) -> tuple[Figure, Axes, float]:
    """A figure for the curve of the run's test metric, its axes, and the factor the values
    are drawn at (100 for a metric in [0, 1]: a percentage)."""
    drawing = figure(7.0, 4.2)
    return drawing, drawing.add_subplot(), 100.0 if is_fraction(result.metric) else 1.0


def run_label(result: RunResult) -> str:
    """The legend entry of the run's curve: its task and final metric."""
    return f"this run (task {result.task_id}): {format_metric(result.metric, result.final_metric)}"


def finish_metric_plot(ax: Axes, metric: str) -> None:
    """The y axis of a metric's curve (0-105% for a metric in [0, 1]), grid and legend."""
    fraction = is_fraction(metric)
    ax.set_ylabel(f"test {metric}" + (" (%)" if fraction else ""))
    if fraction:
        ax.set_ylim(0, 105)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")


def label_providers(ax: Axes, providers: Sequence[tuple[str, str]]) -> None:
    """One y tick per ``(provider, behaviour)``; Byzantine ones red, bold, with their
    behaviour."""
    labels = [f"{name} [{b}]" if is_byzantine(b) else name for name, b in providers]
    ax.set_yticks(range(len(providers)), labels=labels)
    for label, (_, behaviour) in zip(ax.get_yticklabels(), providers, strict=True):
        if is_byzantine(behaviour):
            label.set_color("tab:red")
            label.set_fontweight("bold")


# --- sections of report.md ----------------------------------------------------------------


def outcome(lines: Sequence[str]) -> list[str]:
    """The run summed up, one bullet a line."""
    return ["", "## Outcome", "", *(f"- {line}" for line in lines)]


def configuration(config: dict[str, Any] | None) -> list[str]:
    """The run's configuration as JSON (nothing without one)."""
    if config is None:
        return []
    return ["", "## Configuration", "", "```json", dump(config).rstrip(), "```"]


def decisions_by_behaviour(result: RunResult, *, expired: bool = True) -> list[str]:
    """The committee's decisions counted per provider behaviour; ``expired``: with a column
    for updates the committee could not judge in time."""
    headers = ["Behaviour", "Updates", "Accepted", "Rejected"]
    kinds = ["updates", "accepted", "rejected"]
    if expired:
        headers.append("Expired")
        kinds.append("expired")
    headers.append("Undecided")
    kinds.append("undecided")
    rows = [
        [f"**{b} (Byzantine)**" if is_byzantine(b) else b, *(c[k] for k in kinds)]
        for b, c in decision_counts(result).items()
    ]
    return ["", "## Decisions by behaviour", "", *table(headers, rows)]


def agents_time(result: RunResult, intro: str, *, bold_total: bool) -> list[str]:
    """Seconds per stopwatch category and role, the work and its ledger + IPFS share
    (nothing when the agents' time was not measured); ``bold_total``: the ``all`` row in
    bold."""
    if not result.agent_seconds:
        return []
    rows: list[list[object]] = []
    for role, seconds in result.agent_seconds.items():
        work = sum(seconds.get(c, 0.0) for c in WORK)
        share = sum(seconds.get(c, 0.0) for c in OVERHEAD) / work if work > 0 else 0.0
        cells = [f"{seconds.get(c, 0.0):.1f}" for c in CATEGORIES]
        name = f"**{role}**" if bold_total and role == "all" else role
        rows.append([name, *cells, f"{work:.1f}", f"{100 * share:.1f}%"])
    return [
        "",
        "## Where the agents' time went",
        "",
        intro,
        "",
        *table(["Role", *CATEGORIES, "work", "Ledger + IPFS"], rows),
    ]


RESULT_FILE = f"{link(RESULT_JSON)}: the whole run result"
"""The files section's entry for ``result.json``."""


def files(entries: Sequence[str]) -> list[str]:
    """The report folder's other files, one bullet an entry (the end of report.md)."""
    return ["", "## Files", "", *(f"- {entry}" for entry in entries), ""]


# --- files --------------------------------------------------------------------------------


def write_files(result: RunResult, out_dir: Path, markdown: Sequence[str]) -> Path:
    """Write ``result.json`` (:meth:`~ledgerlearn.lab.results.RunResult.as_json`) and
    ``report.md`` (the lines) into ``out_dir``; returns the path of ``report.md``."""
    (out_dir / RESULT_JSON).write_text(dump(result.as_json()), encoding="utf-8")
    report = out_dir / REPORT_MD
    report.write_text("\n".join(markdown), encoding="utf-8")
    log.info("report written to %s", report)
    return report
