"""Bulyan.

Reference: E. M. El Mhamdi, R. Guerraoui, S. Rouault. "The Hidden Vulnerability of Distributed
Learning in Byzantium", ICML 2018.

With ``f = num_byzantine`` and ``n >= 4f + 3``:

1. selection: ``theta = n - 2f`` times, run Krum on the updates not yet selected and move the
   winner to the selection set. Krum on ``r`` remaining updates scores the
   ``max(r - f - 2, 1)`` nearest neighbours (``r - f - 2`` drops below one in the last rounds,
   where the paper's recursion is left implicit; at least the nearest neighbour is scored, and a
   single remaining update is simply taken). The distances are computed once, for all ``n``
   updates, and restricted to the remaining ones at each round;
2. aggregation: per coordinate, the ``beta = theta - 2f`` selected values closest to the
   median of the ``theta`` selected values are averaged (ties at equal distance keep the
   smaller value, as in :mod:`~ledgerlearn.aggregation.meamed`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import Aggregator
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector
from ledgerlearn.aggregation.krum import krum_scores
from ledgerlearn.aggregation.sorting import closest_to_median_mean, sorted_column_chunks

__all__ = ["Bulyan", "bulyan", "bulyan_selection", "check_breakdown"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """Bulyan needs ``n >= 4*num_byzantine + 3``."""
    if n < 4 * num_byzantine + 3:
        raise BreakdownPointError("bulyan", "n >= 4*num_byzantine + 3", n, num_byzantine)


def bulyan_selection(sq_dist: npt.NDArray[np.float64], num_byzantine: int) -> npt.NDArray[np.intp]:
    """Indices, ascending, of the ``n - 2*num_byzantine`` updates chosen by repeated Krum."""
    n = sq_dist.shape[0]
    check_breakdown(n, num_byzantine)
    remaining = list(range(n))
    chosen: list[int] = []
    for _ in range(n - 2 * num_byzantine):
        r = len(remaining)
        if r == 1:
            chosen.append(remaining.pop())
            break
        sub = sq_dist[np.ix_(remaining, remaining)]
        k = min(max(r - num_byzantine - 2, 1), r - 1)
        winner = int(np.argmin(krum_scores(sub, k)))
        chosen.append(remaining.pop(winner))
    return np.sort(np.asarray(chosen, dtype=np.intp))


def bulyan(x: Matrix, num_byzantine: int) -> Vector:
    """Bulyan aggregate of the rows of ``x`` (see the module docstring)."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    selected = bulyan_selection(pairwise_squared_distances(x), num_byzantine)
    theta = n - 2 * num_byzantine
    beta = theta - 2 * num_byzantine
    out = np.empty(x.shape[1], dtype=x.dtype)
    for cols, rows in sorted_column_chunks(x, [int(i) for i in selected]):
        out[cols] = closest_to_median_mean(rows, beta)
    return out


class Bulyan(Aggregator):
    """Bulyan over Krum (``n >= 4*num_byzantine + 3``)."""

    name: ClassVar[str] = "bulyan"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return bulyan(x, self.num_byzantine)
