"""The report of a finished federation run: a markdown file with the tables, PNG plots, the
on-chain receipts and the raw results, plus the rich tables and summary lines the CLI prints.

Everything here reads a :class:`~ledgerlearn.lab.results.RunResult` whose history is a
:class:`~ledgerlearn.lab.results.RoundsHistory`, and nothing else: no chain, no IPFS. Plots use
matplotlib's object-oriented API on the Agg canvas (no pyplot, no display, no global backend
switch), so writing a report is safe in a headless process and in threads.

Files written by :func:`write_report` into its ``out_dir``:

``report.md``
    Outcome, configuration, per-round table, decision per update with every validator's score,
    decisions by behaviour, timings, links to the other files.
``accuracy.png``
    Test metric of the global model per round (round 0 = initial model), baseline run if given.
``decisions.png``
    Providers x rounds grid: accepted / rejected / pending / not submitted.
``scores.png``
    Validators' scores per round, honest vs each Byzantine behaviour; invalid scores counted
    in a separate strip.
``round_time.png``
    Multi-process runs: each round's wall time by phase (training, ledger + IPFS, scoring and
    aggregation, waiting for the deadline).
``receipts.json``
    Per finalized round: result hash and CID, the accepted updates in on-chain order, attesters.
``result.json``
    The whole run result and its final metric (:meth:`~ledgerlearn.lab.results.RunResult.as_json`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from rich.console import Console
from rich.table import Table
from rich.text import Text

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
    behaviours,
    check_baseline,
    configuration,
    decision_counts,
    decision_lines,
    decisions_by_behaviour,
    dump,
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
    wall,
    write_files,
)
from ledgerlearn.lab.results import RunResult, UpdateRow, rounds_of

__all__ = [
    "DECISIONS_PNG",
    "RECEIPTS_JSON",
    "ROUND_TIME_PNG",
    "decision_table",
    "plot_accuracy",
    "plot_decisions",
    "plot_round_time",
    "plot_scores",
    "receipts",
    "round_table",
    "show",
    "summary_lines",
    "write_report",
]

DECISIONS_PNG = "decisions.png"
ROUND_TIME_PNG = "round_time.png"
RECEIPTS_JSON = "receipts.json"

STATUS_LETTERS = ("A", "R", "E", "P", "")


def _score(value: float | None) -> str:
    return "invalid" if value is None else f"{value:.3f}"


def _validators(result: RunResult) -> list[str]:
    """Validator names in order of first appearance in the updates' scores."""
    names: dict[str, None] = {}
    for row in result.updates:
        names.update(dict.fromkeys(row.scores))
    return list(names)


def _update_rounds(result: RunResult) -> list[int]:
    rounds = rounds_of(result)
    return sorted({row.round for row in result.updates} | {row.round for row in rounds})


def receipts(result: RunResult) -> list[dict[str, Any]]:
    """One receipt per finalized round, as the chain records it.

    The accepted updates are those of :attr:`RunResult.updates` with status ``accepted`` in
    that round, in list (on-chain submission) order — the order the aggregate is computed in.

    Returns
    -------
    list of dict
        ``round``, ``result_hash``, ``result_cid``, ``accepted_updates`` (content hashes),
        ``accepted_update_cids``, ``attesters`` (count).
    """
    out: list[dict[str, Any]] = []
    for rnd in rounds_of(result):
        accepted = [
            row for row in result.updates if row.round == rnd.round and row.status == "accepted"
        ]
        out.append(
            {
                "round": rnd.round,
                "result_hash": rnd.result_hash,
                "result_cid": rnd.result_cid,
                "accepted_updates": [row.update for row in accepted],
                "accepted_update_cids": [row.cid for row in accepted],
                "attesters": rnd.attesters,
            }
        )
    return out


# --- summary and rich tables for the CLI --------------------------------------------------


