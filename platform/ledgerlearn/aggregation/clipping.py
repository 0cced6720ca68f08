"""Clipping with a radius taken from the observed norms (a pre-aggregator).

Reference: clipping of updates as analysed in S. P. Karimireddy, L. He, M. Jaggi, "Learning from
History for Byzantine Robust Optimization", ICML 2021, and Y. Allouah et al., "The Vital Role of
Gradient Clipping in Byzantine-Resilient Distributed Learning", arXiv:2405.14432, 2024, which
shows that a fixed radius either does nothing or destroys the signal depending on scale
(threat A6: no fixed default radius here).

Every update whose norm exceeds the radius ``tau`` is scaled down to norm ``tau``. The radius
is derived from the ``n`` norms of the round: drop the ``f = num_byzantine`` largest (possibly
Byzantine), then take the ``quantile`` of the remaining ``n - f`` as an order statistic, the
``ceil(quantile * (n - f))``-th smallest norm. The default ``quantile = 0.5`` is the lower
median of the honest-sized norms: it is bounded by honest norms as long as ``f < n / 2``, even
if ``num_byzantine`` underestimates the attackers. Needs ``n > 2f``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation.base import PreAggregator
from ledgerlearn.aggregation.errors import AggregationConfigError, BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, row_norms, scale_rows

__all__ = ["Clipping", "check_breakdown", "clip", "clip_factors", "norm_quantile_radius"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """Clipping's radius is honest-bounded only if ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("clipping", "n > 2*num_byzantine", n, num_byzantine)


def norm_quantile_radius(
    norms: npt.NDArray[np.float64], num_byzantine: int, quantile: float
) -> float:
    """The ``ceil(quantile * (n - f))``-th smallest norm (``f`` largest dropped first)."""
    kept = norms.shape[0] - num_byzantine
    rank = max(1, math.ceil(quantile * kept))
    return float(np.sort(norms)[rank - 1])


def clip_factors(norms: npt.NDArray[np.float64], radius: float) -> npt.NDArray[np.float64]:
    """``min(1, radius / norm)`` per update (1 for a zero norm)."""
    factors = np.ones_like(norms)
    over = norms > radius
    factors[over] = radius / norms[over]
    return factors


def clip(x: Matrix, num_byzantine: int, quantile: float = 0.5) -> Matrix:
    """Rows of ``x`` clipped to the radius derived from their norms."""
    check_breakdown(x.shape[0], num_byzantine)
    norms = row_norms(x)
    return scale_rows(x, clip_factors(norms, norm_quantile_radius(norms, num_byzantine, quantile)))


class Clipping(PreAggregator):
    """Clip every update to a radius taken from the round's norms.

    Parameters
    ----------
    num_byzantine
        ``f``: the ``f`` largest norms are ignored when choosing the radius.
    quantile
        Which quantile of the remaining norms is the radius, in ``(0, 1]``.
    """

    kind: ClassVar[str] = "clipping"

    def __init__(self, num_byzantine: int = 0, quantile: float = 0.5) -> None:
        super().__init__(num_byzantine)
        if not (math.isfinite(quantile) and 0.0 < quantile <= 1.0):
            raise AggregationConfigError(f"quantile must be in (0, 1], got {quantile!r}")
        self.quantile = float(quantile)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def transform(self, x: Matrix) -> Matrix:
        self.check_num_updates(x.shape[0])
        return clip(x, self.num_byzantine, self.quantile)
