"""MDA: Minimum-Diameter Averaging.

Reference: E. M. El Mhamdi, R. Guerraoui, A. Guirguis, L. N. Hoang, S. Rouault. "Genuinely
Distributed Byzantine Machine Learning", PODC 2020 (also in R. Guerraoui et al., "Robust
Machine Learning", 2024).

Among all subsets of ``n - f`` updates (``f = num_byzantine``) the one with the smallest
diameter (largest pairwise distance) is averaged. Among subsets of equal diameter the one
with the smallest sum of squared pairwise distances is taken, then the lexicographically first
(see :func:`min_diameter_subset`). The search is exact: a depth-first enumeration of subsets in
lexicographic order of their sorted indices, pruned as soon as a partial subset cannot beat the
best one found. Its worst case is ``C(n, f)`` subsets; a configuration above
``max_subsets`` (default :data:`DEFAULT_MAX_SUBSETS`) is refused with
:class:`~ledgerlearn.aggregation.errors.SubsetSearchTooLargeError` before any work. Needs
``n > 2f``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import Aggregator, check_count
from ledgerlearn.aggregation.distances import pairwise_squared_distances
from ledgerlearn.aggregation.errors import BreakdownPointError, SubsetSearchTooLargeError
from ledgerlearn.aggregation.inputs import Matrix, Vector, mean_of_rows

__all__ = ["DEFAULT_MAX_SUBSETS", "MDA", "check_breakdown", "min_diameter_subset"]

DEFAULT_MAX_SUBSETS = 2_000_000
"""Largest ``C(n, f)`` searched by default (n=24, f=8: 735,471; n=30, f=7: 2,035,800)."""


def check_breakdown(n: int, num_byzantine: int, max_subsets: int = DEFAULT_MAX_SUBSETS) -> None:
    """MDA needs ``n > 2*num_byzantine`` and at most ``max_subsets`` subsets to search."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("mda", "n > 2*num_byzantine", n, num_byzantine)
    subsets = math.comb(n, num_byzantine)
    if subsets > max_subsets:
        raise SubsetSearchTooLargeError("mda", n, num_byzantine, subsets, max_subsets)


def min_diameter_subset(sq_dist: npt.NDArray[np.float64], size: int) -> list[int]:
    """Sorted indices of the ``size``-subset of minimum diameter.

    Among subsets of equal diameter, the one with the smallest sum of squared pairwise
    distances wins (a refinement the paper leaves open: with continuous data it makes the
    choice independent of the order of the updates, whereas the diameter alone is usually
    shared by several subsets); remaining ties go to the lexicographically first subset.

    Parameters
    ----------
    sq_dist
        ``(n, n)`` squared distances (the diameter is compared squared: same order).
    size
        Subset size, ``1 <= size <= n``.
    """
    n = sq_dist.shape[0]
    dist = sq_dist.tolist()
    best_key = (math.inf, math.inf)
    best: list[int] = list(range(size))
    current: list[int] = []

    def extend(start: int, diameter: float, total: float) -> None:
        nonlocal best_key, best
        if len(current) == size:
            if (diameter, total) < best_key:
                best_key = (diameter, total)
                best = list(current)
            return
        for j in range(start, n - (size - len(current)) + 1):
            row = dist[j]
            grown = diameter
            added = total
            for i in current:
                added += row[i]
                if row[i] > grown:
                    grown = row[i]
            # both keys only grow as points are added: prune what cannot beat the best
            if (grown, added) >= best_key:
                continue
            current.append(j)
            extend(j + 1, grown, added)
            current.pop()

    extend(0, 0.0, 0.0)
    return best


class MDA(Aggregator):
    """Average of the ``n - num_byzantine`` updates of minimum diameter.

    Parameters
    ----------
    num_byzantine, num_updates
        See :class:`~ledgerlearn.aggregation.base.Aggregator`.
    max_subsets
        Bound on ``C(n, num_byzantine)``, the worst-case number of subsets searched.
    """

    name: ClassVar[str] = "mda"

    def __init__(
        self,
        num_byzantine: int = 0,
        num_updates: int | None = None,
        max_subsets: int = DEFAULT_MAX_SUBSETS,
    ) -> None:
        self.max_subsets = check_count("max_subsets", max_subsets, 1)
        super().__init__(num_byzantine, num_updates)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine, self.max_subsets)

    def aggregate(self, x: Matrix) -> Vector:
        n = x.shape[0]
        self.check_num_updates(n)
        subset = min_diameter_subset(pairwise_squared_distances(x), n - self.num_byzantine)
        return mean_of_rows(x, subset)
