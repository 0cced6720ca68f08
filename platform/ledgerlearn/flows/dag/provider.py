"""A provider's work in a dag task: updates at its own pace, each built on parents it chose.

It selects parents among the tips by a score-biased random walk
(:mod:`~ledgerlearn.core.tip_selection`), merges them with the task's robust rule, lets its
behaviour produce weights from the merge (honest: trains on its training split) and, if they
beat the merge on its own held-out split (publish-if-better, honest behaviour only: an
attacker publishes whatever it made), publishes them, commits to them at once and reveals
them naming the parents once its pace allows. A model that does not beat its parents is
dropped, as is content the ledger already knows; the next attempt waits for the DAG to move
(see :class:`~ledgerlearn.flows.dag.updates.DagSettings`). One update is in flight at a time.

Joining, the commitment, the reveal and the pace are the agent's
(:class:`~ledgerlearn.flows.ports.ProviderAgent`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Status, from_fixed
from ledgerlearn.core.tip_selection import select_parents
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.errors import AgentError, LedgerlearnError
from ledgerlearn.flows.dag.consensus import graph_of
from ledgerlearn.flows.dag.updates import DagSettings, PublishVerdict, beats, merge_models
from ledgerlearn.flows.ports import ProviderAgent
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.training import METRICS_BY_ID, train

log = logging.getLogger(__name__)


@dataclass
class DagAttempt:
    """An update made on chosen parents and (unless it is dropped) put on IPFS, waiting for
    its pace."""

    attempt: int  # the provider's attempt number (1 for its first)
    digest: bytes
    cid: str
    ready_at: int  # first block it may be sent from
    parents: list[bytes] = field(default_factory=list)
    publish: bool = True  # False when it did not beat its parents (dropped when ready)
    note: str = ""
    verdict: PublishVerdict | None = None  # publish-if-better's comparison, when it ran


class DagProvider:
    """A provider's duty in a dag task (see the module docstring)."""

    def __init__(self, agent: ProviderAgent) -> None:
        self.agent = agent
        self.settings = agent.flow_settings(DagSettings)
        self.prepared: DagAttempt | None = None
        self.dropped: list[DagAttempt] = []  # models that did not beat their parents
        self._split: tuple[int, tuple[Dataset, Dataset]] | None = None
        self._attempt: int | None = None  # attempts so far (seeds the walk and training)
        self._waiting: tuple[int, int] | None = None  # (block, accepted) of a drop

    @property
    def unpublished(self) -> int:
        """Models it made and dropped (see :attr:`dropped`)."""
        return len(self.dropped)

    def check(self, task: TaskRecord) -> None:
        """Publish-if-better needs a held-out split of the local data."""
        if self.settings.publish_if_better:
            self.split()

    def split(self, attempt: int = 0) -> tuple[Dataset, Dataset]:
        """(training split, held-out split) of the local data for publish-if-better: a fresh
        one per attempt when the held-out split rotates, else always the same."""
        data = self.agent.data
        seed = self.agent.training.seed
        if self.settings.rotate_held_out:
            seed = seed * 1_000_003 + attempt
        if self._split is None or self._split[0] != seed:
            try:
                self._split = (seed, data.split(self.settings.held_out_fraction, seed=seed))
            except LedgerlearnError as exc:
                raise AgentError(
                    f"publish-if-better needs a held-out split of the local data "
                    f"({len(data)} samples): {exc}"
                ) from exc
        return self._split[1]

    def step(self, task: TaskRecord) -> bool:
        """Prepare an attempt, commit to it, reveal it or drop it; True when a transaction
        was sent."""
        agent = self.agent
        p = agent.participant
        client = p.client
        mine = [u for u in task.updates.values() if u.provider == p.address]
        if self._attempt is None:  # a restarted provider does not repeat its first walks
            self._attempt = len(mine)
        for attempt, intent in list(agent.reveals.items()):
            if client.intent_status(intent) == "pending":
                return False  # one update in flight at a time
            del agent.reveals[attempt]  # mined (the events show it) or reverted (try anew)
        prepared = self.prepared
        if prepared is not None:
            sent = False
            if prepared.publish:  # commit at once, reveal after the pace and a block later
                gate, sent = agent.commit(prepared.digest)
                if gate == "failed":
                    self.prepared = None
                    return False
                if gate != "revealable":
                    return sent
            if p.head + 1 < prepared.ready_at:
                return sent  # still training
            self.prepared = None
            if not prepared.publish:
                self.dropped.append(prepared)
                self._waiting = (p.head, len(task.accepted))
                log.info("task %d: %s; not published", agent.task_id, prepared.note)
                return False
            return self._send(prepared)
        if self._waiting is not None:
            block, accepted = self._waiting
            if len(task.accepted) == accepted and p.head < block + self.settings.patience_blocks:
                return False  # nothing new to build on yet
            self._waiting = None
        prepared = self._prepare(task)
        if prepared is None:
            return False
        return self.step(task)  # commit now, reveal when ready

    def _prepare(self, task: TaskRecord) -> DagAttempt | None:
        agent = self.agent
        settings = self.settings
        p = agent.participant
        assert self._attempt is not None
        attempt = self._attempt + 1
        spec = p.spec(agent.task_id)
        graph = graph_of(task)
        count = min(settings.parents, task.params.max_parents)
        seed = agent.training.seed * 1_000_003 + attempt
        parents = select_parents(graph, count, settings.alpha, seed)
        rule = RULE_NAMES[task.params.aggregation_rule]
        models = [p.fetch_weights(agent.task_id, h) for h in parents]
        staleness = graph.staleness(parents) if settings.staleness_beta is not None else None
        with p.stopwatch.measure("aggregation"):
            merge = merge_models(
                spec,
                models,
                rule,
                task.params.num_byzantine,
                staleness=staleness,
                beta=settings.staleness_beta,
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
            load_updates=lambda: agent.visible_updates(others),
        )
        if not agent.behaviour.ready(view):
            return None
        self._attempt = attempt
        gate = settings.publish_if_better and agent.behaviour.follows_publish_if_better
        local, held_out = self.split(attempt) if gate else (agent.data, agent.data)
        config = agent.training.model_copy(update={"seed": agent.training.seed + attempt})

        def train_fn(data: Dataset) -> Weights:
            return dict(train(spec, data, config, initial=merge, on_progress=agent.on_progress))

        started = p.head
        with p.stopwatch.measure("training"):
            weights = agent.behaviour.produce(view, local, train_fn)
            verdict = None
            if gate:
                metric = METRICS_BY_ID[int(task.params.metric)]
                verdict = beats(spec, weights, merge, held_out, metric, settings.min_improvement)
        ready = agent.ready_at(started, len(local))
        if verdict is not None and not verdict.better:
            note = (
                f"attempt {attempt} on {len(parents)} parents scored "
                f"{verdict.candidate:.4f} on the held-out split vs the merge's "
                f"{verdict.reference:.4f}"
            )
            self.prepared = DagAttempt(attempt, b"", "", ready, parents, False, note, verdict)
            return self.prepared
        with p.stopwatch.measure("training"):
            content = agent.behaviour.encode(weights, spec)
        with p.stopwatch.measure("ipfs"):
            cid, digest = agent.behaviour.publish(content, p.store)
        if digest in task.updates or p.client.content_used(digest):
            note = f"attempt {attempt}: content 0x{digest.hex()[:12]} is already on chain"
            self.prepared = DagAttempt(attempt, digest, cid, ready, parents, False, note)
            return self.prepared
        self.prepared = DagAttempt(attempt, digest, cid, ready, parents, verdict=verdict)
        return self.prepared

    def _send(self, prepared: DagAttempt) -> bool:
        agent = self.agent
        client = agent.participant.client
        task_id, samples = agent.task_id, len(agent.data)
        agent.reveal(
            prepared.attempt,
            prepared.digest,
            broadcast=lambda: client.broadcast_dag_update(
                task_id, prepared.parents, prepared.digest, prepared.cid, samples
            ),
            submit=lambda: client.submit_dag_update(
                task_id, prepared.parents, prepared.digest, prepared.cid, samples
            ),
        )
        log.info(
            "task %d: submitted %s on %d parents (%s)",
            task_id,
            prepared.cid,
            len(prepared.parents),
            agent.behaviour.name,
        )
        return True

    def _recent_others(self, task: TaskRecord) -> list[bytes]:
        """The latest updates of other providers that were not rejected (at most one per
        joined provider): what an omniscient attacker reads in a dag task."""
        me = self.agent.participant.address
        others = [
            u.update
            for u in task.updates.values()
            if u.provider != me and u.status is not Status.REJECTED
        ]
        return others[-len(task.providers) :] if task.providers else []
