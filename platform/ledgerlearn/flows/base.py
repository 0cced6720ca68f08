"""What a flow is, for the code that runs tasks of any flow: one strategy object per flow.

Agents, keepers, the gateway, the lab and the CLI look a task's flow up once
(:data:`ledgerlearn.flows.registry.FLOWS`) and ask the strategy, instead of deciding by the
flow themselves. A third flow is one new module with one :class:`FlowStrategy` subclass, added
to the registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from ledgerlearn.chain.index import TaskRecord
    from ledgerlearn.core.rules import Flow
    from ledgerlearn.flows.card import CardSection, Evaluate
    from ledgerlearn.flows.models import TaskModel, Verification
    from ledgerlearn.flows.policy import Policy
    from ledgerlearn.flows.ports import CommitteeMember, Member, ProviderAgent


class Keeper(Protocol):
    """Keeps one task going (settles what is due, closes what must be closed)."""

    def step(self) -> bool:
        """Do what the task needs now; True when a transaction was sent."""
        ...


class CommitteeDuty(Protocol):
    """What one committee member does for the tasks of one flow (one duty object per member
    and flow serves all that member's tasks of the flow, and keeps what they need between
    steps)."""

    def step(self, task: TaskRecord) -> bool:
        """Do what this flow's ``task`` needs from this member now (nothing when it is not on
        the task's committee); True when a transaction was sent."""
        ...

    def forget(self, task: TaskRecord) -> None:
        """Drop what was kept for ``task`` (closed: it never changes again)."""
        ...


class ProviderDuty(Protocol):
    """What a provider does in a task of one flow, step by step (its agent joins the task and
    holds what every flow shares: see :class:`~ledgerlearn.flows.ports.ProviderAgent`)."""

    @property
    def unpublished(self) -> int:
        """Models it made and then did not publish (a dag provider's publish-if-better)."""
        ...

    def check(self, task: TaskRecord) -> None:
        """Fail early, with a clear message, when it cannot do this flow's work."""
        ...

    def step(self, task: TaskRecord) -> bool:
        """Do the flow's next piece of work in a task it has joined; True when a transaction
        was sent."""
        ...


class FlowStrategy(ABC):
    """One flow's answers to what the rest of the platform asks of a task."""

    flow: ClassVar[Flow]
    """The flow as the contract stores it."""
    ends_itself: ClassVar[bool]
    """Whether a task ends by its own rules (its last round); otherwise its publisher closes
    it (``publish --duration``, the lab's ``duration_blocks``)."""

    @abstractmethod
    def keeper(self, member: Member, task_id: int, *, close_at: int | None = None) -> Keeper:
        """What keeps a task of this flow going, run by ``member`` (any participant; the
        publisher's agent and the gateway run one).

        ``close_at``: the block from which the publisher's keeper closes the task; None: it
        never closes it. A flow whose tasks end by themselves ignores it.
        """

    @abstractmethod
    def closed_line(self, task: TaskRecord) -> str:
        """One sentence on a closed task's outcome, for a person (the CLI prints it)."""

    # -- the agents' work --
    @abstractmethod
    def committee(self, member: CommitteeMember) -> CommitteeDuty:
        """What ``member`` (a committee member's agent) does for the tasks of this flow: one
        duty per member, serving all its tasks of the flow (the validator asks for it once)."""

    @abstractmethod
    def provider(self, agent: ProviderAgent) -> ProviderDuty:
        """What ``agent`` does as a provider in a task of this flow (made once per provider)."""

    # -- the learned model --
    @abstractmethod
    def model(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> TaskModel:
        """The model a person takes out of ``task`` (``ledgerlearn model get``): a round's
        result (``round``, default the last finalized) or the model as of ``block``, its bytes
        fetched or recomputed by ``member`` and checked.

        Raises
        ------
        NoModelError
            There is none (yet), or the flow has no such thing as ``round``.
        """

    @abstractmethod
    def verify(
        self,
        member: Member,
        task: TaskRecord,
        *,
        round: int | None = None,
        block: int | None = None,
    ) -> list[Verification]:
        """Recompute the task's models from what the chain names, as the committee did
        (``ledgerlearn model verify``)."""

    @abstractmethod
    def card_section(
        self, task: TaskRecord, model: TaskModel | None, evaluate: Evaluate | None
    ) -> CardSection:
        """This flow's part of the task's model card: its history (rounds, or accepted
        updates), the receipts and the commands that re-verify ``model``; with
        ``evaluate``, the metric of each of its models."""

    # -- what the gateway, the lab and the CLI show --
    work_unit: ClassVar[str]
    """What a provider trains for once, in the CLI's words ("1 epoch per round"; numbered
    while the task has rounds: "round 3 epoch 1/2")."""

    @abstractmethod
    def task_shape(self, policy: Policy, *, close_after: int | None) -> str:
        """How a task of this flow runs under ``policy``, in one phrase for a person
        (``publish`` prints it): its rounds, or its parents and score window and how long it
        stays open. ``close_after``: the blocks after publication at which its publisher
        closes it (None: when the publisher stops); a flow whose tasks end by themselves
        ignores it."""

    @property
    def name(self) -> str:
        """The flow's name in policies, the CLI and the REST API (its
        :class:`~ledgerlearn.core.rules.Flow` in lower case, as the policy's ``FlowName``)."""
        return self.flow.name.lower()

    @property
    def has_rounds(self) -> bool:
        """Whether its tasks learn in rounds (REST ``/rounds``, a curve by round); the
        contract decides it (:attr:`ledgerlearn.core.rules.Flow.has_rounds`)."""
        return self.flow.has_rounds

    @property
    def has_graph(self) -> bool:
        """Whether its tasks build a DAG of updates (REST ``/dag``, consensus models, a curve
        by block); the contract decides it (:attr:`ledgerlearn.core.rules.Flow.has_graph`)."""
        return self.flow.has_graph

    @abstractmethod
    def milestone(self, task: TaskRecord) -> object:
        """How far a running task has come, as a value that changes when a person watching it
        wants news; a watcher says :meth:`progress` each time it changes."""

    @abstractmethod
    def progress(self, task: TaskRecord) -> str:
        """Where a running task stands, in a few words for a person (the lab's demo says it
        at each :meth:`milestone`)."""
