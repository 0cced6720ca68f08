"""The report of a finished dag run: the DAG as a picture, its tips, the consensus model over
time, the committee's decisions, where the time went.

Reads a :class:`~ledgerlearn.lab.results.RunResult` whose history is a
:class:`~ledgerlearn.lab.dag_results.DagHistory` (see
:func:`~ledgerlearn.lab.dag_results.collect_dag`) and nothing else. Files written by
:func:`write_dag_report` into its ``out_dir``:

``report.md``
    Outcome, configuration, the tips and the consensus model, decisions by behaviour and per
    update (with parents and committee score), timings.
``dag.png``
    The DAG: one lane per provider (Byzantine ones in red), updates at their submission
    time, coloured accepted / rejected / pending, an edge to each parent; the tips ringed,
    the final consensus model's tips starred.
``accuracy.png``
    The consensus model's test metric over time (and a baseline run's, if given).
``scores.png``
    The committee score of every update over time, honest vs each Byzantine behaviour.
``result.json``
    The whole run result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerlearn.lab.dag_results import DagHistory, DagNode, dag_of
from ledgerlearn.lab.report.consortium import (
    consortium_files,
    consortium_section,
    show_consortium,
    write_consortium,
)
from ledgerlearn.lab.report.sections import (
    ACCURACY_PNG,
    BASELINE_LABEL,
    HONEST_COLOUR,
    RESULT_FILE,
    SCORES_PNG,
    STATUS_COLOURS,
    STATUS_ORDER,
    agents_time,
    check_baseline,
    configuration,
    decision_counts,
    decision_lines,
    decisions_by_behaviour,
    figure,
    files,
    finish_metric_plot,
    format_delta,
    format_metric,
    is_byzantine,
    label_providers,
    link,
    metric_plot,
    outcome,
    overhead_share,
    provider_order,
    run_label,
    short,
    styles,
    table,
    write_files,
)
from ledgerlearn.lab.results import RunResult

__all__ = [
    "DAG_PNG",
    "dag_summary_lines",
    "plot_consensus",
    "plot_dag",
    "plot_dag_scores",
    "show",
    "tips_table",
    "write_dag_report",
]

DAG_PNG = "dag.png"
COLOUR = dict(zip(STATUS_ORDER, STATUS_COLOURS, strict=True))


def _seconds(history: DagHistory, block: int) -> float:
    return (block - history.published_block) * history.block_time_s


def _status(node: DagNode) -> str:
    return node.status if node.status in ("accepted", "rejected") else "pending"


# --- summary and rich tables --------------------------------------------------------------


def dag_summary_lines(result: RunResult, baseline: RunResult | None = None) -> list[str]:
    """A few plain-text lines summing up a dag run (CLI and report)."""
    history = dag_of(result)
    metric = result.metric
    counts = decision_counts(result)
    accepted = sum(c["accepted"] for c in counts.values())
    rejected = sum(c["rejected"] for c in counts.values())
    end = history.closed_block if history.closed_block is not None else history.published_block
    lines = [
        f"task {result.task_id} (dag): {len(history.nodes)} update(s) in "
        f"{_seconds(history, end):.0f} s: {accepted} accepted, {rejected} rejected; "
        f"{len(history.tips)} tip(s) at the end",
        f"consensus model (top {history.top_k} tips): {metric} initial "
        f"{format_metric(metric, result.initial_metric)}, final "
        f"{format_metric(metric, result.final_metric)} "
        f"({format_delta(metric, result.final_metric - result.initial_metric)})",
    ]
    if baseline is not None:
        lines.append(
            f"{BASELINE_LABEL} (task {baseline.task_id}): final "
            f"{format_metric(metric, baseline.final_metric)}; this run vs that: "
            f"{format_delta(metric, result.final_metric - baseline.final_metric)}"
        )
    lines += decision_lines(counts)
    if any(is_byzantine(b) for b in counts):
        built = _built_on_byzantine(history)
        lines.append(
            f"honest updates built on a Byzantine update: {built[0]} of {built[1]} "
            "(natural selection: accepted poisoned updates are left to die out)"
        )
    if history.dropped is not None:
        lines.append(
            f"models trained but not published (did not beat their parents on the provider's "
            f"own held-out data): {history.dropped}"
        )
    wall = result.timings.get("wall_s")
    if wall is not None:
        lines.append(f"wall time: {wall:.1f} s")
    share = overhead_share(result)
    if share is not None:
        lines.append(f"ledger + IPFS: {100 * share:.1f}% of the agents' work")
    return lines


def _built_on_byzantine(history: DagHistory) -> tuple[int, int]:
    """(honest updates naming a Byzantine parent, honest updates)."""
    byzantine = {n.update for n in history.nodes if is_byzantine(n.behaviour)}
    honest = [n for n in history.nodes if not is_byzantine(n.behaviour)]
    return sum(any(p in byzantine for p in n.parents) for n in honest), len(honest)


def tips_table(result: RunResult) -> Table:
    """The tips when the task closed, best first, for a rich console."""
    history = dag_of(result)
    nodes = {n.update: n for n in history.nodes}
    final = set(history.final.tips) if history.final is not None else set()
    rows = Table(title=f"Task {result.task_id}: tips (best first)", title_justify="left")
    for header in ("Tip", "Provider", "Behaviour", "Quality", "Accepted at (s)", "Consensus"):
        rows.add_column(header)
    for tip in history.tips:
        node = nodes.get(tip)
        if node is None:
            rows.add_row(
                short(tip, 6), "(initial model)", "", "", "", "yes" if tip in final else ""
            )
            continue
        decided = (
            "" if node.decided_block is None else f"{_seconds(history, node.decided_block):.0f}"
        )
        rows.add_row(
            short(tip, 6),
            node.provider,
            Text(node.behaviour, style="bold red" if is_byzantine(node.behaviour) else ""),
            "" if node.quality is None else f"{node.quality:.3f}",
            decided,
            "yes" if tip in final else "",
        )
    return rows


# --- plots --------------------------------------------------------------------------------


def plot_dag(result: RunResult, path: Path) -> Path:
    """Draw the DAG to a PNG (see the module docstring)."""
    history = dag_of(result)
    lanes = provider_order((node.provider, node.behaviour) for node in history.nodes)
    lane_of = {name: i for i, (name, _) in enumerate(lanes)}
    width = min(18.0, max(8.0, 4.0 + 0.05 * len(history.nodes)))
    drawing = figure(width, max(4.0, 1.6 + 0.45 * len(lanes)))
    ax = drawing.add_subplot()
    ax.set_title(
        f"Task {result.task_id}: the DAG ({len(history.nodes)} updates; edges to parents; "
        "tips ringed, consensus tips starred)"
    )
    root_y = (len(lanes) - 1) / 2 if lanes else 0.0
    where: dict[str, tuple[float, float]] = {history.root: (0.0, root_y)}
    for node in history.nodes:
        where[node.update] = (_seconds(history, node.submitted_block), lane_of[node.provider])
    edges = [
        [where[p], where[node.update]] for node in history.nodes for p in node.parents if p in where
    ]
    ax.add_collection(LineCollection(edges, colors="0.55", linewidths=0.6, alpha=0.5, zorder=1))
    tips = set(history.tips)
    final = set(history.final.tips) if history.final is not None else set()
    for status in ("rejected", "pending", "accepted"):
        chosen = [n for n in history.nodes if _status(n) == status]
        ax.scatter(
            [where[n.update][0] for n in chosen],
            [where[n.update][1] for n in chosen],
            s=[70 if n.update in tips else 36 for n in chosen],
            c=COLOUR[status],
            edgecolors=["black" if n.update in tips else "white" for n in chosen],
            linewidths=[1.8 if n.update in tips else 0.5 for n in chosen],
            zorder=3,
        )
    stars = [where[t] for t in final if t in where]
    if stars:
        ax.scatter(
            [x for x, _ in stars],
            [y for _, y in stars],
            marker="*",
            s=140,
            c="gold",
            edgecolors="black",
            linewidths=0.8,
            zorder=4,
        )
    ax.scatter([0.0], [root_y], marker="s", s=80, c="black", zorder=4)
    ax.annotate(
        "initial model", (0.0, root_y), textcoords="offset points", xytext=(6, 6), fontsize=8
    )
    label_providers(ax, lanes)
    ax.set_ylim(-0.7, max(len(lanes) - 0.3, 0.7))
    ax.set_xlabel("submitted at (s since publication)")
    ax.grid(True, axis="x", alpha=0.3)
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor=COLOUR[s],
            markeredgecolor="white",
            markersize=7,
            label=s,
        )
        for s in ("accepted", "rejected", "pending")
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=1.8,
            markersize=8,
            label="tip",
        )
    )
    handles.append(
        Line2D(
            [],
            [],
            marker="*",
            linestyle="",
            markerfacecolor="gold",
            markeredgecolor="black",
            markersize=11,
            label="in the consensus model",
        )
    )
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    drawing.savefig(path)
    return path


def _curve(result: RunResult, scale: float) -> tuple[list[float], list[float]]:
    history = dag_of(result)
    xs = [p.seconds for p in history.consensus]
    ys = [scale * p.metric for p in history.consensus]
    return xs, ys


def plot_consensus(result: RunResult, path: Path, *, baseline: RunResult | None = None) -> Path:
    """The consensus model's test metric over time (and a baseline dag run's) to a PNG."""
    metric = result.metric
    drawing, ax, scale = metric_plot(result)
    xs, ys = _curve(result, scale)
    ax.step(xs, ys, where="post", color=HONEST_COLOUR, marker=".", label=run_label(result))
    if baseline is not None and isinstance(baseline.history, DagHistory):
        bx, by = _curve(baseline, scale)
        ax.step(
            bx,
            by,
            where="post",
            color="tab:gray",
            linestyle="--",
            label=f"{BASELINE_LABEL}: {format_metric(metric, baseline.final_metric)}",
        )
    ax.set_xlabel("time since publication (s)")
    ax.set_title(f"Task {result.task_id}: consensus model (top {dag_of(result).top_k} tips)")
    finish_metric_plot(ax, metric)
    drawing.savefig(path)
    return path


def plot_dag_scores(result: RunResult, path: Path) -> Path:
    """Committee score of every update over time, honest vs each Byzantine behaviour."""
    history = dag_of(result)
    groups = list(
        dict.fromkeys(sorted((n.behaviour for n in history.nodes), key=lambda b: is_byzantine(b)))
    )
    group_styles = styles(groups)
    drawing = figure(8.0, 4.2)
    ax = drawing.add_subplot()
    ax.set_title(f"Task {result.task_id}: committee score per update ({result.metric})")
    for group in groups:
        colour, marker = group_styles[group]
        chosen = [n for n in history.nodes if n.behaviour == group and n.score is not None]
        invalid = sum(n.behaviour == group and n.score is None for n in history.nodes)
        label = f"{group} (Byzantine)" if is_byzantine(group) else group
        if invalid:
            label += f"; {invalid} invalid"
        ax.scatter(
            [_seconds(history, n.submitted_block) for n in chosen],
            [n.score or 0.0 for n in chosen],
            color=colour,
            marker=marker,
            s=22,
            alpha=0.75,
            label=label,
        )
    ax.set_xlabel("submitted at (s since publication)")
    ax.set_ylabel("committee score (lower median)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    drawing.savefig(path)
    return path


# --- markdown -----------------------------------------------------------------------------

AGENTS_TIME = (
    "Seconds measured inside the agents, summed over each role's processes; *Ledger + "
    "IPFS* is the share of the work spent on IPFS and transactions."
)


def _dag_section(result: RunResult) -> list[str]:
    """The DAG's picture, its tips when the task closed and the final consensus model."""
    history = dag_of(result)
    metric = result.metric
    nodes = {n.update: n for n in history.nodes}
    out = ["", "## The DAG", "", f"![the DAG]({DAG_PNG})", ""]
    out.append(
        "Each dot is an update, on its provider's lane at its submission time; lines go to "
        "the parents it names (the square is the initial model). Green: accepted, red: "
        "rejected, yellow: pending when the task closed. Ringed: the tips when the task "
        "closed; starred: the tips the final consensus model aggregates."
    )
    out += ["", "## Tips when the task closed", ""]
    final = history.final
    rows: list[list[object]] = []
    for tip in history.tips:
        node = nodes.get(tip)
        used = "yes" if final is not None and tip in final.tips else ""
        if node is None:
            rows.append([f"`{short(tip, 6)}`", "(initial model)", "", "", "", used])
            continue
        rows.append(
            [
                f"`{short(tip, 6)}`",
                f"**{node.provider}**" if is_byzantine(node.behaviour) else node.provider,
                node.behaviour,
                "" if node.quality is None else f"{node.quality:.3f}",
                ""
                if node.decided_block is None
                else f"{_seconds(history, node.decided_block):.0f}",
                used,
            ]
        )
    out += table(["Tip", "Provider", "Behaviour", "Quality", "Accepted at (s)", "Consensus"], rows)
    if final is not None:
        out += [
            "",
            f"Consensus model: the robust aggregate of the top {history.top_k} recent tips by "
            f"quality, content hash `{final.content_hash}`, test {metric} "
            f"{format_metric(metric, final.metric)}. Anyone recomputes it from the chain "
            f"and IPFS: `ledgerlearn dag consensus --task {result.task_id} --at-block "
            f"{final.block} --top {history.top_k}`.",
        ]
    return out


