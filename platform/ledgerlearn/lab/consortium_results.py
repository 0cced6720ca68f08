"""What a consortium run's governance produced, read back from the chain: the council's
decisions, each task's draw and vetting votes with their reasons, the reputation table and
who earned what of the reward.

Everything here comes from the chain's events and views (the index, the council, the reward
escrow, the ledger's credits); the names and behaviours are the cast's, for display.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.council import Council
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.flows.reputation import ValidatorReputation, reputation

__all__ = [
    "ConsortiumRecord",
    "DecisionRow",
    "EarningRow",
    "ProviderRow",
    "ValidatorRow",
    "VettingRow",
    "VoteRow",
    "collect_consortium",
]


@dataclass(frozen=True)
class DecisionRow:
    """A council proposal and its outcome."""

    proposal_id: int
    description: str
    actions: list[str]
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int
    state: str


@dataclass(frozen=True)
class VoteRow:
    """A drawn member's vetting vote."""

    member: str
    approve: bool
    reason: str
    block: int


@dataclass(frozen=True)
class VettingRow:
    """A task's committee draw and vetting."""

    task_id: int
    parameters: int
    stage: str  # open (approved), rejected, expired, or still drawing/vetting
    pool: list[str]  # the members eligible at the draw, pool order
    seeds_revealed: list[str]  # the members whose revealed seeds made the draw's seed
    seed: str  # the draw's seed, hex ("" before the draw)
    committee: list[str]
    votes: list[VoteRow]
    opened_block: int | None
    updates: int  # submitted to it (0 for a task that never opened)


@dataclass(frozen=True)
class ProviderRow:
    """A provider's reputation in the run's tasks."""

    provider: str
    behaviour: str
    accepted: int
    rejected: int
    expired: int
    excluded: bool


@dataclass(frozen=True)
class ValidatorRow:
    """A validator's reputation in the run's tasks."""

    validator: str
    behaviour: str
    drawn: bool  # sits on the run's task's committee
    scored: int
    agreed: int
    missed: int
    late: int
    unrevealed: int
    vetting_votes: int


@dataclass(frozen=True)
class EarningRow:
    """What one account earned of the task's reward, and what it withdrew."""

    account: str
    role: str
    behaviour: str
    accepted_updates: int  # provider credits
    agreeing_scores: int  # validator credits (the ledger's, and reveals after the decision)
    disagreeing_scores: int  # scores against the decision, counted the same way
    withdrawn: int  # token units (18 decimals)


@dataclass
class ConsortiumRecord:
    """A consortium run's governance, for the report."""

    members: int
    decisions: list[DecisionRow] = field(default_factory=list)
    vetting: list[VettingRow] = field(default_factory=list)
    providers: list[ProviderRow] = field(default_factory=list)
    validators: list[ValidatorRow] = field(default_factory=list)
    reward: int = 0  # escrowed for the task, token units
    provider_share_bps: int = 0
    max_disagreement_bps: int = 0  # validators against the decision more often forfeit
    earnings: list[EarningRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The record as ``result.json`` holds it."""
        return dataclasses.asdict(self)


def collect_consortium(
    participant: Participant,
    task_id: int,
    other_tasks: list[int],
    names: dict[str, str],
    behaviours: dict[str, str],
) -> ConsortiumRecord:
    """Read the governance of ``task_id`` (the run's task) and of ``other_tasks`` (tasks that
    were vetted too, e.g. one rejected) from the chain.

    Parameters
    ----------
    participant
        Any participant of the consortium deployment, synced.
    names, behaviours
        Display name and behaviour of each account (validators' behaviours included).
    """

    def name(account: str) -> str:
        return names.get(account, account)

    council = Council(participant.client)
    record = ConsortiumRecord(members=len(council.members()))
    for proposal in reversed(council.proposals()):  # oldest first
        record.decisions.append(
            DecisionRow(
                proposal_id=proposal.proposal_id,
                description=proposal.description,
                actions=[a.summary for a in proposal.actions],
                votes_for=proposal.votes_for,
                votes_against=proposal.votes_against,
                votes_abstain=proposal.votes_abstain,
                quorum=proposal.quorum,
                state=proposal.state.name.lower(),
            )
        )
    tasks = participant.index.tasks
    for tid in [task_id, *other_tasks]:
        task = tasks[tid]
        v = task.vetting
        record.vetting.append(
            VettingRow(
                task_id=tid,
                parameters=participant.spec(tid).num_parameters(),
                stage=task.stage.name.lower(),
                pool=[name(m) for m in v.eligible],
                seeds_revealed=[name(m) for m in v.seeds_revealed],
                seed="0x" + v.seed.hex() if v.seed is not None else "",
                committee=[name(m) for m in task.params.committee],
                votes=[
                    VoteRow(name(m), vote.approve, vote.reason, vote.block_number)
                    for m, vote in v.votes.items()
                ],
                opened_block=task.opened_block,
                updates=len(task.updates),
            )
        )
    task = tasks[task_id]
    table = reputation([tasks[t] for t in [task_id, *other_tasks]])
    for account, p in sorted(table.providers.items(), key=lambda kv: _order(name(kv[0]))):
        record.providers.append(
            ProviderRow(
                provider=name(account),
                behaviour=behaviours.get(account, "?"),
                accepted=p.accepted,
                rejected=p.rejected,
                expired=p.expired,
                excluded=task_id in p.excluded_from,
            )
        )
    validators = [a for a in names if a in table.validators or _role(name(a)) == "validator"]
    for account in sorted(validators, key=lambda a: _order(name(a))):
        judge = table.validators.get(account) or ValidatorReputation(account)
        record.validators.append(
            ValidatorRow(
                validator=name(account),
                behaviour=behaviours.get(account, "?"),
                drawn=account in task.params.committee,
                scored=judge.scored,
                agreed=judge.agreed,
                missed=judge.missed,
                late=judge.late,
                unrevealed=judge.unrevealed,
                vetting_votes=judge.votes,
            )
        )
    if task.reward is not None:
        record.reward = task.reward.amount
        record.provider_share_bps = task.reward.provider_share_bps
        record.max_disagreement_bps = task.reward.max_disagreement_bps
        rewards = Rewards(participant.client)
        for account in sorted(names, key=lambda a: _order(name(a))):
            credits = rewards.credits(task_id, account)
            record.earnings.append(
                EarningRow(
                    account=name(account),
                    role=_role(name(account)),
                    behaviour=behaviours.get(account, "?"),
                    accepted_updates=credits.accepted,
                    agreeing_scores=credits.agreed,
                    disagreeing_scores=credits.disagreed,
                    withdrawn=task.reward.withdrawn.get(account, 0),
                )
            )
    return record


def _role(name: str) -> str:
    """``validator`` of ``validator-3``."""
    return name.rpartition("-")[0] or name


def _order(name: str) -> tuple[str, int]:
    """validator-2 before validator-10; other names after, as they are."""
    role, _, number = name.rpartition("-")
    return (role, int(number)) if number.isdigit() else (name, 0)
