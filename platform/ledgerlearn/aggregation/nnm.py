"""NNM: Nearest-Neighbour Mixing (a pre-aggregator).

Reference: Y. Allouah, S. Farhadkhani, R. Guerraoui, N. Gupta, R. Pinot, J. Stephan. "Fixing by
Mixing: A Recipe for Optimal Byzantine ML under Heterogeneity", AISTATS 2023.

Every update is replaced by the average of its ``n - f`` nearest neighbours, itself included
(``f = num_byzantine``; its own zero distance ranks first, equal distances go to the lower
index; each neighbourhood is averaged in ascending index order). The distances come from one
GEMM (:mod:`~ledgerlearn.aggregation.distances`). Needs ``n > 2f``.
"""

from __future__ import annotations

from typing import ClassVar

from ledgerlearn.aggregation.base import PreAggregator
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, group_means
from ledgerlearn.aggregation.monna import nearest_neighbours

__all__ = ["NNM", "check_breakdown", "nearest_neighbour_mixing"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """NNM needs ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("nnm", "n > 2*num_byzantine", n, num_byzantine)


def nearest_neighbour_mixing(x: Matrix, num_byzantine: int) -> Matrix:
    """``(n, d)``: row ``i`` is the mean of the ``n - num_byzantine`` nearest rows to row ``i``."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    sq_dist = pairwise_squared_distances(x)
    return group_means(x, [nearest_neighbours(sq_dist, i, n - num_byzantine) for i in range(n)])


class NNM(PreAggregator):
    """Nearest-neighbour mixing."""

    kind: ClassVar[str] = "nnm"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def transform(self, x: Matrix) -> Matrix:
        self.check_num_updates(x.shape[0])
        return nearest_neighbour_mixing(x, self.num_byzantine)
