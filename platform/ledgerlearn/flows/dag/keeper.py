"""The dag keeper: settles updates still pending at their deadline, closes the task on time."""

from __future__ import annotations

import logging

from ledgerlearn.core.rules import Status
from ledgerlearn.flows.ports import Member

log = logging.getLogger(__name__)


class DagKeeper:
    """Keeps a dag task going for its publisher: settles late updates, closes on time.

    Parameters
    ----------
    participant
        The publisher's agent (only the publisher may close the task).
    task_id
        The dag task.
    close_at
        Block from which the task is closed (None: the keeper never closes it).
    """

    def __init__(self, participant: Member, task_id: int, close_at: int | None) -> None:
        self.participant = participant
        self.task_id = task_id
        self.close_at = close_at

    def step(self) -> bool:
        """Settle what is due, close when due; True when a transaction was sent."""
        p = self.participant
        task = p.task(self.task_id)
        if task.closed:
            return False
        next_block = p.head + 1
        if self.close_at is not None and next_block >= self.close_at:
            with p.stopwatch.measure("chain"):
                p.client.close_task(self.task_id)
            log.info("task %d: closed at block %d", self.task_id, next_block)
            return True
        quorum = task.params.quorum
        due = [
            u.update
            for u in task.updates.values()
            if u.status is Status.PENDING
            and task.scoring_deadlines(u.update).settleable(next_block, len(u.scores), quorum)
        ]
        if not due:
            return False
        with p.stopwatch.measure("chain"):
            p.client.settle_updates(self.task_id, due)
        log.info("task %d: settled %d late updates", self.task_id, len(due))
        return True