def summary_lines(
    result: RunResult,
    baseline: RunResult | None = None,
    *,
    baseline_label: str = BASELINE_LABEL,
) -> list[str]:
    """A few plain-text lines (no markup) summing up a run, for the CLI and the report.

    Parameters
    ----------
    result
        The run.
    baseline
        A comparable run (same metric), e.g. the same task without Byzantine providers.
    baseline_label
        How to name the baseline run.

    Raises
    ------
    ValueError
        If ``result`` is not a federation run, or the baseline's metric is not the run's.
    """
    check_baseline(result, baseline)
    rounds = rounds_of(result)
    metric = result.metric
    counts = decision_counts(result)
    accepted = sum(c["accepted"] for c in counts.values())
    rejected = sum(c["rejected"] for c in counts.values())
    expired = sum(c["expired"] for c in counts.values())
    lines = [
        f"task {result.task_id}: {len(rounds)} finalized round(s), "
        f"{len(result.updates)} update(s): {accepted} accepted, {rejected} rejected"
        + (f", {expired} expired (not judged in time)" if expired else ""),
    ]
    if result.background_load is not None:
        lines.append(f"background load: {result.background_load}")
    final = result.final_metric
    lines.append(
        f"{metric}: initial {format_metric(metric, result.initial_metric)}, "
        f"final {format_metric(metric, final)} "
        f"({format_delta(metric, final - result.initial_metric)})"
    )
    if baseline is not None:
        lines.append(
            f"{baseline_label}, task {baseline.task_id}: final "
            f"{format_metric(metric, baseline.final_metric)}; this run vs {baseline_label}: "
            f"{format_delta(metric, final - baseline.final_metric)}"
        )
    lines += decision_lines(counts)
    run_wall = wall(result.timings)
    if run_wall is not None:
        lines.append(f"wall time: {run_wall:.1f} s")
    share = overhead_share(result)
    if share is not None:
        polling = result.agent_seconds["all"].get("events", 0.0)
        lines.append(
            f"ledger + IPFS: {100 * share:.1f}% of the agents' work (transactions and content "
            f"vs training, validation, aggregation); event polling {polling:.1f} s in the "
            "background"
        )
    timed = result.round_timings
    if timed:
        wall_s = sum(t.wall_s for t in timed)
        overhead_s = sum(t.ledger_ipfs_s for t in timed)
        busy_s = wall_s - sum(t.waiting_s for t in timed)
        lines.append(
            f"ledger + IPFS on the rounds' critical path: {overhead_s / len(timed):.1f} s of "
            f"{wall_s / len(timed):.1f} s per round ({100 * overhead_s / wall_s:.1f}% of round "
            f"wall time; {100 * overhead_s / busy_s:.1f}% without the wait for the deadline)"
        )
    gas = [r.gas_used for r in rounds if r.gas_used]
    if gas:
        lines.append(
            f"gas per round: mean {sum(gas) / len(gas):,.0f} (min {min(gas):,}, max {max(gas):,})"
        )
    return lines


def round_table(result: RunResult) -> Table:
    """The per-round table (round 0 is the initial model) for a rich console."""
    metric = result.metric
    rows = Table(title=f"Task {result.task_id}: rounds", title_justify="left")
    for header in ("Round", "Submitted", "Accepted", "Rejected"):
        rows.add_column(header, justify="right")
    rows.add_column(f"Test {metric}", justify="right")
    rows.add_column("Attestations", justify="right")
    rows.add_column("Gas", justify="right")
    rows.add_column("Result CID", overflow="fold")
    rows.add_row("0", "", "", "", format_metric(metric, result.initial_metric), "", "", "initial")
    for rnd in rounds_of(result):
        rows.add_row(
            str(rnd.round),
            str(rnd.submitted),
            Text(str(rnd.accepted), style="green"),
            Text(str(rnd.rejected), style="red" if rnd.rejected else ""),
            format_metric(metric, rnd.test_metric),
            str(rnd.attesters),
            f"{rnd.gas_used:,}",
            short(rnd.result_cid),
        )
    return rows


def decision_table(result: RunResult) -> Table:
    """The decision per update with each validator's score, for a rich console.

    Byzantine providers' rows are bold with their behaviour in red; ``invalid`` marks a
    validator that found the update invalid or unavailable, ``-`` one that did not score it.
    """
    validators = _validators(result)
    rows = Table(title=f"Task {result.task_id}: decisions per update", title_justify="left")
    rows.add_column("Round", justify="right")
    rows.add_column("Provider")
    rows.add_column("Behaviour")
    rows.add_column("Status")
    for name in validators:
        rows.add_column(name, justify="right")
    status_styles = {"accepted": "green", "rejected": "red", "expired": "magenta"}
    for row in result.updates:
        byzantine = is_byzantine(row.behaviour)
        cells: list[str | Text] = [
            str(row.round),
            row.provider,
            Text(row.behaviour, style="bold red" if byzantine else ""),
            Text(row.status, style=status_styles.get(row.status, "yellow")),
        ]
        for name in validators:
            if name not in row.scores:
                cells.append("-")
            elif row.scores[name] is None:
                cells.append(Text("invalid", style="magenta"))
            else:
                cells.append(_score(row.scores[name]))
        rows.add_row(*cells, style="bold" if byzantine else None)
    return rows


