"""Coordinate-wise median.

Reference: D. Yin, Y. Chen, K. Ramchandran, P. Bartlett. "Byzantine-Robust Distributed
Learning: Towards Optimal Statistical Rates", ICML 2018.

For an even number of updates the median of a coordinate is the mean of its two middle values
(the numpy convention). It tolerates ``num_byzantine < n / 2``; ``num_byzantine`` does not
change the result and is only checked against that breakdown point.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ledgerlearn.aggregation.base import Aggregator
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector
from ledgerlearn.aggregation.sorting import median_of_sorted, sorted_column_chunks

__all__ = ["Median", "check_breakdown", "coordinate_median"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """Median needs a strict honest majority: ``n > 2*num_byzantine``."""
    if n <= 2 * num_byzantine:
        raise BreakdownPointError("median", "n > 2*num_byzantine", n, num_byzantine)


def coordinate_median(x: Matrix) -> Vector:
    """Median of every column of ``x`` (mean of the two middle values when ``n`` is even)."""
    out = np.empty(x.shape[1], dtype=x.dtype)
    for cols, rows in sorted_column_chunks(x):
        out[cols] = median_of_sorted(rows)
    return out


class Median(Aggregator):
    """Coordinate-wise median."""

    name: ClassVar[str] = "median"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return coordinate_median(x)
