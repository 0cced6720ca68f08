"""MoNNA: the average of the nearest neighbours of a pivot update.

Reference: S. Farhadkhani, R. Guerraoui, N. Gupta, L. N. Hoang, R. Pinot, J. Stephan. "Robust
Collaborative Learning with Linear Gradient Overhead", ICML 2023.

MoNNA averages the ``n - f`` updates nearest (Euclidean) to a pivot update, the pivot included
(``f = num_byzantine``). In the paper's peer-to-peer setting the pivot is the aggregating
node's own, trusted, update: pass its row as ``pivot``. Without a trusted update
(``pivot=None``, the default) the pivot is chosen deterministically from the data as the
update whose sum of squared distances to its ``n - f - 1`` nearest other updates is smallest
(a Krum score over exactly the size of an honest neighbourhood; lowest index on ties), so a
Byzantine minority cannot be the pivot unless it sits inside the honest cluster. Among updates
equally distant from the pivot the lower index is taken; the chosen set is averaged in
ascending index order. Needs ``n > 2f``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import Aggregator, check_count
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.errors import AggregationConfigError, BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector, mean_of_rows
from ledgerlearn.aggregation.krum import krum_scores

__all__ = ["MoNNA", "check_breakdown", "default_pivot", "nearest_neighbours"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """MoNNA needs ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("monna", "n > 2*num_byzantine", n, num_byzantine)


def nearest_neighbours(
    sq_dist: npt.NDArray[np.float64], pivot: int, count: int
) -> npt.NDArray[np.intp]:
    """Sorted indices of the ``count`` points nearest to ``pivot``, ``pivot`` first in rank
    (its own zero distance wins over duplicates), lower index first among equal distances."""
    key = sq_dist[pivot].copy()
    key[pivot] = -1.0
    order = np.argsort(key, kind="stable")
    return np.sort(order[:count])


def default_pivot(sq_dist: npt.NDArray[np.float64], num_byzantine: int) -> int:
    """The update with the smallest sum of squared distances to its ``n - f - 1`` nearest others."""
    n = sq_dist.shape[0]
    return int(np.argmin(krum_scores(sq_dist, n - num_byzantine - 1)))


class MoNNA(Aggregator):
    """Average of the ``n - num_byzantine`` nearest neighbours of a pivot update.

    Parameters
    ----------
    num_byzantine, num_updates
        See :class:`~ledgerlearn.aggregation.base.Aggregator`.
    pivot
        Row of the trusted update (e.g. the aggregating provider's own); ``None`` chooses it
        from the data (see the module docstring).
    """

    name: ClassVar[str] = "monna"

    def __init__(
        self, num_byzantine: int = 0, num_updates: int | None = None, pivot: int | None = None
    ) -> None:
        self.pivot = None if pivot is None else check_count("pivot", pivot, 0)
        super().__init__(num_byzantine, num_updates)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)
        if self.pivot is not None and self.pivot >= n:
            raise AggregationConfigError(f"monna pivot={self.pivot} is not a row of n={n} updates")

    def aggregate(self, x: Matrix) -> Vector:
        n = x.shape[0]
        self.check_num_updates(n)
        sq_dist = pairwise_squared_distances(x)
        pivot = default_pivot(sq_dist, self.num_byzantine) if self.pivot is None else self.pivot
        return mean_of_rows(x, nearest_neighbours(sq_dist, pivot, n - self.num_byzantine))
