"""The governance part of a consortium run's report, whatever the flow: the council's
decisions, the draw and the vetting votes with their reasons, the reputation table, who earned
what of the reward (a table and ``rewards.png``), in ``report.md`` and on the console."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgerlearn.lab.consortium_results import ConsortiumRecord, EarningRow
from ledgerlearn.lab.report.sections import (
    DPI,
    figure,
    is_byzantine,
    link,
    short,
    styles,
    table,
)
from ledgerlearn.lab.results import RunResult

__all__ = [
    "REWARDS_PNG",
    "consortium_files",
    "consortium_section",
    "plot_rewards",
    "show_consortium",
    "write_consortium",
]

REWARDS_PNG = "rewards.png"

TOKEN = 10**18
"""Token units per token (the test token has 18 decimals, as ERC-20 tokens usually do)."""


def _tokens(units: int) -> str:
    return f"{units / TOKEN:,.2f}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _vote(approve: bool) -> str:
    return "approve" if approve else "reject"


def consortium_section(result: RunResult) -> list[str]:
    """The report's governance sections (markdown lines, each starting with a blank line);
    none for a laboratory run."""
    record = result.consortium
    if record is None:
        return []
    lines = [
        "",
        "## The consortium's council",
        "",
        f"{record.members} member organisations, one vote each; a proposal passes with the For "
        "votes of a strict majority of the members and is executed by the timelock after its "
        "delay. No key can change the membership or the roles without it.",
        "",
        *table(
            ["#", "Proposal", "Actions", "For", "Against", "Abstain", "Quorum", "Outcome"],
            [
                [
                    d.proposal_id,
                    d.description,
                    "; ".join(short(a, 30) for a in d.actions),
                    d.votes_for,
                    d.votes_against,
                    d.votes_abstain,
                    d.quorum,
                    d.state,
                ]
                for d in record.decisions
            ],
        ),
    ]
    lines += ["", "## The draw and the vetting", ""]
    for v in record.vetting:
        opened = (
            f"opened at block {v.opened_block}, {v.updates} update(s) submitted"
            if v.stage == "open" and v.opened_block is not None
            else f"never opened ({v.updates} update(s))"
        )
        lines += [
            f"**Task {v.task_id}** ({v.parameters:,} parameters): **{v.stage}**, {opened}. "
            f"Committee of {len(v.committee)} drawn from a pool of {len(v.pool)} "
            f"({', '.join(v.pool)}) with the seed `{short(v.seed, 8)}`, the hash of the seeds "
            f"revealed by {', '.join(v.seeds_revealed) or 'nobody'}; anyone re-derives it from "
            "the chain. Drawn: " + (", ".join(v.committee) or "nobody") + ".",
            "",
            *table(
                ["Member", "Vote", "Reason", "Block"],
                [[vote.member, _vote(vote.approve), vote.reason, vote.block] for vote in v.votes],
            ),
            "",
        ]
    lines += [
        "## Reputation",
        "",
        "Derived from the chain's events alone. Providers: their updates' decisions, and "
        "whether the task excluded them (rejected `max_rejections` times).",
        "",
        *table(
            ["Provider", "Behaviour", "Accepted", "Rejected", "Expired", "Excluded"],
            [
                [
                    p.provider,
                    p.behaviour,
                    p.accepted,
                    p.rejected,
                    p.expired,
                    "yes" if p.excluded else "",
                ]
                for p in record.providers
            ],
        ),
        "",
        "Validators: scores of decided updates and how many agreed with the decision, decided "
        "updates of their committee they never scored, scores after the window, committed "
        "scores never revealed, vetting votes. A score revealed after the members who revealed "
        "first had decided the update (in time) counts, and earns credit when it agrees.",
        "",
        *table(
            [
                "Validator",
                "Behaviour",
                "Drawn",
                "Scored",
                "Agreed",
                "Missed",
                "Late",
                "Unrevealed",
                "Vetting votes",
            ],
            [
                [
                    v.validator,
                    v.behaviour,
                    "yes" if v.drawn else "no",
                    v.scored,
                    f"{v.agreed} ({_percent(v.agreed, v.scored)})",
                    v.missed,
                    v.late,
                    v.unrevealed,
                    v.vetting_votes,
                ]
                for v in record.validators
            ],
        ),
    ]
    if record.reward:
        share = record.provider_share_bps / 100
        tolerance = record.max_disagreement_bps / 100
        lines += [
            "",
            "## Rewards",
            "",
            f"{_tokens(record.reward)} test tokens escrowed by the publisher: {share:g}% to the "
            "providers in proportion to their accepted updates, the rest to the validators in "
            "proportion to their timely scores that agreed with the decision; a validator "
            f"whose scores went against the decision more than {tolerance:g}% of the time "
            "forfeits its share to the others. Rejected, copied and absent work earns nothing; "
            f"each earner withdrew its share itself (pull payment). See {link(REWARDS_PNG)}.",
            "",
            *table(
                [
                    "Account",
                    "Role",
                    "Behaviour",
                    "Accepted updates",
                    "Agreeing scores",
                    "Against the decision",
                    "Earned",
                ],
                [
                    [
                        e.account,
                        e.role,
                        e.behaviour,
                        e.accepted_updates,
                        e.agreeing_scores,
                        e.disagreeing_scores,
                        _tokens(e.withdrawn),
                    ]
                    for e in record.earnings
                ],
            ),
        ]
    return lines


def consortium_files(result: RunResult) -> list[str]:
    """The report folder's governance files, for the files section."""
    if result.consortium is None or not result.consortium.reward:
        return []
    return [f"{link(REWARDS_PNG)}: what each provider and validator earned of the reward"]


