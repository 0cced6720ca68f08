"""What every agent is made of: a chain client with its own key, an IPFS node, a local index.

Agents are event driven and idempotent: at start they replay the chain's events into a
:class:`~ledgerlearn.chain.index.LedgerIndex` (after checking that the chain under their
persisted checkpoint is unchanged — a reset or rolled-back chain stops them with a clear
error), then decide what to do from the index and the on-chain state, never from memory of
what they did before. Transactions go through an outbox, so an agent killed at any point and
restarted sends each intended transaction at most once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ledgerlearn.agents.feed import SharedFeed
from ledgerlearn.agents.pins import TaskPins
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.events import EventStream, LedgerEvent
from ledgerlearn.chain.index import LedgerIndex, TaskRecord
from ledgerlearn.errors import AgentError, ModelSpecError, StorageError, WeightsError
from ledgerlearn.flows.ports import ContentStore
from ledgerlearn.limits import MAX_SPEC_BYTES
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import decode
from ledgerlearn.stopwatch import Stopwatch

__all__ = ["VERIFY_EVERY", "Participant"]

log = logging.getLogger(__name__)

VERIFY_EVERY = 20
"""Every this many syncs the chain under the checkpoint is checked (reset, rollback)."""


@dataclass
class Participant:
    """One consortium member as an agent sees itself."""

    client: LedgerClient
    store: ContentStore
    state_dir: Path
    index: LedgerIndex = field(default_factory=LedgerIndex)
    fetch_timeout_s: float = 30.0
    stopwatch: Stopwatch = field(default_factory=Stopwatch)
    """Where this participant's time goes (training, validation, IPFS, chain)."""
    _stream: EventStream | None = None
    _guard: EventStream | None = None
    _specs: dict[int, ModelSpec] = field(default_factory=dict)
    _polls: int = 0
    head: int = -1
    """The latest block seen by :meth:`sync`."""
    feed: SharedFeed | None = None
    """In a single-process run: the feed whose index this participant reads (one poll per
    block for every agent) instead of its own event stream and checkpoint."""
    synced_at: float | None = None
    """When :meth:`sync` last succeeded (``time.monotonic()``); None before the first."""
    decode_failures: int = 0
    """Content fetched and verified against its hash that did not decode (a model spec, or
    weights not matching the task's spec): the fetch failures that are not the storage's."""
    pins: TaskPins | None = None
    """A committee member's: what it fetches for a task is pinned and served until the task
    closed plus a grace period (None: fetched content is not kept)."""

    @property
    def address(self) -> str:
        """This participant's account."""
        return self.client.address

    def sync(self) -> list[LedgerEvent]:
        """Apply the events since the last sync to the index; returns them.

        The first call checks the persisted checkpoint (reset / rollback detection) and then
        replays every event since the deployment.
        """
        if self.feed is not None:
            with self.stopwatch.measure("events"):
                events = self.feed.sync()
            self.index, self.head = self.feed.index, self.feed.head
            self.synced_at = time.monotonic()
            return events
        if self._stream is None:
            self._guard = EventStream(self.client, self.state_dir / "checkpoint.json")
            self._guard.verify()
            self._stream = EventStream(self.client)
        self._polls += 1
        with self.stopwatch.measure("events"):
            batch = self._stream.poll(verify=self._polls % VERIFY_EVERY == 0)
        self.head = batch.to_block
        self.index.apply_all(batch.events)
        self._stream.commit(batch)
        assert self._guard is not None
        self._guard.commit(batch)
        self.synced_at = time.monotonic()
        return batch.events

    def task(self, task_id: int) -> TaskRecord:
        """The indexed task (after :meth:`sync`)."""
        try:
            return self.index.tasks[task_id]
        except KeyError as exc:
            raise AgentError(f"task {task_id} is not published on this chain") from exc

    def spec(self, task_id: int) -> ModelSpec:
        """The task's model spec, fetched once and checked against its on-chain hash."""
        if task_id not in self._specs:
            params = self.task(task_id).params
            raw = self.fetch(task_id, params.model_spec_cid, params.model_spec_hash, MAX_SPEC_BYTES)
            try:
                self._specs[task_id] = ModelSpec.from_json(raw)
            except ModelSpecError:
                self.decode_failures += 1
                raise
        return self._specs[task_id]

    def fetch_model(self, task_id: int, content_hash: bytes, cid: str | None = None) -> bytes:
        """A model of the task (initial weights, update or aggregate): its bytes, verified
        against ``content_hash``, from the first of its CIDs that serves them.

        Raises
        ------
        AgentError
            No CID is known for the model.
        StorageError
            Unavailable before the deadline, too large, or bytes not matching the hash.
        """
        task = self.task(task_id)
        # An aggregate may have several CIDs (a proposer may name one that points to nothing):
        # the given one first, then the members' own, then the rest.
        candidates = list(dict.fromkeys([*([cid] if cid else []), *task.cids_of(content_hash)]))
        if not candidates:
            raise AgentError(f"no CID known for model 0x{content_hash.hex()} of task {task_id}")
        failure: StorageError | None = None
        for candidate in candidates:
            try:
                return self.fetch(task_id, candidate, content_hash)
            except StorageError as exc:
                failure = exc
        assert failure is not None
        raise failure

    def fetch(
        self,
        task_id: int,
        cid: str,
        content_hash: bytes,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
    ) -> bytes:
        """Content of ``task_id`` verified against ``content_hash``; a committee member
        (:attr:`pins`) also pins it for the task and serves it.

        Raises
        ------
        StorageError
            Unavailable before the deadline, too large, or bytes not matching the hash.
        """
        keep = self.pins is not None
        was_here = keep and self.store.has(cid)
        with self.stopwatch.measure("ipfs"):
            data = self.store.get(
                cid,
                content_hash,
                max_bytes,
                timeout_s or self.fetch_timeout_s,
                pin=keep and not was_here,
            )
        if self.pins is not None:
            self.pins.fetched(task_id, cid, was_here)
        return data

    def keep(self, task_id: int, cid: str) -> None:
        """Content this participant stored for ``task_id`` (a member's aggregate): a
        committee member releases it with what it fetched for the task."""
        if self.pins is not None:
            self.pins.fetched(task_id, cid, was_here=False)

    def fetch_weights(
        self, task_id: int, content_hash: bytes, cid: str | None = None
    ) -> dict[str, npt.NDArray[np.float32]]:
        """A model of the task (initial weights, update or aggregate), verified and decoded
        (:meth:`fetch_model`, then the task's spec).

        Raises
        ------
        StorageError
            Unavailable before the deadline, too large, or bytes not matching the hash.
        WeightsError
            Not a safetensors file matching the task's model spec, or non-finite values.
        """
        spec = self.spec(task_id)
        data = self.fetch_model(task_id, content_hash, cid)
        try:
            return dict(decode(data, spec))
        except WeightsError:
            self.decode_failures += 1
            raise
