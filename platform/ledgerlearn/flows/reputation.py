"""Reputation, derived from the chain's events alone (the index's records of the tasks).

Per provider: its updates accepted, rejected and expired, the committee's verdict on each (the
lower median of the scores) and whether a task excluded it. Per validator: the updates of its
committees it scored, how many of those scores fell on the side of the decision, the decided
updates it never scored (missed), the scores sent after the scoring window closed (late: only
while the update lacked a quorum), the committed scores never revealed, and its vetting votes.
A commit-reveal score revealed after the members who revealed first decided the update (in
time) counts as scored, and as agreeing when it fell on the side of the decision, as the
commitments contract credits it.
Anyone with the chain computes the same table; nothing here is trusted input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed

__all__ = ["ProviderReputation", "Reputation", "ValidatorReputation", "reputation"]


@dataclass
class ProviderReputation:
    """What a provider's updates earned."""

    account: str
    accepted: int = 0
    rejected: int = 0
    expired: int = 0
    verdicts: list[float] = field(default_factory=list)  # committee median per scored update
    excluded_from: list[int] = field(default_factory=list)  # task ids

    @property
    def acceptance(self) -> float | None:
        """Share of its decided updates that were accepted (None: none decided)."""
        decided = self.accepted + self.rejected
        return self.accepted / decided if decided else None


@dataclass
class ValidatorReputation:
    """How a committee member judged."""

    account: str
    scored: int = 0
    agreed: int = 0  # scores on the side of the decision
    missed: int = 0  # decided or expired updates of its committees it never scored
    late: int = 0  # scores mined after the scoring window closed
    unrevealed: int = 0  # commitments never revealed (commit-reveal tasks)
    votes: int = 0  # vetting votes cast

    @property
    def agreement(self) -> float | None:
        """Share of its scores of decided updates that agreed with the decision."""
        return self.agreed / self.scored if self.scored else None


@dataclass
class Reputation:
    """Every provider's and validator's record over the given tasks."""

    providers: dict[str, ProviderReputation]
    validators: dict[str, ValidatorReputation]


def reputation(tasks: Iterable[TaskRecord]) -> Reputation:
    """The reputation table over ``tasks``."""
    providers: dict[str, ProviderReputation] = {}
    validators: dict[str, ValidatorReputation] = {}

    def validator(account: str) -> ValidatorReputation:
        return validators.setdefault(account, ValidatorReputation(account))

    for task in tasks:
        threshold = task.params.threshold
        for member in task.vetting.votes:
            validator(member).votes += 1
        for account in task.excluded:
            providers.setdefault(account, ProviderReputation(account)).excluded_from.append(
                task.task_id
            )
        for u in task.updates.values():
            p = providers.setdefault(u.provider, ProviderReputation(u.provider))
            if u.status is Status.ACCEPTED:
                p.accepted += 1
            elif u.status is Status.REJECTED:
                p.rejected += 1
            elif u.status is Status.EXPIRED:
                p.expired += 1
            verdict = u.committee_score
            if verdict is not None and verdict != SCORE_INVALID:
                p.verdicts.append(from_fixed(verdict))
            for member in u.unrevealed:
                validator(member).unrevealed += 1
            if not u.status.decided:
                continue
            close = task.scoring_deadlines(u.update).close
            for member in task.params.committee:
                record = validator(member)
                if member in u.revealed_late:  # credited by the commitments contract
                    record.scored += 1
                    record.agreed += u.revealed_late[member]
                    continue
                if member not in u.scores:
                    record.missed += member not in u.committed  # else: counted above
                    continue
                score = u.scores[member]
                passed = score != SCORE_INVALID and score >= threshold
                if u.status is not Status.EXPIRED:
                    record.scored += 1
                    record.agreed += passed == (u.status is Status.ACCEPTED)
                if u.score_blocks.get(member, 0) >= close:
                    record.late += 1
    return Reputation(providers, validators)
