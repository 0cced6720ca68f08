"""ARC: Adaptive Robust Clipping (a pre-aggregator).

Reference: Y. Allouah, R. Guerraoui, N. Gupta, A. Jellouli, G. Rizk, J. Stephan. "The Vital Role
of Gradient Clipping in Byzantine-Resilient Distributed Learning", arXiv:2405.14432, 2024.

With ``f = num_byzantine``, the ``k = floor(2 (f / n) (n - f))`` updates of largest norm are
clipped to the norm of the largest remaining one, the ``(n - k)``-th smallest norm; the radius
therefore always comes from the data (threat A6). Equal norms are ranked by index (which does
not change the output: a norm equal to the radius is not scaled). Needs ``n > 2f``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ledgerlearn.aggregation.base import PreAggregator
from ledgerlearn.aggregation.clipping import clip_factors
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, row_norms, scale_rows

__all__ = ["ARC", "adaptive_robust_clipping", "check_breakdown", "num_clipped"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """ARC needs ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("arc", "n > 2*num_byzantine", n, num_byzantine)


def num_clipped(n: int, num_byzantine: int) -> int:
    """``k = floor(2 f (n - f) / n)``, in exact integer arithmetic."""
    return (2 * num_byzantine * (n - num_byzantine)) // n


def adaptive_robust_clipping(x: Matrix, num_byzantine: int) -> Matrix:
    """Rows of ``x`` with the ``k`` largest norms clipped to the ``(n - k)``-th smallest norm."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    norms = row_norms(x)
    k = num_clipped(n, num_byzantine)
    if k == 0:
        return x.copy()
    radius = float(np.sort(norms)[n - k - 1])
    return scale_rows(x, clip_factors(norms, radius))


class ARC(PreAggregator):
    """Adaptive robust clipping of the ``floor(2 f (n - f) / n)`` largest updates."""

    kind: ClassVar[str] = "arc"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def transform(self, x: Matrix) -> Matrix:
        self.check_num_updates(x.shape[0])
        return adaptive_robust_clipping(x, self.num_byzantine)
