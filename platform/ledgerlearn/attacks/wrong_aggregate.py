"""A keeper that proposes wrong aggregates (a ledger-level attack on verified aggregation).

Any participant may propose a round's aggregate. This one computes the right aggregate and
shifts every weight before proposing it, racing the honest keepers. Committee members
recompute the aggregate, see the mismatch and do not attest; the honest proposal gets the
quorum and becomes the round's result.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.flows.federation import RoundKeeper
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