# --- plots --------------------------------------------------------------------------------


def _curve(result: RunResult, scale: float) -> tuple[list[int], list[float]]:
    rounds = rounds_of(result)
    xs = [0] + [rnd.round for rnd in rounds]
    ys = [result.initial_metric] + [rnd.test_metric for rnd in rounds]
    return xs, [scale * y for y in ys]


def plot_accuracy(
    result: RunResult,
    path: Path,
    *,
    baseline: RunResult | None = None,
    baseline_label: str = BASELINE_LABEL,
) -> Path:
    """Plot the global model's test metric per round (round 0 = initial model) to a PNG.

    Parameters
    ----------
    result
        The run.
    path
        Where to write the PNG.
    baseline
        A comparable run drawn as a second, dashed line.
    baseline_label
        The baseline's legend entry.

    Returns
    -------
    Path
        ``path``.
    """
    check_baseline(result, baseline)
    metric = result.metric
    drawing, ax, scale = metric_plot(result)
    xs, ys = _curve(result, scale)
    ax.plot(xs, ys, marker="o", color=HONEST_COLOUR, label=run_label(result))
    if baseline is not None:
        bx, by = _curve(baseline, scale)
        ax.plot(
            bx,
            by,
            marker="s",
            linestyle="--",
            color="tab:gray",
            label=f"{baseline_label} (task {baseline.task_id}): "
            f"{format_metric(metric, baseline.final_metric)}",
        )
    ax.set_xlabel("round (0 = initial model)")
    ax.set_title(f"Task {result.task_id}: global model {metric} per round")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    finish_metric_plot(ax, metric)
    drawing.savefig(path)
    return path


