"""The data provider: trains on its private data and submits updates, in either flow.

Each step the provider looks at the task on chain and joins it once; then its flow's provider
duty (``FLOWS[task.flow].provider(...)``, made once: :mod:`ledgerlearn.flows.federation.provider`,
:mod:`ledgerlearn.flows.dag.provider`) prepares its updates and decides when they go out. The
provider's behaviour (:mod:`ledgerlearn.behaviours`) produces and publishes the weights.

What both flows share stays here. Every update is committed first and revealed in a later
block (``commitUpdate``, then ``submitUpdate`` / ``submitDagUpdate`` with the salt): a copier
who sees the reveal cannot have committed to the same content earlier, so the credit stays
with the author. A :class:`~ledgerlearn.agents.pace.Pace` (the lab harness's speed factor)
holds a prepared submission until the provider's training would have finished.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from ledgerlearn.agents.pace import Pace
from ledgerlearn.agents.participant import Participant
from ledgerlearn.behaviours import Honest
from ledgerlearn.core.rules import Stage
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.data.inputs import RangeReport, range_report
from ledgerlearn.errors import AgentError, LedgerlearnError
from ledgerlearn.flows.base import ProviderDuty
from ledgerlearn.flows.dag.updates import DagSettings
from ledgerlearn.flows.ports import ProviderBehaviour
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.training import ProgressCallback, TrainingConfig

log = logging.getLogger(__name__)

SettingsT = TypeVar("SettingsT")


class Provider:
    """A provider agent for one task (federation or dag: the task decides).

    Parameters
    ----------
    participant
        This provider's identity, chain client and IPFS node.
    task_id
        The task it works on.
    data
        Its private training data.
    training
        Local training hyperparameters.
    behaviour
        What it submits: honest training unless a Byzantine behaviour is given.
    on_progress
        Training progress callback (the CLI shows a progress bar).
    dag
        How it takes part in a dag task (tip selection, publish-if-better, dampening).
    pace
        When a prepared update may go out (default: at once).
    """

    def __init__(
        self,
        participant: Participant,
        task_id: int,
        data: Dataset,
        training: TrainingConfig | None = None,
        *,
        behaviour: ProviderBehaviour | None = None,
        on_progress: ProgressCallback | None = None,
        dag: DagSettings | None = None,
        pace: Pace | None = None,
    ) -> None:
        self.participant = participant
        self.task_id = task_id
        self.data = data
        self.training = training or TrainingConfig()
        self.behaviour: ProviderBehaviour = behaviour or Honest()
        self.on_progress = on_progress
        self.dag = dag or DagSettings()
        self.pace = pace
        self.submitted: list[tuple[int, bytes]] = []  # (round or attempt, update) sent
        self.lost = 0
        """Updates it made and could not submit (the window closed first, the commitment
        reverted)."""
        self.reveals: dict[int, str] = {}  # round/attempt -> intent of a reveal not yet mined
        self._duty: ProviderDuty | None = None
        self._stage_said: Stage | None = None  # the last stage of a task not open, said once
        self._excluded_said = False
        self._commits: dict[
            bytes, str | None
        ] = {}  # update -> commit intent (None: mined, no outbox)

    @property
    def duty(self) -> ProviderDuty:
        """What it does in its task's flow (made on first use, from the task's flow)."""
        if self._duty is None:
            self._duty = FLOWS[self.participant.task(self.task_id).flow].provider(self)
        return self._duty

    @property
    def unpublished(self) -> int:
        """Models it made and then did not publish (a dag provider's publish-if-better)."""
        return self._duty.unpublished if self._duty is not None else 0

    def flow_settings(self, kind: type[SettingsT]) -> SettingsT:
        """Its settings of ``kind`` for a flow: :attr:`dag` for a dag task; else the
        defaults (``kind()``)."""
        return self.dag if isinstance(self.dag, kind) else kind()

    def check(self) -> RangeReport | None:
        """Fail early, with a clear message, when this provider cannot take part.

        Returns
        -------
        RangeReport or None
            Its data measured against the input range the task's spec declares (None when
            it declares none). Data that do not fit it are logged as a WARNING with the
            numbers, before any training: the provider may go on, but it trains the model on
            inputs it was not made for.
        """
        client = self.participant.client
        task = self.participant.task(self.task_id)
        if not client.has_role("PROVIDER", client.address):
            raise AgentError(f"{client.address} does not hold PROVIDER_ROLE: it may not join")
        if client.address in task.params.committee:
            raise AgentError(f"{client.address} is on task {self.task_id}'s committee")
        spec = self.participant.spec(self.task_id)
        self.data.check_matches(spec)
        self.duty.check(task)
        report = range_report(spec, self.data)
        if report is not None and not report.fits:
            log.warning(
                "task %d: my data do not fit the model's input: %s",
                self.task_id,
                report.describe(self.data.name),
            )
        return report

    def step(self) -> bool:
        """Join, or do its flow's next piece of work; True when a transaction was sent."""
        p = self.participant
        client = p.client
        task = p.task(self.task_id)
        if not task.is_open:  # closed, or its committee is still drawn or vetting it
            if task.stage.before_opening and task.stage is not self._stage_said:
                self._stage_said = task.stage
                log.info(
                    "task %d is not open yet: its committee is %s; waiting",
                    self.task_id,
                    "being drawn" if task.stage is Stage.DRAWING else "vetting it",
                )
            return False
        if client.address in task.excluded:  # maxRejections rejected updates: out of the task
            if not self._excluded_said:
                self._excluded_said = True
                log.warning(
                    "task %d excluded this provider after %d rejected updates: it submits "
                    "nothing more to it",
                    self.task_id,
                    task.params.max_rejections,
                )
            return False
        if client.address not in task.providers:
            with p.stopwatch.measure("chain"):
                client.join_task(self.task_id)
            log.info("joined task %d", self.task_id)
            return True
        return self.duty.step(task)

    def commit(self, update: bytes) -> tuple[str, bool]:
        """Where this provider's commitment to ``update`` stands, and whether a commitment was
        sent just now: ``waiting`` (not mined yet), ``revealable`` (mined in a block before the
        next one) or ``failed`` (it reverted: the task closed, the role was lost).

        The commitment's salt is derived from the provider's key, so a restarted provider
        finds its earlier commitment on chain instead of sending a second one. Without an
        outbox the commitment is sent and awaited at once: a reveal sent afterwards lands in a
        later block.
        """
        p = self.participant
        client = p.client
        reverted = False
        if update in self._commits:
            intent = self._commits[update]
            if intent is None:
                return "revealable", False  # committed synchronously
            status = client.intent_status(intent)
            if status == "mined":  # in a block already: a reveal sent now lands in a later one
                return "revealable", False
            if status == "pending":
                return "waiting", False
            reverted = status == "failed"
        with p.stopwatch.measure("chain"):
            committed = client.committed(self.task_id, update)  # also after a restart
        if committed:
            # the reveal lands in block head + 1 at the earliest: it must come after the commitment
            return ("revealable" if committed <= p.head else "waiting"), False
        if reverted:
            del self._commits[update]
            self.lost += 1
            log.warning(
                "task %d: the commitment to update 0x%s reverted; not submitted",
                self.task_id,
                update.hex()[:12],
            )
            return "failed", False
        with p.stopwatch.measure("chain"):
            if client.has_outbox:
                intent = client.broadcast_commit(self.task_id, update)
                self._commits[update] = intent
                mined = client.intent_status(intent) == "mined"  # an automining chain
            else:
                client.commit_update(self.task_id, update)
                self._commits[update] = None
                mined = True
        log.info("task %d: committed to update 0x%s", self.task_id, update.hex()[:12])
        return ("revealable" if mined else "waiting"), True

    def reveal(
        self, key: int, update: bytes, *, broadcast: Callable[[], str], submit: Callable[[], object]
    ) -> None:
        """Reveal ``update``, its commitment mined: ``broadcast`` it when there is an outbox
        (no need to wait for the block: the events will tell; the intent is kept in
        :attr:`reveals` under ``key``, the round or attempt), else ``submit`` it and wait. It
        then counts as :attr:`submitted` (a refusal raises, as the send does)."""
        p = self.participant
        self._commits.pop(update, None)
        with p.stopwatch.measure("chain"):
            if p.client.has_outbox:
                self.reveals[key] = broadcast()
            else:
                submit()
        self.submitted.append((key, update))

    def ready_at(self, block: int, samples: int) -> int:
        """The first block an update prepared at ``block`` may be sent from, after training on
        ``samples`` samples for its epochs (its pace; at once without one)."""
        if self.pace is None:
            return block
        return self.pace.ready_block(block, samples * self.training.epochs)

    def visible_updates(self, updates: list[bytes]) -> list[Weights]:
        """The other providers' ``updates`` that this provider can fetch and decode, in order
        (what a behaviour that watches them sees: a withheld or malformed one is not there)."""
        p = self.participant
        fetched = []
        for update in updates:
            try:
                fetched.append(p.fetch_weights(self.task_id, update))
            except LedgerlearnError as exc:
                log.info(
                    "task %d: another provider's update 0x%s is left out of the view: %s",
                    self.task_id,
                    update.hex()[:12],
                    exc,
                )
        return fetched
