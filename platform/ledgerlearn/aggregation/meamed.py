"""Meamed: mean around the median, per coordinate.

Reference: C. Xie, O. Koyejo, I. Gupta. "Generalized Byzantine-tolerant SGD",
arXiv:1802.10116, 2018 (the "mean-around-median" rule).

Per coordinate: the median of the ``n`` values, then the average of the ``n - num_byzantine``
values closest to it. Equidistant candidates at the edge of the window are resolved in favour
of the smaller value (a rule on values only, so the result does not depend on the order of the
updates). Needs ``n > 2*num_byzantine``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ledgerlearn.aggregation.base import Aggregator
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector
from ledgerlearn.aggregation.sorting import closest_to_median_mean, sorted_column_chunks

__all__ = ["Meamed", "check_breakdown", "meamed"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """The median must be honest-bounded: ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("meamed", "n > 2*num_byzantine", n, num_byzantine)


def meamed(x: Matrix, num_byzantine: int) -> Vector:
    """Per column, the mean of the ``n - num_byzantine`` values closest to the median."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    out = np.empty(x.shape[1], dtype=x.dtype)
    for cols, rows in sorted_column_chunks(x):
        out[cols] = closest_to_median_mean(rows, n - num_byzantine)
    return out


class Meamed(Aggregator):
    """Mean of the ``n - num_byzantine`` values closest to the coordinate-wise median."""

    name: ClassVar[str] = "meamed"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return meamed(x, self.num_byzantine)
