"""Geometric median by the smoothed Weiszfeld algorithm.

References: E. Weiszfeld, "Sur le point pour lequel la somme des distances de n points donnés
est minimum", Tôhoku Math. J. 1937; smoothing as in K. Pillutla, S. M. Kakade, Z. Harchaoui,
"Robust Aggregation for Federated Learning", IEEE Trans. Signal Processing 2022 (RFA).

The geometric median minimises ``sum_i ||z - x_i||``. Weiszfeld's iteration
``z <- sum_i b_i x_i / sum_i b_i`` with ``b_i = 1 / max(nu, ||z - x_i||)`` starts from the mean
and keeps ``z`` a convex combination of the updates, so it runs entirely on the ``n x n``
centred Gram matrix (see :mod:`~ledgerlearn.aggregation.distances`): the ``d`` coordinates are
read once for the Gram matrix and once for the final combination, however many iterations are
made. The smoothing ``nu`` is ``smoothing`` times the root-mean-square distance of the updates
to their mean (so it scales with the data; it only matters when ``z`` lands on an update).
Iterations stop when ``z`` moves by at most ``tol`` times that RMS distance (measured in
weight space: ``||dz||^2 = dw^T G dw``), or after ``max_iter``: both fixed, so the result is
deterministic. Breakdown point 1/2: needs
``n > 2*num_byzantine``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import Aggregator, check_count
from ledgerlearn.aggregation.distances import centred_gram, distances_to_combination
from ledgerlearn.aggregation.errors import AggregationConfigError, BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector, weighted_sum_of_rows

__all__ = ["GeometricMedian", "check_breakdown", "geometric_median", "weiszfeld_weights"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """The geometric median needs ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("geometric_median", "n > 2*num_byzantine", n, num_byzantine)


def weiszfeld_weights(
    gram: npt.NDArray[np.float64], max_iter: int, tol: float, smoothing: float
) -> npt.NDArray[np.float64]:
    """Convex weights ``w`` such that ``sum_i w_i x_i`` is the (smoothed) geometric median.

    Parameters
    ----------
    gram
        ``(n, n)`` centred Gram matrix of the updates.
    max_iter, tol, smoothing
        See :class:`GeometricMedian`.
    """
    n = gram.shape[0]
    weights = np.full(n, 1.0 / n)
    scale = math.sqrt(max(float(np.trace(gram)) / n, 0.0))
    if scale == 0.0:
        return weights
    nu = smoothing * scale
    dist = distances_to_combination(gram, weights)
    for _ in range(max_iter):
        beta = 1.0 / np.maximum(dist, nu)
        new_weights = beta / beta.sum()
        step = new_weights - weights
        moved = math.sqrt(max(float((step * (gram * step[None, :]).sum(axis=1)).sum()), 0.0))
        weights = new_weights
        if moved <= tol * scale:
            break
        dist = distances_to_combination(gram, weights)
    return weights


def geometric_median(
    x: Matrix, max_iter: int = 1000, tol: float = 1e-9, smoothing: float = 1e-6
) -> Vector:
    """Smoothed-Weiszfeld geometric median of the rows of ``x``."""
    weights = weiszfeld_weights(centred_gram(x), max_iter, tol, smoothing)
    return weighted_sum_of_rows(x, weights)


class GeometricMedian(Aggregator):
    """Geometric median (smoothed Weiszfeld).

    Parameters
    ----------
    num_byzantine, num_updates
        See :class:`~ledgerlearn.aggregation.base.Aggregator` (``num_byzantine`` is only
        checked against the breakdown point).
    max_iter
        Most Weiszfeld iterations.
    tol
        Stop when an iteration moves ``z`` by at most ``tol`` times the RMS distance of the
        updates to their mean.
    smoothing
        ``nu`` relative to the RMS distance of the updates to their mean.
    """

    name: ClassVar[str] = "geometric_median"

    def __init__(
        self,
        num_byzantine: int = 0,
        num_updates: int | None = None,
        max_iter: int = 1000,
        tol: float = 1e-9,
        smoothing: float = 1e-6,
    ) -> None:
        self.max_iter = check_count("max_iter", max_iter, 1)
        if not (math.isfinite(tol) and tol >= 0.0):
            raise AggregationConfigError(f"tol must be finite and >= 0, got {tol!r}")
        if not (math.isfinite(smoothing) and smoothing > 0.0):
            raise AggregationConfigError(f"smoothing must be finite and > 0, got {smoothing!r}")
        self.tol = float(tol)
        self.smoothing = float(smoothing)
        super().__init__(num_byzantine, num_updates)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return geometric_median(x, self.max_iter, self.tol, self.smoothing)
