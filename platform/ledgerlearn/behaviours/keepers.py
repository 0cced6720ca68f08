"""Keepers that attack verified aggregation (ledger-level attacks).

Any participant may propose a round's aggregate. :class:`WrongAggregateKeeper` computes the
right aggregate and shifts every weight before proposing it, racing the honest keepers:
committee members recompute the aggregate, see the mismatch and do not attest; the honest
proposal gets the quorum and becomes the round's result. :class:`DeadCidKeeper` proposes the
right aggregate's content hash first, with a CID that points to nothing (THREATS I1): the
ledger keys the proposal by the hash, so the honest keeper's CID is added to it, members attest
the hash they recomputed, and the round finalizes.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.core.rules import Status
from ledgerlearn.flows.federation.keeper import RoundKeeper
from ledgerlearn.model.weights import decode, encode


class WrongAggregateKeeper(RoundKeeper):
    """Proposes the round's aggregate with every weight moved by ``shift``."""

    shift = np.float32(0.05)

    def compute(self, task: TaskRecord, record: RoundRecord) -> bytes:
        """The honest aggregate, shifted."""
        spec = self.participant.spec(task.task_id)
        honest = decode(super().compute(task, record), spec)
        return encode(
            {k: (v + self.shift).astype(np.float32) for k, v in honest.items()}, spec=spec
        )


class DeadCidKeeper(RoundKeeper):
    """Proposes the right aggregate's hash first, with a CID nobody can fetch."""

    def step(self) -> bool:
        """Propose the right hash with a dead CID once per round; nothing else."""
        p = self.participant
        task = p.task(self.task_id)
        if task.closed or not task.rounds:
            return False
        record = task.rounds[max(task.rounds)]
        if (
            record.result_hash is not None
            or not record.accepted
            or p.address in record.proposers
            or any(task.updates[u].status is Status.PENDING for u in record.updates)
            or p.head < task.round_deadlines(record.round).submissions_close
        ):
            return False
        digest = hashlib.sha256(self.compute(task, record)).digest()
        dead = p.store.compute_cid(b"nobody serves this: " + digest)  # a real CID, never stored
        p.client.propose_aggregate(self.task_id, record.round, record.accepted, digest, dead)
        return True
