"""The federation flow's strategy (see :mod:`ledgerlearn.flows.base`)."""

from __future__ import annotations

from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.base import FlowStrategy, Keeper
from ledgerlearn.flows.federation.keeper import RoundKeeper
from ledgerlearn.flows.ports import Member


class FederationFlow(FlowStrategy):
    """Synchronous rounds: each round's accepted updates are aggregated, proposed, attested."""

    flow = Flow.FEDERATION
    ends_itself = True

    def keeper(self, member: Member, task_id: int, *, close_at: int | None = None) -> Keeper:
        """A :class:`RoundKeeper` (a task closes after its last round: ``close_at`` is not
        used)."""
        return RoundKeeper(member, task_id)

    def closed_line(self, task: TaskRecord) -> str:
        final = task.final_model_hash
        cid = task.cid_of(final) if final is not None else None
        return f"task {task.task_id} closed; final model {cid or '(none)'}"

    # -- consumers --
    provider_step = "round"

    def milestone(self, task: TaskRecord) -> object:
        """The current round."""
        return max(task.rounds, default=0)

    def progress(self, task: TaskRecord) -> str:
        return f"round {max(task.rounds, default=0)} of {task.params.max_rounds}"
