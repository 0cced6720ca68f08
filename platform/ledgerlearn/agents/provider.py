"""The data provider: trains on its private data and submits updates, in either flow.

The task decides the flow. Each step the provider looks at the task on chain and joins once.

- **federation**: when the current round is open and it has not submitted in it, it fetches
  the round's base model (verified against its on-chain hash), lets its behaviour produce the
  weights (the honest behaviour trains on the local data) and publish them (the honest one
  puts them on IPFS), and submits the content hash and CID while the window is open.
- **dag**: at its own pace, it selects parents among the tips by a score-biased random walk
  (:mod:`~ledgerlearn.core.tip_selection`), merges them with the task's robust rule, lets
  its behaviour produce weights from the merge (honest: trains on its training split) and,
  if they beat the merge on its own held-out split (publish-if-better, honest behaviour
  only: an attacker publishes whatever it made), publishes and submits them naming the
  parents. A model that does not beat its parents is dropped; the next attempt waits for the
  DAG to move (see :class:`~ledgerlearn.flows.dag.updates.DagSettings`).

Every update is committed first and revealed in a later block (``commitUpdate``, then
``submitUpdate`` / ``submitDagUpdate`` with the salt): a copier who sees the reveal cannot
have committed to the same content earlier, so the credit stays with the author. Content the
ledger already knows (another task's update, a global model) is not sent: the contract
refuses it.

A :class:`~ledgerlearn.agents.pace.Pace` (the lab harness's speed factor) holds a prepared
submission until the provider's training would have finished; a federation update whose
round closed meanwhile is lost, as a straggler's is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ledgerlearn.agents.pace import Pace
from ledgerlearn.agents.participant import Participant
from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.behaviours import Honest, ProviderBehaviour
from ledgerlearn.behaviours.view import ProviderView
from ledgerlearn.chain.contract_errors import UpdateLedgerSubmissionClosed
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Flow, Status, from_fixed
from ledgerlearn.core.tip_selection import select_parents
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.errors import AgentError, LedgerlearnError
from ledgerlearn.flows.dag.consensus import graph_of
from ledgerlearn.flows.dag.updates import DagSettings, PublishVerdict, beats, merge_models
from ledgerlearn.training import METRICS_BY_ID, ProgressCallback, TrainingConfig, train

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """An update made and (unless it is dropped) put on IPFS, waiting for its pace."""

    round: int  # federation: the round; dag: the provider's attempt number
    digest: bytes
    cid: str
    ready_at: int  # first block it may be sent from
    parents: list[bytes] = field(default_factory=list)  # dag
    publish: bool = True  # dag: False when it did not beat its parents (dropped when ready)
    note: str = ""
    verdict: PublishVerdict | None = None  # dag: publish-if-better's comparison, when it ran


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
        self.behaviour = behaviour or Honest()
        self.on_progress = on_progress
        self.dag = dag or DagSettings()
        self.pace = pace
        self.submitted: list[tuple[int, bytes]] = []  # (round or attempt, update) sent
        self.dropped: list[Prepared] = []  # dag: models that did not beat their parents
        self._duplicates: set[int] = set()  # rounds whose content was already on chain
        self._pending: dict[int, str] = {}  # round/attempt -> intent of an update not yet mined
        self._prepared: Prepared | None = None
        self._split: tuple[int, tuple[Dataset, Dataset]] | None = None
        self._attempt: int | None = None  # dag: attempts so far (seeds the walk and training)
        self._waiting: tuple[int, int] | None = None  # dag: (block, accepted) of a drop
        self._commits: dict[
            bytes, str | None
        ] = {}  # update -> commit intent (None: mined, no outbox)

    def check(self) -> None:
        """Fail early, with a clear message, when this provider cannot take part."""
        client = self.participant.client
        task = self.participant.task(self.task_id)
        if not client.has_role("PROVIDER", client.address):
            raise AgentError(f"{client.address} does not hold PROVIDER_ROLE: it may not join")
        if client.address in task.params.committee:
            raise AgentError(f"{client.address} is on task {self.task_id}'s committee")
        self.data.check_matches(self.participant.spec(self.task_id))
        if task.flow is Flow.DAG and self.dag.publish_if_better:
            self.split()

    def split(self, attempt: int = 0) -> tuple[Dataset, Dataset]:
        """(training split, held-out split) of the local data for publish-if-better: a fresh
        one per attempt when the held-out split rotates, else always the same."""
        seed = self.training.seed
        if self.dag.rotate_held_out:
            seed = seed * 1_000_003 + attempt
        if self._split is None or self._split[0] != seed:
            try:
                self._split = (seed, self.data.split(self.dag.held_out_fraction, seed=seed))
            except LedgerlearnError as exc:
                raise AgentError(
                    f"publish-if-better needs a held-out split of the local data "
                    f"({len(self.data)} samples): {exc}"
                ) from exc
        return self._split[1]

    def step(self) -> bool:
        """Join, or do this flow's next piece of work; True when a transaction was sent."""
        p = self.participant
        client = p.client
        task = p.task(self.task_id)
        if task.closed:
            return False
        if client.address not in task.providers:
            with p.stopwatch.measure("chain"):
                client.join_task(self.task_id)
            log.info("joined task %d", self.task_id)
            return True
        if task.flow is Flow.DAG:
            return self._dag_step(task)
        return self._federation_step(task)

    # -- federation ----------------------------------------------------------------------
    def _federation_step(self, task: TaskRecord) -> bool:
        p = self.participant
        client = p.client
        if not task.rounds:
            return False
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
        closes = task.round_deadlines(number).submissions_close
        if p.head + 1 >= closes:
            if self._prepared is not None and self._prepared.round == number:
                log.warning(
                    "task %d round %d: the update was ready at block %d, after the window "
                    "closed at %d: lost",
                    self.task_id,
                    number,
                    self._prepared.ready_at,
                    closes,
                )
                self._prepared = None
            return False  # missed this round's window (the next block is the last chance)
        prepared = self._prepared
        if prepared is None or prepared.round != number:
            prepared = self._prepare_round(task, number)
            if prepared is None:
                return False
        # The commitment goes out as soon as the content exists (it reveals nothing); the
        # reveal waits for the pace and for a block after the commitment.
        gate, sent = self._commit(prepared.digest)
        if gate == "failed":
            self._prepared = None
            return False
        if gate != "revealable" or p.head + 1 < prepared.ready_at:
            return sent
        self._prepared = None
        self._commits.pop(prepared.digest, None)
        try:
            with p.stopwatch.measure("chain"):
                if client.has_outbox:  # no need to wait for the block: the events will tell
                    self._pending[number] = client.broadcast_update(
                        self.task_id, number, prepared.digest, prepared.cid, len(self.data)
                    )
                else:
                    client.submit_update(
                        self.task_id, number, prepared.digest, prepared.cid, len(self.data)
                    )
        except UpdateLedgerSubmissionClosed as exc:
            # the window closed between this step's look at the chain and the reveal
            log.info(
                "task %d round %d: the submission window closed at block %d before the "
                "update went out: lost",
                self.task_id,
                number,
                exc.deadline_block,
            )
            return False
        self.submitted.append((number, prepared.digest))
        log.info(
            "task %d round %d: submitted %s (%s)",
            self.task_id,
            number,
            prepared.cid,
            self.behaviour.name,
        )
        return True

    def _fetch_others(self, others: list[bytes]) -> list[Weights]:
        """The other providers' updates of the round that this provider can fetch and decode
        (what a behaviour that watches them sees: a withheld or malformed one is not there)."""
        p = self.participant
        fetched = []
        for update in others:
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

    def _prepare_round(self, task: TaskRecord, number: int) -> Prepared | None:
        p = self.participant
        record = task.rounds[number]
        spec = p.spec(self.task_id)
        base = p.fetch_weights(self.task_id, record.base_model_hash, record.base_model_cid)
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
            load_updates=lambda: self._fetch_others(others),
        )
        if not self.behaviour.ready(view):
            return None
        config = self.training.model_copy(update={"seed": self.training.seed + number})

        def train_fn(data: Dataset) -> Weights:
            return dict(train(spec, data, config, initial=base, on_progress=self.on_progress))

        started = p.head
        with p.stopwatch.measure("training"):
            weights = self.behaviour.produce(view, self.data, train_fn)
            content = self.behaviour.encode(weights, spec)
        with p.stopwatch.measure("ipfs"):
            cid, digest = self.behaviour.publish(content, p.store)
        if digest in task.updates or p.client.content_used(digest):
            # the ledger takes content once: an update of any task, initial weights, a result
            self._duplicates.add(number)
            log.warning(
                "task %d round %d: the ledger already knows this content (0x%s) as a model; "
                "it refuses it again, nothing sent this round",
                self.task_id,
                number,
                digest.hex(),
            )
            return None
        ready = self._ready_at(started, len(self.data))
        self._prepared = Prepared(number, digest, cid, ready)
        return self._prepared

    def _ready_at(self, block: int, samples: int) -> int:
        if self.pace is None:
            return block
        return self.pace.ready_block(block, samples * self.training.epochs)

    # -- dag -----------------------------------------------------------------------------
    def _dag_step(self, task: TaskRecord) -> bool:
        p = self.participant
        client = p.client
        mine = [u for u in task.updates.values() if u.provider == p.address]
        if self._attempt is None:  # a restarted provider does not repeat its first walks
            self._attempt = len(mine)
        for attempt, intent in list(self._pending.items()):
            if client.intent_status(intent) == "pending":
                return False  # one update in flight at a time
            del self._pending[attempt]  # mined (the events show it) or reverted (try anew)
        prepared = self._prepared
        if prepared is not None:
            sent = False
            if prepared.publish:  # commit at once, reveal after the pace and a block later
                gate, sent = self._commit(prepared.digest)
                if gate == "failed":
                    self._prepared = None
                    return False
                if gate != "revealable":
                    return sent
            if p.head + 1 < prepared.ready_at:
                return sent  # still training
            self._prepared = None
            if not prepared.publish:
                self.dropped.append(prepared)
                self._waiting = (p.head, len(task.accepted))
                log.info("task %d: %s; not published", self.task_id, prepared.note)
                return False
            return self._send_dag(task, prepared)
        if self._waiting is not None:
            block, accepted = self._waiting
            if len(task.accepted) == accepted and p.head < block + self.dag.patience_blocks:
                return False  # nothing new to build on yet
            self._waiting = None
        prepared = self._prepare_dag(task)
        if prepared is None:
            return False
        return self._dag_step(task)  # commit now, reveal when ready

    def _prepare_dag(self, task: TaskRecord) -> Prepared | None:
        p = self.participant
        assert self._attempt is not None
        attempt = self._attempt + 1
        spec = p.spec(self.task_id)
        graph = graph_of(task)
        count = min(self.dag.parents, task.params.max_parents)
        seed = self.training.seed * 1_000_003 + attempt
        parents = select_parents(graph, count, self.dag.alpha, seed)
        rule = RULE_NAMES[task.params.aggregation_rule]
        models = [p.fetch_weights(self.task_id, h) for h in parents]
        staleness = graph.staleness(parents) if self.dag.staleness_beta is not None else None
        with p.stopwatch.measure("aggregation"):
            merge = merge_models(
                spec,
                models,
                rule,
                task.params.num_byzantine,
                staleness=staleness,
                beta=self.dag.staleness_beta,
            )
        others = self._recent_others(task)
        view = ProviderView(
            spec=spec,
            base=merge,
            round=attempt,
            blocks_left=0,
            providers=len(task.providers),
            submitted=len(others),
            rule=rule,
            num_byzantine=task.params.num_byzantine,
            metric=METRICS_BY_ID[int(task.params.metric)].name,
            threshold=from_fixed(task.params.threshold),
            threshold_mode=task.params.threshold_mode.name.lower(),
            load_updates=lambda: self._load(others),
        )
        if not self.behaviour.ready(view):
            return None
        self._attempt = attempt
        gate = self.dag.publish_if_better and self.behaviour.follows_publish_if_better
        local, held_out = self.split(attempt) if gate else (self.data, self.data)
        config = self.training.model_copy(update={"seed": self.training.seed + attempt})

        def train_fn(data: Dataset) -> Weights:
            return dict(train(spec, data, config, initial=merge, on_progress=self.on_progress))

        started = p.head
        with p.stopwatch.measure("training"):
            weights = self.behaviour.produce(view, local, train_fn)
            verdict = None
            if gate:
                metric = METRICS_BY_ID[int(task.params.metric)]
                verdict = beats(spec, weights, merge, held_out, metric, self.dag.min_improvement)
        ready = self._ready_at(started, len(local))
        if verdict is not None and not verdict.better:
            note = (
                f"attempt {attempt} on {len(parents)} parents scored "
                f"{verdict.candidate:.4f} on the held-out split vs the merge's "
                f"{verdict.reference:.4f}"
            )
            self._prepared = Prepared(attempt, b"", "", ready, parents, False, note, verdict)
            return self._prepared
        with p.stopwatch.measure("training"):
            content = self.behaviour.encode(weights, spec)
        with p.stopwatch.measure("ipfs"):
            cid, digest = self.behaviour.publish(content, p.store)
        if digest in task.updates or p.client.content_used(digest):
            note = f"attempt {attempt}: content 0x{digest.hex()[:12]} is already on chain"
            self._prepared = Prepared(attempt, digest, cid, ready, parents, False, note)
            return self._prepared
        self._prepared = Prepared(attempt, digest, cid, ready, parents, verdict=verdict)
        return self._prepared

    def _send_dag(self, task: TaskRecord, prepared: Prepared) -> bool:
        p = self.participant
        client = p.client
        samples = len(self.data)
        self._commits.pop(prepared.digest, None)
        with p.stopwatch.measure("chain"):
            if client.has_outbox:
                self._pending[prepared.round] = client.broadcast_dag_update(
                    self.task_id, prepared.parents, prepared.digest, prepared.cid, samples
                )
            else:
                client.submit_dag_update(
                    self.task_id, prepared.parents, prepared.digest, prepared.cid, samples
                )
        self.submitted.append((prepared.round, prepared.digest))
        log.info(
            "task %d: submitted %s on %d parents (%s)",
            self.task_id,
            prepared.cid,
            len(prepared.parents),
            self.behaviour.name,
        )
        return True

    def _commit(self, update: bytes) -> tuple[str, bool]:
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

    def _recent_others(self, task: TaskRecord) -> list[bytes]:
        """The latest updates of other providers that were not rejected (at most one per
        joined provider): what an omniscient attacker reads in a dag task."""
        me = self.participant.address
        others = [
            u.update
            for u in task.updates.values()
            if u.provider != me and u.status is not Status.REJECTED
        ]
        return others[-len(task.providers) :] if task.providers else []

    def _load(self, updates: list[bytes]) -> list[Weights]:
        loaded = []
        for u in updates:
            try:
                loaded.append(self.participant.fetch_weights(self.task_id, u))
            except LedgerlearnError as exc:  # withheld or malformed: not worth copying
                log.debug("update 0x%s not loaded: %s", u.hex()[:12], exc)
        return loaded