def _consensus_section(result: RunResult) -> list[str]:
    """The consensus model's test metric each time the DAG changed."""
    history = dag_of(result)
    metric = result.metric
    rows = [
        [
            f"{p.seconds:.0f}",
            p.block,
            format_metric(metric, p.metric),
            len(p.tips),
            f"`{short(p.content_hash, 6)}`",
        ]
        for p in history.consensus
    ]
    return [
        "",
        "## Consensus model over time",
        "",
        f"![consensus]({ACCURACY_PNG})",
        "",
        *table(["Time (s)", "Block", f"Test {metric}", "Tips", "Content hash"], rows),
    ]


def _updates_section(result: RunResult) -> list[str]:
    """The committee scores' plot, then every update with its parents, the committee's
    decision and score."""
    history = dag_of(result)
    out = ["", f"![scores]({SCORES_PNG})", "", "## Decisions per update", ""]
    out.append(
        "In on-chain order. Score: the committee's lower median (relative modes: the metric "
        "minus the parents' merge's). Parents: content hashes (`initial`: the initial model)."
    )
    out.append("")
    rows: list[list[object]] = []
    for node in history.nodes:
        byzantine = is_byzantine(node.behaviour)
        parents = ", ".join(
            "initial" if p == history.root else f"`{short(p, 4)}`" for p in node.parents
        )
        rows.append(
            [
                f"{_seconds(history, node.submitted_block):.0f}",
                f"**{node.provider}**" if byzantine else node.provider,
                f"**{node.behaviour}**" if byzantine else node.behaviour,
                f"`{short(node.update, 6)}`",
                parents,
                f"**{node.status}**" if byzantine else node.status,
                "invalid" if node.score is None else f"{node.score:+.4f}",
            ]
        )
    out += table(
        ["Submitted (s)", "Provider", "Behaviour", "Update", "Parents", "Status", "Score"], rows
    )
    return out


