"""A provider's work in a federation task: one update per round, while the round is open.

When the current round is open and the provider has not submitted in it, it fetches the
round's base model (verified against its on-chain hash), lets its behaviour produce the
weights (the honest behaviour trains on the local data) and publish them (the honest one puts
them on IPFS), commits to the update at once and reveals it once its pace allows, while the
round's submission window is open. An update whose round closed meanwhile is lost, as a
straggler's is. Content the ledger already knows (another task's update, a global model) is
not sent that round: the contract refuses it.

Joining, the commitment, the reveal and the pace are the agent's
(:class:`~ledgerlearn.flows.ports.ProviderAgent`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.contract_errors import UpdateLedgerSubmissionClosed
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import from_fixed
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import ProviderAgent
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.training import METRICS_BY_ID, train

log = logging.getLogger(__name__)


@dataclass
class RoundUpdate:
    """An update made for a round and put on IPFS, waiting for its pace."""

    round: int
    digest: bytes
    cid: str
    ready_at: int  # first block it may be sent from


class FederationProvider:
    """A provider's duty in a federation task (see the module docstring)."""

    unpublished = 0
    """A federation provider sends every model it makes while the window is open."""

    def __init__(self, agent: ProviderAgent) -> None:
        self.agent = agent
        self.prepared: RoundUpdate | None = None
        self._duplicates: set[int] = set()  # rounds whose content was already on chain

    def check(self, task: TaskRecord) -> None:
        """Nothing beyond the agent's own checks."""

    def step(self, task: TaskRecord) -> bool:
        """Prepare, commit to or reveal this round's update; True when a transaction was
        sent."""
        agent = self.agent
        p = agent.participant
        client = p.client
        if not task.rounds:
            return False
        number = max(task.rounds)
        record = task.rounds[number]
        if record.result_hash is not None or number in task.submitted_rounds(client.address):
            return False
        if number in self._duplicates:
            return False
        pending = agent.reveals.get(number)
        if pending is not None:  # sent without waiting: the event shows it once mined
            if client.intent_status(pending) in ("pending", "mined"):
                return False
            del agent.reveals[number]  # it reverted once mined: try again while the window is open
        closes = task.round_deadlines(number).submissions_close
        if p.head + 1 >= closes:
            if self.prepared is not None and self.prepared.round == number:
                log.warning(
                    "task %d round %d: the update was ready at block %d, after the window "
                    "closed at %d: lost",
                    agent.task_id,
                    number,
                    self.prepared.ready_at,
                    closes,
                )
                self.prepared = None
                agent.lost += 1
            return False  # missed this round's window (the next block is the last chance)
        prepared = self.prepared
        if prepared is None or prepared.round != number:
            prepared = self._prepare(task, number)
            if prepared is None:
                return False
        # The commitment goes out as soon as the content exists (it reveals nothing); the
        # reveal waits for the pace and for a block after the commitment.
        gate, sent = agent.commit(prepared.digest)
        if gate == "failed":
            self.prepared = None
            return False
        if gate != "revealable" or p.head + 1 < prepared.ready_at:
            return sent
        self.prepared = None
        task_id, samples = agent.task_id, len(agent.data)
        try:
            agent.reveal(
                number,
                prepared.digest,
                broadcast=lambda: client.broadcast_update(
                    task_id, number, prepared.digest, prepared.cid, samples
                ),
                submit=lambda: client.submit_update(
                    task_id, number, prepared.digest, prepared.cid, samples
                ),
            )
        except UpdateLedgerSubmissionClosed as exc:
            # the window closed between this step's look at the chain and the reveal
            log.info(
                "task %d round %d: the submission window closed at block %d before the "
                "update went out: lost",
                task_id,
                number,
                exc.deadline_block,
            )
            agent.lost += 1
            return False
        log.info(
            "task %d round %d: submitted %s (%s)",
            task_id,
            number,
            prepared.cid,
            agent.behaviour.name,
        )
        return True

    def _prepare(self, task: TaskRecord, number: int) -> RoundUpdate | None:
        agent = self.agent
        p = agent.participant
        record = task.rounds[number]
        spec = p.spec(agent.task_id)
        base = p.fetch_weights(agent.task_id, record.base_model_hash, record.base_model_cid)
        others = [u for u in record.updates if task.updates[u].provider != p.address]
        view = ProviderView(
            spec=spec,
            base=base,
            round=number,
            blocks_left=task.round_deadlines(number).submissions_close - p.head,
            providers=len(task.providers),
            submitted=len(others),
            rule=RULE_NAMES[task.params.aggregation_rule],
            num_byzantine=task.params.num_byzantine,
            metric=METRICS_BY_ID[int(task.params.metric)].name,
            threshold=from_fixed(task.params.threshold),
            threshold_mode=task.params.threshold_mode.name.lower(),
            load_updates=lambda: agent.visible_updates(others),
        )
        if not agent.behaviour.ready(view):
            return None
        config = agent.training.model_copy(update={"seed": agent.training.seed + number})

        def train_fn(data: Dataset) -> Weights:
            return dict(train(spec, data, config, initial=base, on_progress=agent.on_progress))

        started = p.head
        with p.stopwatch.measure("training"):
            weights = agent.behaviour.produce(view, agent.data, train_fn)
            content = agent.behaviour.encode(weights, spec)
        with p.stopwatch.measure("ipfs"):
            cid, digest = agent.behaviour.publish(content, p.store)
        if digest in task.updates or p.client.content_used(digest):
            # the ledger takes content once: an update of any task, initial weights, a result
            self._duplicates.add(number)
            log.warning(
                "task %d round %d: the ledger already knows this content (0x%s) as a model; "
                "it refuses it again, nothing sent this round",
                agent.task_id,
                number,
                digest.hex(),
            )
            return None
        ready = agent.ready_at(started, len(agent.data))
        self.prepared = RoundUpdate(number, digest, cid, ready)
        return self.prepared
