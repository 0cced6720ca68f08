"""A validator's part before a task opens: the pool, the draw's seeds, its vote, the expiry.

On a consortium deployment every task's committee is drawn from the validators' pool. A pool
member commits a seed for each new task's draw during the commit window and reveals it during
the reveal window; after that any member draws. A drawn member reviews the task by its vetting
policy (:func:`ledgerlearn.flows.vetting.review`) and votes with the reason, or, when the policy
leaves it to a person, says so once (``ledgerlearn validator vet TASK ...``). A task nobody
decided in time is expired by any member. Everything here is idempotent: a restarted member
finds its commitments and votes in the events and sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.chain.vetting import Vetting
from ledgerlearn.config import VettingPolicy
from ledgerlearn.core.rules import Stage
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.vetting import review

log = logging.getLogger(__name__)


class VettingDuty:
    """What one validator does for tasks that are drawn or vetted."""

    def __init__(
        self, participant: Participant, policy: VettingPolicy, *, pool: bool = True
    ) -> None:
        self.participant = participant
        self.policy = policy
        self.pool = pool
        self.vetting = Vetting(participant.client)
        self._told: set[int] = set()  # tasks whose "a person decides" was said
        self._sent: set[tuple[str, int]] = set()  # (step, task) sent by this process
        self._windows: dict[int, tuple[int, int, int]] = {}  # task -> its draw's fixed windows
        self._vet_ends: dict[int, int] = {}  # task -> the end of its vetting window

    def join(self) -> bool:
        """Join the pool once (when asked to); True when a transaction was sent."""
        if not self.pool or self.vetting.in_pool():
            return False
        self.vetting.join_pool()
        log.info("joined the validators' pool: committees are drawn from it")
        return True

    def step(self, task: TaskRecord) -> bool:
        """Act on one task still drawn or vetted; True when a transaction was sent."""
        if task.closed or task.stage is Stage.OPEN:
            return False
        if task.stage is Stage.DRAWING:
            return self._draw(task)
        return self._vet(task)

    def _draw(self, task: TaskRecord) -> bool:
        p = self.participant
        me, next_block = p.address, p.head + 1
        commit_end, reveal_end, vet_blocks = self._draw_windows(task)
        seeds = task.vetting
        in_pool = me in p.index.pool
        if in_pool and next_block < commit_end and me not in seeds.seeds_committed:
            return self._once("seed", task, lambda: self.vetting.commit_seed(task.task_id))
        if (
            commit_end <= next_block < reveal_end
            and me in seeds.seeds_committed
            and me not in seeds.seeds_revealed
        ):
            return self._once("reveal", task, lambda: self.vetting.reveal_seed(task.task_id))
        if next_block >= reveal_end + vet_blocks:
            return self._once("expire", task, lambda: self.vetting.expire(task.task_id))
        if next_block >= reveal_end and in_pool:
            return self._once("draw", task, lambda: self.vetting.draw(task.task_id))
        return False

    def _draw_windows(self, task: TaskRecord) -> tuple[int, int, int]:
        """The draw's commit and reveal ends and the vetting window's length. The contract fixes
        them when the task is first touched: read once then; before, from the limits in force."""
        fixed = self._windows.get(task.task_id)
        if fixed is not None:
            return fixed
        limits = self.vetting.limits()
        info = self.vetting.info(task.task_id)
        if info.commit_end:
            fixed = (info.commit_end, info.reveal_end, limits.vet_blocks)
            self._windows[task.task_id] = fixed
            return fixed
        commit_end = task.published_block + limits.draw_commit_blocks
        return commit_end, commit_end + limits.draw_reveal_blocks, limits.vet_blocks

    def _vet(self, task: TaskRecord) -> bool:
        p = self.participant
        me = p.address
        vet_end = self._vet_ends.get(task.task_id) or self.vetting.info(task.task_id).vet_end
        self._vet_ends[task.task_id] = vet_end  # fixed at the draw
        if vet_end and p.head + 1 >= vet_end:
            return self._once("expire", task, lambda: self.vetting.expire(task.task_id))
        if me not in task.params.committee or me in task.vetting.votes or task.approved:
            return False
        try:
            spec = p.spec(task.task_id)
        except LedgerlearnError as exc:
            reason = f"the model spec cannot be read: {exc}"[:280]
            return self._once("vote", task, lambda: self.vetting.vote(task.task_id, False, reason))
        verdict = review(spec, self.policy)
        if verdict.decision == "human":
            if task.task_id not in self._told:
                self._told.add(task.task_id)
                log.info(
                    "task %d: %s; decide with: ledgerlearn validator vet %d --approve|--reject "
                    "--reason ...",
                    task.task_id,
                    verdict.reason,
                    task.task_id,
                )
            return False
        approve = verdict.decision == "approve"
        sent = self._once(
            "vote", task, lambda: self.vetting.vote(task.task_id, approve, verdict.reason)
        )
        if sent:
            log.info(
                "task %d: voted to %s it: %s",
                task.task_id,
                "approve" if approve else "reject",
                verdict.reason,
            )
        return sent

    def _once(self, step: str, task: TaskRecord, send: Callable[[], None]) -> bool:
        """Send one step's transaction for a task once per process (the events show it
        afterwards; a restarted member reads them)."""
        key = (step, task.task_id)
        if key in self._sent:
            return False
        self._sent.add(key)
        try:
            send()
        except Exception:
            self._sent.discard(key)  # a race (the runner says so at INFO): try again next step
            raise
        return True
