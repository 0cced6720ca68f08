"""A committee member's scores on commit-reveal tasks: committed, then revealed.

The flows' committee duties hand their scores to :meth:`Validator.send_scores`; on a task whose
policy sets a commit window they are committed (the scores kept in the member's state
directory), and :meth:`ScoreReveals.step` reveals them once the commit window closed, while
they still count: while the update waits for them, or, once the members who revealed first
decided it, until its scoring window closes (the commitments contract credits a reveal that
agrees with the decision). Scores the member could no longer commit in time are dropped, never
sent in the clear.
"""

from __future__ import annotations

import logging

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.chain.score_commitments import ScoreCommitments
from ledgerlearn.core.rules import Status

log = logging.getLogger(__name__)


class ScoreReveals:
    """Commits and reveals of one member's scores."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant
        self.commitments = ScoreCommitments(
            participant.client, participant.state_dir / "score-commitments.json"
        )

    def commit(self, task: TaskRecord, updates: list[bytes], scores: list[int]) -> list[bytes]:
        """Commit to the scores still in their commit window; returns the updates committed."""
        next_block = self.participant.head + 1
        kept = {u: s for u, s in zip(updates, scores, strict=True) if task.may_score(u, next_block)}
        if kept:
            self.commitments.commit(task.task_id, kept)
            log.info(
                "task %d: committed %d scores (revealed after the commit window)",
                task.task_id,
                len(kept),
            )
        return list(kept)

    def step(self, task: TaskRecord) -> bool:
        """Reveal the committed scores whose commit window closed; True when sent."""
        p = self.participant
        me, next_block = p.address, p.head + 1
        due: list[bytes] = []
        stale: list[bytes] = []
        for u in task.updates.values():
            if me not in u.committed or me in u.scores or me in u.revealed_late:
                continue
            if self.commitments.committed(task.task_id, u.update) is None:
                continue  # not ours to reveal from this state (kept nowhere): nothing to send
            deadlines = task.scoring_deadlines(u.update)
            if u.status is Status.EXPIRED or (
                u.status is not Status.PENDING and next_block >= deadlines.close
            ):
                stale.append(u.update)  # it counts for nothing any more
            elif next_block >= task.commit_deadline(u.update) and (
                # decided by the members who revealed first: still credited until the close
                u.status is not Status.PENDING
                or deadlines.scoring_open(next_block, len(u.scores), task.params.quorum)
            ):
                due.append(u.update)
        if stale:
            self.commitments.forget(task.task_id, stale)
        if not due:
            return False
        self.commitments.reveal(task.task_id, due)
        log.info("task %d: revealed %d committed scores", task.task_id, len(due))
        return True