def _markdown(
    result: RunResult, *, title: str, config: dict[str, Any] | None, baseline: RunResult | None
) -> list[str]:
    return [
        f"# {title}",
        *outcome(dag_summary_lines(result, baseline)),
        *configuration(config),
        *_dag_section(result),
        *_consensus_section(result),
        *decisions_by_behaviour(result, expired=False),
        *_updates_section(result),
        *consortium_section(result),
        *agents_time(result, AGENTS_TIME, bold_total=False),
        *files(
            [
                ", ".join(link(name) for name in (DAG_PNG, ACCURACY_PNG, SCORES_PNG)),
                RESULT_FILE,
                *consortium_files(result),
            ]
        ),
    ]


def write_dag_report(
    result: RunResult,
    out_dir: Path,
    *,
    title: str,
    config: dict[str, Any] | None = None,
    baseline: RunResult | None = None,
) -> Path:
    """Write a dag run's report folder; returns the path of ``report.md``.

    Parameters
    ----------
    result
        The run, as read back from the chain.
    out_dir
        The folder (created if missing; existing report files are overwritten).
    title
        The report's heading.
    config
        The run's configuration (JSON-serialisable; other values are written with ``str``).
    baseline
        A dag run of the same task without its Byzantine providers (same metric): its
        final metric is compared with the run's, its curve drawn next to the run's.

    Raises
    ------
    ValueError
        If ``result`` is not a dag run, or the baseline's metric is not the run's.
    """
    dag_of(result)
    check_baseline(result, baseline)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_dag(result, out_dir / DAG_PNG)
    plot_consensus(result, out_dir / ACCURACY_PNG, baseline=baseline)
    plot_dag_scores(result, out_dir / SCORES_PNG)
    write_consortium(result, out_dir)
    markdown = _markdown(result, title=title, config=config, baseline=baseline)
    return write_files(result, out_dir, markdown)


def show(console: Console, result: RunResult, baseline: RunResult | None = None) -> None:
    """Print the tips and the summary lines to ``console``."""
    console.print(tips_table(result))
    show_consortium(console, result)
    for line in dag_summary_lines(result, baseline):
        console.print(line)
