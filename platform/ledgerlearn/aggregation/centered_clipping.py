"""Centered clipping.

Reference: S. P. Karimireddy, L. He, M. Jaggi. "Learning from History for Byzantine Robust
Optimization", ICML 2021.

Starting from a reference point ``v_0``, ``num_iterations`` times:
``v <- v + (1/n) sum_i min(1, tau / ||x_i - v||) (x_i - v)``.

Choices where the paper leaves freedom (it uses the previous round's momentum as ``v_0`` and a
tuned constant ``tau``), made here so the rule is stateless and its radius comes from the data
(threat A6):

- ``v_0`` is the coordinate-wise median of the updates (robust, and recomputable by anyone
  from the same updates; no state carried between rounds);
- unless ``radius`` is given, ``tau`` is recomputed at every iteration as the median of the
  ``n - f`` smallest distances ``||x_i - v||`` (``f = num_byzantine``): the ``f`` largest
  distances, possibly Byzantine, are excluded first, then the lower median is taken, i.e. the
  ``ceil((n - f) / 2)``-th smallest distance. It is bounded by honest distances whenever
  ``f < n / 2``, even if ``num_byzantine`` underestimates the attackers;
- ``v`` stays an affine combination of the updates and ``v_0``, so the iterations run on the
  centred Gram matrix of ``[x; v_0]`` (see :mod:`~ledgerlearn.aggregation.distances`).

Needs ``n > 2*num_byzantine``.
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
from ledgerlearn.aggregation.median import coordinate_median

__all__ = [
    "CenteredClipping",
    "centered_clipping",
    "centered_clipping_weights",
    "check_breakdown",
    "robust_radius",
]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """Centered clipping needs ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("centered_clipping", "n > 2*num_byzantine", n, num_byzantine)


def robust_radius(values: npt.NDArray[np.float64], num_byzantine: int) -> float:
    """The lower median of the ``n - num_byzantine`` smallest values:
    the ``ceil((n - num_byzantine) / 2)``-th smallest."""
    kept = values.shape[0] - num_byzantine
    return float(np.sort(values)[(kept + 1) // 2 - 1])


def centered_clipping_weights(
    gram: npt.NDArray[np.float64], num_byzantine: int, num_iterations: int, radius: float | None
) -> npt.NDArray[np.float64]:
    """Weights ``w`` (length ``n + 1``, summing to one) with ``v = sum_i w_i p_i`` over the points
    ``p = [x_1..x_n, v_0]`` of ``gram`` (the reference ``v_0`` last)."""
    n = gram.shape[0] - 1
    weights = np.zeros(n + 1)
    weights[n] = 1.0
    for _ in range(num_iterations):
        dist = distances_to_combination(gram, weights)[:n]
        tau = robust_radius(dist, num_byzantine) if radius is None else radius
        scale = np.ones(n)
        far = dist > tau
        scale[far] = tau / dist[far]
        step = scale / n
        weights = weights * (1.0 - step.sum())
        weights[:n] += step
    return weights


def centered_clipping(
    x: Matrix, num_byzantine: int, num_iterations: int = 3, radius: float | None = None
) -> Vector:
    """Centered clipping of the rows of ``x`` around their coordinate-wise median."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    reference = coordinate_median(x)[None, :]
    weights = centered_clipping_weights(
        centred_gram(x, reference), num_byzantine, num_iterations, radius
    )
    return weighted_sum_of_rows(x, weights[:n], reference, weights[n:])


class CenteredClipping(Aggregator):
    """Centered clipping around the coordinate-wise median.

    Parameters
    ----------
    num_byzantine, num_updates
        See :class:`~ledgerlearn.aggregation.base.Aggregator`.
    num_iterations
        ``L``, clipping iterations.
    radius
        Fixed clipping radius ``tau``; ``None`` (default) derives it from the data at every
        iteration (see the module docstring).
    """

    name: ClassVar[str] = "centered_clipping"

    def __init__(
        self,
        num_byzantine: int = 0,
        num_updates: int | None = None,
        num_iterations: int = 3,
        radius: float | None = None,
    ) -> None:
        self.num_iterations = check_count("num_iterations", num_iterations, 1)
        if radius is not None and not (math.isfinite(radius) and radius > 0.0):
            raise AggregationConfigError(f"radius must be finite and > 0, got {radius!r}")
        self.radius = None if radius is None else float(radius)
        super().__init__(num_byzantine, num_updates)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return centered_clipping(x, self.num_byzantine, self.num_iterations, self.radius)
