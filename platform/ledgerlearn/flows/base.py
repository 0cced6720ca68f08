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
    from ledgerlearn.flows.ports import Member


class Keeper(Protocol):
    """Keeps one task going (settles what is due, closes what must be closed)."""

    def step(self) -> bool:
        """Do what the task needs now; True when a transaction was sent."""
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

    # -- consumers --
    @property
    def name(self) -> str:
        """The flow's name in policies, the CLI and the REST API (its
        :class:`~ledgerlearn.core.rules.Flow` in lower case, as the policy's ``FlowName``)."""
        return self.flow.name.lower()

    provider_step: ClassVar[str]
    """What a provider trains for each time, for a sentence such as "2 epochs per round"."""

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