def plot_rewards(record: ConsortiumRecord, path: Path) -> Path:
    """What each account earned, a bar each, coloured by behaviour."""
    rows: list[EarningRow] = record.earnings
    drawing = figure(7.0, 0.32 * len(rows) + 1.4)
    ax = drawing.add_subplot()
    colour = styles(sorted({e.behaviour for e in rows}))
    ys = list(range(len(rows)))[::-1]
    ax.barh(
        ys,
        [e.withdrawn / TOKEN for e in rows],
        color=[colour[e.behaviour][0] for e in rows],
    )
    ax.set_yticks(ys, [f"{e.account} ({e.behaviour})" for e in rows], fontsize=8)
    ax.set_xlabel("tokens earned (withdrawn)")
    ax.set_title(f"The reward of {_tokens(record.reward)} tokens: who earned what")
    for y, e in zip(ys, rows, strict=True):
        if not e.withdrawn:
            ax.text(0, y, " nothing", va="center", fontsize=8, color="tab:red")
    drawing.savefig(path, dpi=DPI)
    return path


def write_consortium(result: RunResult, out_dir: Path) -> None:
    """Write the governance files of the report folder (none for a laboratory run)."""
    if result.consortium is not None and result.consortium.reward:
        plot_rewards(result.consortium, out_dir / REWARDS_PNG)


def show_consortium(console: Console, result: RunResult) -> None:
    """The council's decisions, the vetting votes and the earnings, as rich tables (nothing
    for a laboratory run)."""
    record = result.consortium
    if record is None:
        return
    council = Table(title="The council's decisions", title_justify="left")
    for name in ("#", "Proposal", "For", "Against", "Quorum", "Outcome"):
        council.add_column(name)
    for d in record.decisions:
        council.add_row(
            str(d.proposal_id),
            d.description,
            str(d.votes_for),
            str(d.votes_against),
            str(d.quorum),
            Text(d.state, style="green" if d.state == "executed" else "red"),
        )
    console.print(council)
    vetting = Table(title="Vetting by the drawn committees", title_justify="left")
    for name in ("Task", "Stage", "Member", "Vote", "Reason"):
        vetting.add_column(name)
    for v in record.vetting:
        for vote in v.votes:
            vetting.add_row(
                str(v.task_id),
                v.stage,
                vote.member,
                Text(_vote(vote.approve), style="green" if vote.approve else "red"),
                vote.reason,
            )
    console.print(vetting)
    if record.earnings:
        earned = Table(title="Who earned what of the reward", title_justify="left")
        for name in (
            "Account",
            "Behaviour",
            "Accepted updates",
            "Agreeing scores",
            "Against the decision",
            "Earned",
        ):
            earned.add_column(name, justify="right" if name != "Account" else "left")
        for e in record.earnings:
            earned.add_row(
                e.account,
                Text(e.behaviour, style="bold red" if is_byzantine(e.behaviour) else ""),
                str(e.accepted_updates),
                str(e.agreeing_scores),
                str(e.disagreeing_scores),
                _tokens(e.withdrawn),
            )
        console.print(earned)
