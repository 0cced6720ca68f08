"""Coordinate-wise trimmed mean.

Reference: D. Yin, Y. Chen, K. Ramchandran, P. Bartlett. "Byzantine-Robust Distributed
Learning: Towards Optimal Statistical Rates", ICML 2018.

Per coordinate, the ``num_byzantine`` smallest and the ``num_byzantine`` largest values are
dropped and the ``n - 2*num_byzantine`` others averaged (added in ascending order). Needs
``2*num_byzantine < n``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ledgerlearn.aggregation.base import Aggregator
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector
from ledgerlearn.aggregation.sorting import sorted_column_chunks

__all__ = ["TrimmedMean", "check_breakdown", "trimmed_mean"]


def check_breakdown(n: int, num_byzantine: int) -> None:
    """Something must be left after trimming: ``2*num_byzantine < n``."""
    if 2 * num_byzantine >= n:
        raise BreakdownPointError("trimmed_mean", "2*num_byzantine < n", n, num_byzantine)


@np.errstate(over="ignore", invalid="ignore")
def trimmed_mean(x: Matrix, num_byzantine: int) -> Vector:
    """Per column, the mean of the values left after dropping ``num_byzantine`` per side."""
    n = x.shape[0]
    check_breakdown(n, num_byzantine)
    kept = n - 2 * num_byzantine
    out = np.empty(x.shape[1], dtype=x.dtype)
    for cols, rows in sorted_column_chunks(x):
        acc = out[cols]
        acc[...] = rows[num_byzantine]
        for row in rows[num_byzantine + 1 : n - num_byzantine]:
            acc += row
        if not np.isfinite(acc).all():
            # float32 overflow of finite values: redo the chunk in float64
            wide = np.zeros(acc.shape, dtype=np.float64)
            for row in rows[num_byzantine : n - num_byzantine]:
                wide += row
            acc[...] = wide / kept
        else:
            acc /= x.dtype.type(kept)
    return out


class TrimmedMean(Aggregator):
    """Coordinate-wise trimmed mean dropping ``num_byzantine`` values per side."""

    name: ClassVar[str] = "trimmed_mean"

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return trimmed_mean(x, self.num_byzantine)
