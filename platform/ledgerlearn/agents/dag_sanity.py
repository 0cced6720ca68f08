"""A validator's sanity checks of dag updates: the round checks on changes from the parents.

A dag update has no round of peers; its change is measured from the merge of the parents it
names. The checks of :func:`~ledgerlearn.agents.sanity.check_round` (free rider, norm
outlier, reversed change, near-duplicate) run on those changes, with the changes of the last
updates this validator decoded as the context ("typical" change norm, median direction,
earlier changes a copy would duplicate) — all of them, as a federation round's checks use
all of the round's decodable updates: keeping only the ones that passed froze the context
on the large changes of early training, and every later (smaller) honest change then looked
like a free rider's. Plus the lone free-rider floor: a change smaller than
:data:`~ledgerlearn.agents.sanity.MIN_RELATIVE_CHANGE` times the merge's norm.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ledgerlearn.agents.sanity import MIN_RELATIVE_CHANGE, SanityVerdict, check_round

__all__ = ["HISTORY", "DagSanity"]

HISTORY = 10
"""Changes of earlier updates kept as context."""

Vector = npt.NDArray[np.float32]


class DagSanity:
    """Sanity checks of a dag task's updates, with the context of earlier valid ones."""

    def __init__(self, history: int = HISTORY) -> None:
        self._history: deque[Vector] = deque(maxlen=history)

    def check(self, merges: Sequence[Vector], updates: Sequence[Vector]) -> list[SanityVerdict]:
        """Verdicts for ``updates`` (flat), each against its parents' merge (flat); their
        changes then join the context."""
        if len(merges) != len(updates):
            raise ValueError(f"{len(updates)} updates but {len(merges)} merges")
        if not updates:
            return []
        changes = [
            u.astype(np.float32) - m.astype(np.float32)
            for u, m in zip(updates, merges, strict=True)
        ]
        context = list(self._history)
        zero = np.zeros_like(changes[0])
        verdicts = check_round(zero, [*context, *changes])[len(context) :]
        out: list[SanityVerdict] = []
        for change, merge, verdict in zip(changes, merges, verdicts, strict=True):
            norm = float(np.linalg.norm(change.astype(np.float64)))
            floor = MIN_RELATIVE_CHANGE * float(np.linalg.norm(merge.astype(np.float64)))
            if verdict.ok and (norm == 0.0 or norm < floor):
                verdict = SanityVerdict(
                    False, f"free rider: change norm {norm:.3g} < {MIN_RELATIVE_CHANGE} x "
                    "the parents' merge norm"
                )  # fmt: skip
            out.append(verdict)
        self._history.extend(changes)
        return out
