"""The consensus model of each dag task, kept by the gateway as an ordinary participant.

A dag task has no round results on chain: its global model is the *consensus model*, the
robust aggregate of its best recent tips (:func:`ledgerlearn.flows.dag.consensus.task_consensus`),
which anyone recomputes from the chain and IPFS and gets the same content hash. The gateway
recomputes it whenever a task's set of accepted updates changes, puts the bytes on its IPFS
node (so ``/models/{cid}`` serves them and anyone can fetch them) and keeps every version
with the block it was computed at: the dag task's learning curve is the metric of these
models over time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ledgerlearn.agents.participant import Participant
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.dag.consensus import DEFAULT_TOP_K, task_consensus
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.storage import IpfsNode

log = logging.getLogger(__name__)

PATIENCE = 5
"""Failed computations of a task's consensus in a row that are a WARNING (once); fewer are
normal (a tip's content not reachable yet)."""

MAX_VERSIONS = 1000
"""Versions kept per task (the oldest are dropped; the curve thins out, nothing else)."""


@dataclass(frozen=True)
class ConsensusVersion:
    """The consensus model of a dag task as the DAG stood at ``block``."""

    task_id: int
    block: int
    content_hash: bytes
    cid: str
    tips: tuple[bytes, ...]
    """The tips aggregated, best first (the initial weights while nothing is accepted)."""
    accepted: int
    """Accepted updates the DAG held."""
    quality: float
    """Mean committee-estimated quality of the aggregated tips (metric units, see
    :class:`~ledgerlearn.core.dag_graph.DagGraph`); the curve without a held-out set."""


class ConsensusModels:
    """Recomputes the consensus model of each open dag task when its DAG changes.

    Parameters
    ----------
    participant
        A participant of its own (its own index; no key needed: only reads).
    node
        The gateway's IPFS node; the consensus bytes are put there.
    top_k
        Tips aggregated (K).
    """

    def __init__(self, participant: Participant, node: IpfsNode, top_k: int = DEFAULT_TOP_K):
        self.participant = participant
        self.node = node
        self.top_k = top_k
        self._versions: dict[int, list[ConsensusVersion]] = {}
        self._seen: dict[int, tuple[bytes, ...]] = {}
        self.failed: dict[int, str] = {}
        """Dag tasks whose consensus model could not be computed last time, and why."""
        self._tries: dict[int, int] = {}
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Sync, then recompute the consensus of every dag task whose accepted updates changed
        since the last time; returns how many were recomputed. A task whose tips cannot be
        fetched or decoded now is left in :attr:`failed` (with why) and tried again on the
        next call; the other tasks go on."""
        p = self.participant
        p.sync()
        computed = 0
        for task in list(p.index.tasks.values()):
            if not FLOWS[task.flow].has_graph:
                continue
            accepted = tuple(task.accepted_as_of(None))
            if self._seen.get(task.task_id) == accepted:
                continue
            try:
                model = task_consensus(p, task.task_id, self.top_k)
                cid, digest = self.node.put(model.content)
            except LedgerlearnError as exc:
                self.failed[task.task_id] = f"task {task.task_id}: {exc}"
                tries = self._tries[task.task_id] = self._tries.get(task.task_id, 0) + 1
                # a tip accepted a moment ago may not be reachable yet: tried again next time
                level = logging.WARNING if tries == PATIENCE else logging.INFO
                log.log(level, "task %d: no consensus model (try %d): %s", task.task_id, tries, exc)
                continue
            self.failed.pop(task.task_id, None)
            self._tries.pop(task.task_id, None)
            version = ConsensusVersion(
                task.task_id, p.head, digest, cid, tuple(model.tips), len(accepted), model.quality
            )
            with self._lock:
                versions = self._versions.setdefault(task.task_id, [])
                versions.append(version)
                del versions[:-MAX_VERSIONS]
            self._seen[task.task_id] = accepted
            computed += 1
            log.info(
                "task %d: consensus of %d tip(s) at block %d: 0x%s",
                task.task_id,
                len(model.tips),
                p.head,
                digest.hex(),
            )
        return computed

    def latest(self, task_id: int) -> ConsensusVersion | None:
        """The most recent consensus model of ``task_id`` (None: not computed yet)."""
        with self._lock:
            versions = self._versions.get(task_id)
            return versions[-1] if versions else None

    def history(self, task_id: int) -> list[ConsensusVersion]:
        """Every kept version of ``task_id``'s consensus model, oldest first."""
        with self._lock:
            return list(self._versions.get(task_id, []))

    def by_cid(self, cid: str) -> ConsensusVersion | None:
        """The consensus version with that CID, if the gateway computed one."""
        with self._lock:
            for versions in self._versions.values():
                for version in versions:
                    if version.cid == cid:
                        return version
        return None
