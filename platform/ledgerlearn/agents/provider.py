"""The data provider: trains on its private data and submits updates.

Each step it looks at the task on chain: it joins once; in a federation task, when the
current round is open and it has not submitted in it, it fetches the round's base model
(verified against its on-chain hash), lets its behaviour produce the weights (the honest
behaviour trains on the local data) and publish them (the honest one puts them on IPFS),
and submits the content hash and CID.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from ledgerlearn.agents.participant import AgentError, Participant
from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.attacks import Honest, ProviderBehaviour
from ledgerlearn.attacks.view import RoundView
from ledgerlearn.chain.types import Flow, from_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.training import METRICS_BY_ID, ProgressCallback, TrainingConfig, train

log = logging.getLogger(__name__)


class Provider:
    """A provider agent for one task.

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
    ) -> None:
        self.participant = participant
        self.task_id = task_id
        self.data = data
        self.training = training or TrainingConfig()
        self.behaviour = behaviour or Honest()
        self.on_progress = on_progress
        self.submitted: list[tuple[int, bytes]] = []  # (round, update) sent by this process
        self._duplicates: set[int] = set()  # rounds whose content was already on chain
        self._pending: dict[int, str] = {}  # round -> intent of an update not yet seen mined

    def check(self) -> None:
        """Fail early, with a clear message, when this provider cannot take part."""
        client = self.participant.client
        task = self.participant.task(self.task_id)
        if task.flow is not Flow.FEDERATION:
            raise AgentError(f"task {self.task_id} is a dag task: the dag flow has its own issue")
        if not client.has_role("PROVIDER", client.address):
            raise AgentError(f"{client.address} does not hold PROVIDER_ROLE: it may not join")
        if client.address in task.params.committee:
            raise AgentError(f"{client.address} is on task {self.task_id}'s committee")
        self.data.check_matches(self.participant.spec(self.task_id))

    def step(self) -> bool:
        """Join, or submit this round's update when due; True when a transaction was sent."""
        p = self.participant
        client = p.client
        task = p.task(self.task_id)
        if task.closed or not task.rounds:
            return False
        if client.address not in task.providers:
            with p.stopwatch.measure("chain"):
                client.join_task(self.task_id)
            log.info("joined task %d", self.task_id)
            return True
        number = max(task.rounds)
        record = task.rounds[number]
        if record.result_hash is not None or number in task.submitted_rounds(client.address):
            return False
        if number in self._duplicates:
            return False
        pending = self._pending.get(number)
        if pending is not None:  # sent without waiting: the event shows it once mined
            if client.intent_status(pending) in ("pending", "mined"):
                return False
            del self._pending[number]  # it reverted once mined: try again while the window is open
        closes = record.start_block + task.params.round_length
        if p.head + 1 >= closes:
            return False  # missed this round's window (the next block is the last chance)
        spec = p.spec(self.task_id)
        base = p.fetch_weights(self.task_id, record.base_model_hash, record.base_model_cid)
        others = [u for u in record.updates if task.updates[u].provider != client.address]
        view = RoundView(
            spec=spec,
            base=base,
            round=number,
            blocks_left=closes - p.head,
            providers=len(task.providers),
            submitted=len(others),
            rule=RULE_NAMES[task.params.aggregation_rule],
            num_byzantine=task.params.num_byzantine,
            metric=METRICS_BY_ID[int(task.params.metric)].name,
            threshold=from_fixed(task.params.threshold),
            threshold_mode=task.params.threshold_mode.name.lower(),
            load_updates=lambda: [p.fetch_weights(self.task_id, u) for u in others],
        )
        if not self.behaviour.ready(view):
            return False
        config = self.training.model_copy(update={"seed": self.training.seed + number})

        def train_fn(data: Dataset) -> dict[str, npt.NDArray[np.float32]]:
            return dict(train(spec, data, config, initial=base, on_progress=self.on_progress))

        with p.stopwatch.measure("training"):
            weights = self.behaviour.produce(view, self.data, train_fn)
            content = self.behaviour.encode(weights, spec)
        with p.stopwatch.measure("ipfs"):
            cid, digest = self.behaviour.publish(content, p.store)
        if digest in task.updates:  # the ledger accepts a content hash once per task
            self._duplicates.add(number)
            log.warning(
                "task %d round %d: this content was already submitted as update 0x%s; "
                "the ledger refuses it again, nothing sent this round",
                self.task_id,
                number,
                digest.hex(),
            )
            return False
        with p.stopwatch.measure("chain"):
            if client.has_outbox:  # no need to wait for the block: the events will tell
                self._pending[number] = client.broadcast_update(
                    self.task_id, number, digest, cid, len(self.data)
                )
            else:
                client.submit_update(self.task_id, number, digest, cid, len(self.data))
        self.submitted.append((number, digest))
        log.info(
            "task %d round %d: submitted %s (%s)", self.task_id, number, cid, self.behaviour.name
        )
        return True
