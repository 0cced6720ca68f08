"""The dag flow's strategy (see :mod:`ledgerlearn.flows.base`)."""

from __future__ import annotations

from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.base import CommitteeDuty, FlowStrategy, Keeper, ProviderDuty
from ledgerlearn.flows.card import CardSection, Evaluate
from ledgerlearn.flows.dag.committee import DagCommittee
from ledgerlearn.flows.dag.consensus import consensus_task_model
from ledgerlearn.flows.dag.keeper import DagKeeper
from ledgerlearn.flows.dag.provider import DagProvider
from ledgerlearn.flows.dag.receipts import dag_section
from ledgerlearn.flows.models import NoModelError, TaskModel, Verification
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.ports import CommitteeMember, Member, ProviderAgent


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

    # -- the agents' work --
    def committee(self, member: CommitteeMember) -> CommitteeDuty:
        """A :class:`DagCommittee`: scores each update against the merge of its parents
        before its own deadline."""
        return DagCommittee(member)

    def provider(self, agent: ProviderAgent) -> ProviderDuty:
        """A :class:`DagProvider`: updates at its own pace on parents it chose, published
        if better."""
        return DagProvider(agent)

    # -- the learned model --
    def model(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> TaskModel:
        """The consensus model as the DAG stood at ``block`` (default: the member's latest
        block); a dag task has no rounds."""
        if round is not None:
            raise NoModelError(
                f"task {task.task_id} is a dag task: it has no rounds (its model is the "
                "consensus model as of a block: give the block instead)"
            )
        return consensus_task_model(member, task, block)

    def verify(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> list[Verification]:
        """The consensus model recomputed from the accepted tips as of ``block``; the chain
        records no consensus model, so its hash is the answer to compare with a card's."""
        model = self.model(member, task, round=round, block=block)
        return [
            Verification(
                f"consensus model as of block {model.block}",
                None,
                model.content_hash,
                True,
                f"{model.source}; each tip fetched and checked against its on-chain hash",
            )
        ]

    def card_section(
        self, task: TaskRecord, model: TaskModel | None, evaluate: Evaluate | None
    ) -> CardSection:
        """The accepted updates with their parents, and the consensus model's receipt."""
        return dag_section(task, model, evaluate)

    # -- what the gateway, the lab and the CLI show --
    work_unit = "dag update"

    def task_shape(self, policy: Policy, *, close_after: int | None) -> str:
        until = "until Ctrl-C" if close_after is None else f"for {close_after} blocks"
        return (
            f"dag: up to {policy.max_parents} parents per update, {policy.score_window} "
            f"blocks to score each, open {until}"
        )

    def milestone(self, task: TaskRecord) -> object:
        """Every fifth accepted update, and the close."""
        return len(task.accepted) // 5, task.closed

    def progress(self, task: TaskRecord) -> str:
        return (
            f"dag: {len(task.updates)} updates, {len(task.accepted)} accepted, "
            f"{len(task.tips())} tips"
        )
