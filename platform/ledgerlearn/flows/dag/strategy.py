"""The dag flow's strategy (see :mod:`ledgerlearn.flows.base`)."""

from __future__ import annotations

from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.base import FlowStrategy, Keeper
from ledgerlearn.flows.dag.keeper import DagKeeper
from ledgerlearn.flows.ports import Member


class DagFlow(FlowStrategy):
    """An asynchronous DAG of updates, each naming its parents, scored one by one."""

    flow = Flow.DAG
    ends_itself = False

    def keeper(self, member: Member, task_id: int, *, close_at: int | None = None) -> Keeper:
        """A :class:`DagKeeper`: settles late updates, and closes the task from ``close_at``
        (only the publisher may)."""
        return DagKeeper(member, task_id, close_at)

    def closed_line(self, task: TaskRecord) -> str:
        return (
            f"task {task.task_id} closed with {len(task.accepted)} accepted updates and "
            f"{len(task.tips())} tips; its consensus model: "
            f"`ledgerlearn dag consensus --task {task.task_id}`"
        )

    # -- consumers --
    provider_step = "update (dag)"

    def milestone(self, task: TaskRecord) -> object:
        """Every fifth accepted update, and the close."""
        return len(task.accepted) // 5, task.closed

    def progress(self, task: TaskRecord) -> str:
        return (
            f"dag: {len(task.updates)} updates, {len(task.accepted)} accepted, "
            f"{len(task.tips())} tips"
        )
