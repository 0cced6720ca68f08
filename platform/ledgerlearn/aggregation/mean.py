"""Mean: the plain average of the updates.

Reference: H. B. McMahan, E. Moore, D. Ramage, S. Hampson, B. Agüera y Arcas.
"Communication-Efficient Learning of Deep Networks from Decentralized Data" (FedAvg),
AISTATS 2017 (unweighted form).

A single Byzantine update moves the mean arbitrarily far: its breakdown point is zero, so it
refuses any ``num_byzantine > 0`` rather than pretend to tolerate it (threat A5). It is the
baseline, never a fallback.
"""

from __future__ import annotations

from typing import ClassVar

from ledgerlearn.aggregation.base import Aggregator
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector, mean_of_rows

__all__ = ["Mean", "check_breakdown", "mean"]


def check_breakdown(n: int | None, num_byzantine: int) -> None:
    """The mean tolerates no Byzantine update: ``num_byzantine == 0``."""
    if num_byzantine != 0:
        raise BreakdownPointError("mean", "num_byzantine == 0", n, num_byzantine)


def mean(x: Matrix) -> Vector:
    """``(1/n) sum_i x_i``, rows added in order (see :func:`~.inputs.mean_of_rows`)."""
    return mean_of_rows(x)


class Mean(Aggregator):
    """Coordinate-wise average; ``num_byzantine`` must be 0."""

    name: ClassVar[str] = "mean"

    def __init__(self, num_byzantine: int = 0, num_updates: int | None = None) -> None:
        super().__init__(num_byzantine, num_updates)
        check_breakdown(None, self.num_byzantine)

    def check_num_updates(self, n: int) -> None:
        check_breakdown(n, self.num_byzantine)

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        return mean(x)
