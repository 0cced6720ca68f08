"""Krum and Multi-Krum.

Reference: P. Blanchard, E. M. El Mhamdi, R. Guerraoui, J. Stainer. "Machine Learning with
Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017 (Krum and Multi-Krum);
Multi-Krum's ``m`` as in E. M. El Mhamdi, R. Guerraoui, S. Rouault. "The Hidden Vulnerability of
Distributed Learning in Byzantium", ICML 2018.

Each update ``i`` is scored by the sum of its squared distances to its ``n - f - 2`` nearest
neighbours (other updates; ``f = num_byzantine``). Krum returns the update with the smallest
score; Multi-Krum averages the ``m`` best-scored updates (``m = n - f`` by default). Both need
``n >= 2f + 3``. Ties in score go to the lowest index; a selected set is averaged in ascending
index order. The distances come from :mod:`~ledgerlearn.aggregation.distances` (one GEMM).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import Aggregator, check_count
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector, mean_of_rows

__all__ = [
    "Krum",
    "MultiKrum",
    "check_breakdown",
    "check_multi_krum",
    "krum_scores",
    "select_krum",
    "select_multi_krum",
]


def check_breakdown(n: int, num_byzantine: int, rule: str = "krum") -> None:
    """Krum needs ``n >= 2*num_byzantine + 3``."""
    if n < 2 * num_byzantine + 3:
        raise BreakdownPointError(rule, "n >= 2*num_byzantine + 3", n, num_byzantine)


def check_multi_krum(n: int, num_byzantine: int, num_selected: int | None) -> None:
    """Multi-Krum's breakdown point, and ``1 <= m <= n - num_byzantine`` for its ``m``."""
    check_breakdown(n, num_byzantine, "multi_krum")
    if num_selected is not None and num_selected > n - num_byzantine:
        raise BreakdownPointError(
            "multi_krum",
            f"num_selected <= n - num_byzantine (num_selected={num_selected})",
            n,
            num_byzantine,
        )


def krum_scores(sq_dist: npt.NDArray[np.float64], num_neighbours: int) -> npt.NDArray[np.float64]:
    """Score of each point: the sum of its ``num_neighbours`` smallest squared distances to the
    *other* points (its own zero distance is excluded by index, not by value).

    Parameters
    ----------
    sq_dist
        ``(n, n)`` symmetric squared distances.
    num_neighbours
        ``k``, with ``0 <= k <= n - 1``.
    """
    n = sq_dist.shape[0]
    others = ~np.eye(n, dtype=bool)
    nearest = np.sort(sq_dist[others].reshape(n, n - 1), axis=1)[:, :num_neighbours]
    scores: npt.NDArray[np.float64] = nearest.sum(axis=1)
    return scores


def select_krum(sq_dist: npt.NDArray[np.float64], num_byzantine: int) -> int:
    """Index of the Krum winner (lowest index among equal scores)."""
    n = sq_dist.shape[0]
    check_breakdown(n, num_byzantine)
    return int(np.argmin(krum_scores(sq_dist, n - num_byzantine - 2)))


def select_multi_krum(
    sq_dist: npt.NDArray[np.float64], num_byzantine: int, num_selected: int | None = None
) -> npt.NDArray[np.intp]:
    """Indices (ascending) of the ``num_selected`` best Krum scores (default ``n - f``)."""
    n = sq_dist.shape[0]
    check_multi_krum(n, num_byzantine, num_selected)
    m = n - num_byzantine if num_selected is None else num_selected
    order = np.argsort(krum_scores(sq_dist, n - num_byzantine - 2), kind="stable")
    return np.sort(order[:m])


class Krum(Aggregator):
    """Krum: the update with the smallest sum of squared distances to its ``n - f - 2``
    nearest neighbours."""

    name: ClassVar[str] = "krum"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        winner = select_krum(pairwise_squared_distances(x), self.num_byzantine)
        chosen: Vector = x[winner].copy()
        return chosen


class MultiKrum(Aggregator):
    """Multi-Krum: the average of the ``num_selected`` best Krum scores.

    Parameters
    ----------
    num_byzantine, num_updates
        See :class:`~ledgerlearn.aggregation.base.Aggregator`.
    num_selected
        ``m``, how many updates to average; ``None`` (default) means ``n - num_byzantine``.
    """

    name: ClassVar[str] = "multi_krum"

    def __init__(
        self,
        num_byzantine: int = 0,
        num_updates: int | None = None,
        num_selected: int | None = None,
    ) -> None:
        self.num_selected = (
            None if num_selected is None else check_count("num_selected", num_selected, 1)
        )
        super().__init__(num_byzantine, num_updates)

    def check_num_updates(self, n: int) -> None:
        check_multi_krum(n, self.num_byzantine, self.num_selected)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        chosen = select_multi_krum(
            pairwise_squared_distances(x), self.num_byzantine, self.num_selected
        )
        return mean_of_rows(x, chosen)