def _no_data(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="gray")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_decisions(result: RunResult, path: Path) -> Path:
    """Plot the committee's decisions as a providers x rounds grid to a PNG.

    Cells are accepted, rejected, expired, pending or not submitted (colour and letter). Honest
    providers come first, then Byzantine ones, whose labels are red and bold, with their
    behaviour. If a provider submitted several updates in one round, the cell shows the last.

    Returns
    -------
    Path
        ``path``.
    """
    providers = provider_order((row.provider, row.behaviour) for row in result.updates)
    rounds = _update_rounds(result)
    width = min(16.0, max(6.0, 3.2 + 0.5 * len(rounds)))
    height = min(12.0, max(3.0, 1.4 + 0.42 * len(providers)))
    drawing = figure(width, height)
    ax = drawing.add_subplot()
    ax.set_title(f"Task {result.task_id}: committee decision per update (Byzantine in red)")
    if not providers:
        _no_data(ax, "no updates")
        drawing.savefig(path)
        return path
    not_submitted = STATUS_ORDER.index("not submitted")
    grid = np.full((len(providers), len(rounds)), not_submitted, dtype=np.int64)
    row_of = {name: i for i, (name, _) in enumerate(providers)}
    column_of = {number: j for j, number in enumerate(rounds)}
    for row in result.updates:
        status = row.status if row.status in ("accepted", "rejected", "expired") else "pending"
        grid[row_of[row.provider], column_of[row.round]] = STATUS_ORDER.index(status)
    ax.imshow(
        grid,
        cmap=ListedColormap(list(STATUS_COLOURS)),
        vmin=-0.5,
        vmax=len(STATUS_ORDER) - 0.5,
        aspect="auto",
        interpolation="nearest",
    )
    if len(rounds) <= 40:
        for i in range(len(providers)):
            for j in range(len(rounds)):
                letter = STATUS_LETTERS[grid[i, j]]
                if letter:
                    colour = "black" if STATUS_ORDER[grid[i, j]] == "pending" else "white"
                    ax.text(j, i, letter, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(rounds)), labels=[str(r) for r in rounds])
    label_providers(ax, providers)
    ax.set_xticks(np.arange(-0.5, len(rounds)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(providers)), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("round")
    ax.set_ylabel("provider")
    handles = [
        Patch(facecolor=colour, edgecolor="gray", label=status)
        for status, colour in zip(STATUS_ORDER, STATUS_COLOURS, strict=True)
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    drawing.savefig(path)
    return path


def plot_scores(result: RunResult, path: Path) -> Path:
    """Plot every validator score per round, honest vs each Byzantine behaviour, to a PNG.

    Top panel: valid scores (one point per validator and update, spread a little sideways).
    Bottom panel: the number of ``invalid`` scores per round and behaviour.

    Returns
    -------
    Path
        ``path``.
    """
    rounds = sorted({row.round for row in result.updates})
    groups = behaviours(result)
    width = min(16.0, max(7.0, 3.5 + 0.6 * len(rounds)))
    drawing = figure(width, 5.2)
    ax, strip = drawing.subplots(2, 1, sharex=True, height_ratios=[4, 1])
    ax.set_title(f"Task {result.task_id}: validators' scores per update ({result.metric})")
    if not rounds:
        _no_data(ax, "no updates")
        strip.set_axis_off()
        drawing.savefig(path)
        return path
    group_styles = styles(groups)
    band = 0.8 / len(groups)
    rng = np.random.default_rng(0)
    any_invalid = False
    by_group: dict[str, list[UpdateRow]] = {g: [] for g in groups}
    for row in result.updates:
        by_group[row.behaviour].append(row)
    for k, group in enumerate(groups):
        offset = -0.4 + band * (k + 0.5)
        colour, marker = group_styles[group]
        xs: list[float] = []
        ys: list[float] = []
        invalid = dict.fromkeys(rounds, 0)
        for row in by_group[group]:
            for value in row.scores.values():
                if value is None:
                    invalid[row.round] += 1
                else:
                    xs.append(row.round + offset + rng.uniform(-0.3, 0.3) * band)
                    ys.append(value)
        label = f"{group} (Byzantine)" if is_byzantine(group) else group
        ax.scatter(xs, ys, s=22, color=colour, marker=marker, alpha=0.75, label=label)
        strip.bar(
            [r + offset for r in rounds],
            [invalid[r] for r in rounds],
            width=band * 0.9,
            color=colour,
            alpha=0.75,
        )
        any_invalid = any_invalid or any(invalid.values())
    ax.set_ylabel("score (validator's metric)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    strip.set_ylabel("invalid\nscores")
    strip.set_xlabel("round")
    if len(rounds) <= 25:
        strip.set_xticks(rounds)
    else:
        strip.xaxis.set_major_locator(MaxNLocator(integer=True))
    strip.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    strip.grid(True, axis="y", alpha=0.3)
    if not any_invalid:
        strip.text(
            0.5,
            0.5,
            "no invalid scores",
            ha="center",
            va="center",
            transform=strip.transAxes,
            color="gray",
        )
    drawing.savefig(path)
    return path


def plot_round_time(result: RunResult, path: Path) -> Path:
    """Plot each round's wall time by phase (stacked bars) to a PNG.

    Returns
    -------
    Path
        ``path``.
    """
    timed = result.round_timings
    drawing = figure(min(14.0, max(7.0, 3.0 + 0.8 * len(timed))), 4.2)
    ax = drawing.add_subplot()
    ax.set_title(f"Task {result.task_id}: where each round's wall time went")
    if not timed:
        _no_data(ax, "no per-round timings (simulated run)")
        drawing.savefig(path)
        return path
    rounds = [t.round for t in timed]
    parts = [
        ("training (slowest provider)", [t.training_s for t in timed], "tab:blue"),
        ("scoring + aggregation", [t.scoring_s + t.aggregating_s for t in timed], "tab:green"),
        ("ledger + IPFS", [t.ledger_ipfs_s for t in timed], "tab:red"),
        ("waiting for the deadline", [t.waiting_s for t in timed], "#cccccc"),
    ]
    bottom = np.zeros(len(timed))
    for label, values, colour in parts:
        ax.bar(rounds, values, bottom=bottom, color=colour, label=label, width=0.6)
        bottom += np.asarray(values)
    for r, t in zip(rounds, timed, strict=True):
        ax.text(r, t.wall_s, f"{100 * t.share:.0f}%", ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("round (label: ledger + IPFS share of the round's wall time)")
    ax.set_ylabel("seconds")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    drawing.savefig(path)
    return path


# --- markdown -----------------------------------------------------------------------------

AGENTS_TIME = (
    "Seconds measured inside the agents, summed over each role's processes (agents "
    "work in parallel, so these add up to more than the wall time; waiting for a "
    "deadline is not counted). *work* is what the agents do in reaction to the ledger "
    "(training, validation, aggregation, IPFS, transactions until mined); *Ledger + "
    "IPFS* is the share of that work spent on IPFS and transactions. *events* is the "
    "polling for contract events between steps, in the background."
)
ROUND_TIME = (
    "From the round's start block to its finalization: *submitting* until the last "
    "update is mined, *waiting* until the deadline closes submissions, *closing* until "
    "the aggregate is finalized. *Training* is the slowest provider's, *scoring* the "
    "slowest validator's, *aggregating* the keeper's plus the slowest validator's "
    "recomputation; the rest of the submitting and closing phases (transactions until "
    "mined, IPFS, noticing events, waiting for a CPU) is *ledger + IPFS*, an upper "
    "bound. Block times are when the run first saw each block (within 0.1 s)."
)


def _rounds_section(result: RunResult) -> list[str]:
    """The global model per round, with the committee's counts, attestations and gas."""
    metric = result.metric
    rounds = rounds_of(result)
    out = ["", "## Rounds", ""]
    if not rounds:
        out.append("No round was finalized: the global model is still the initial one.")
        out.append("")
    rows: list[list[object]] = [
        [0, "", "", "", format_metric(metric, result.initial_metric), "", "", "initial model"]
    ]
    rows += [
        [
            r.round,
            r.submitted,
            r.accepted,
            r.rejected,
            format_metric(metric, r.test_metric),
            r.attesters,
            f"{r.gas_used:,}",
            f"`{r.result_cid}`" if r.result_cid else "",
        ]
        for r in rounds
    ]
    out += table(
        [
            "Round",
            "Submitted",
            "Accepted",
            "Rejected",
            f"Test {metric}",
            "Attestations",
            "Gas",
            "Result CID",
        ],
        rows,
    )
    backdoored = [r for r in rounds if r.backdoor_success is not None]
    if backdoored:
        out += [
            "",
            "Backdoor success (share of triggered test inputs of other classes the global "
            "model puts in the attacker's target class), per round: "
            + ", ".join(f"{r.round}: {100 * (r.backdoor_success or 0.0):.1f}%" for r in backdoored),
        ]
    out += ["", f"![{metric} per round]({ACCURACY_PNG})"]
    return out


def _updates_section(result: RunResult) -> list[str]:
    """Every update with each validator's score, then the decision and score plots."""
    validators = _validators(result)
    out = ["", "## Decisions per update", ""]
    if not result.updates:
        out.append("No update was submitted.")
    else:
        out.append(
            "One row per update in on-chain order; Byzantine providers in **bold**. One column "
            "per validator with its score (3 decimals); `invalid`: the validator found the "
            "update invalid or unavailable; `-`: it did not score it."
        )
        out.append("")
        rows: list[list[object]] = []
        for row in result.updates:
            byzantine = is_byzantine(row.behaviour)
            scores = [_score(row.scores[v]) if v in row.scores else "-" for v in validators]
            rows.append(
                [
                    row.round,
                    f"**{row.provider}**" if byzantine else row.provider,
                    f"**{row.behaviour}**" if byzantine else row.behaviour,
                    f"`{short(row.update, 6)}`",
                    f"**{row.status}**" if byzantine else row.status,
                    *scores,
                ]
            )
        out += table(["Round", "Provider", "Behaviour", "Update", "Status", *validators], rows)
    out += ["", f"![decisions]({DECISIONS_PNG})", "", f"![scores]({SCORES_PNG})"]
    return out


def _timings_section(result: RunResult) -> list[str]:
    """The run's measured phases, as shares of its wall time."""
    if not result.timings:
        return []
    wall_s = wall(result.timings)
    share_header = "Share of wall time" if wall_s else "Share"
    rows = [
        [
            key.removesuffix("_s"),
            f"{seconds:.2f}",
            f"{100 * seconds / wall_s:.1f}%" if wall_s else "-",
        ]
        for key, seconds in result.timings.items()
    ]
    return ["", "## Timings", "", *table(["Phase", "Seconds", share_header], rows)]


def _round_time_section(result: RunResult) -> list[str]:
    """Each round's wall time by phase (multi-process runs)."""
    if not result.round_timings:
        return []
    rows = [
        [
            t.round,
            f"{t.wall_s:.1f}",
            f"{t.submitting_s:.1f}",
            f"{t.waiting_s:.1f}",
            f"{t.closing_s:.1f}",
            f"{t.training_s:.1f}",
            f"{t.scoring_s:.1f}",
            f"{t.aggregating_s:.1f}",
            f"{t.ledger_ipfs_s:.1f}",
            f"{100 * t.share:.1f}%",
            f"{100 * t.busy_share:.1f}%",
        ]
        for t in result.round_timings
    ]
    headers = [
        "Round",
        "Wall s",
        "Submitting",
        "Waiting",
        "Closing",
        "Training",
        "Scoring",
        "Aggregating",
        "Ledger + IPFS",
        "Share of wall",
        "Share without waiting",
    ]
    return [
        "",
        "## Where each round's wall time went",
        "",
        ROUND_TIME,
        "",
        *table(headers, rows),
        "",
        f"![round time]({ROUND_TIME_PNG})",
    ]


def _markdown(
    result: RunResult,
    *,
    title: str,
    config: dict[str, Any] | None,
    baseline: RunResult | None,
    baseline_label: str,
) -> list[str]:
    header = (
        f"Task {result.task_id} · metric `{result.metric}` · "
        f"{len(rounds_of(result))} finalized round(s) · {len(result.updates)} update(s)"
    )
    return [
        f"# {title}",
        "",
        header,
        *outcome(summary_lines(result, baseline, baseline_label=baseline_label)),
        *configuration(config),
        *_rounds_section(result),
        *_updates_section(result),
        *decisions_by_behaviour(result),
        *consortium_section(result),
        *_timings_section(result),
        *_round_time_section(result),
        *agents_time(result, AGENTS_TIME, bold_total=True),
        *files(
            [
                f"{link(RECEIPTS_JSON)}: per finalized round, the result hash and CID, the "
                "accepted updates in on-chain order and the number of attesters",
                RESULT_FILE,
                ", ".join(link(name) for name in (ACCURACY_PNG, DECISIONS_PNG, SCORES_PNG)),
                *consortium_files(result),
            ]
        ),
    ]


def write_report(
    result: RunResult,
    out_dir: Path,
    *,
    title: str,
    config: dict[str, Any] | None = None,
    baseline: RunResult | None = None,
    baseline_label: str = BASELINE_LABEL,
) -> Path:
    """Write a run's report folder: markdown, three PNG plots, receipts and raw results.

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
        A comparable run with the same metric, by default the same task without its
        Byzantine providers: its final metric is compared with the run's, its curve drawn
        next to the run's.
    baseline_label
        How to name the baseline run in the text and the legend.

    Returns
    -------
    Path
        The path of ``report.md``.

    Raises
    ------
    ValueError
        If ``result`` is not a federation run, or the baseline's metric is not the run's.
    """
    rounds_of(result)
    check_baseline(result, baseline)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_accuracy(
        result,
        out_dir / ACCURACY_PNG,
        baseline=baseline,
        baseline_label=baseline_label,
    )
    plot_decisions(result, out_dir / DECISIONS_PNG)
    plot_scores(result, out_dir / SCORES_PNG)
    if result.round_timings:
        plot_round_time(result, out_dir / ROUND_TIME_PNG)
    write_consortium(result, out_dir)
    (out_dir / RECEIPTS_JSON).write_text(
        dump({"task_id": result.task_id, "rounds": receipts(result)}), encoding="utf-8"
    )
    markdown = _markdown(
        result, title=title, config=config, baseline=baseline, baseline_label=baseline_label
    )
    return write_files(result, out_dir, markdown)


def show(console: Console, result: RunResult, baseline: RunResult | None = None) -> None:
    """Print the rounds, the decision per update and the summary lines to ``console``."""
    console.print(round_table(result))
    console.print(decision_table(result))
    show_consortium(console, result)
    for line in summary_lines(result, baseline):
        console.print(line)
