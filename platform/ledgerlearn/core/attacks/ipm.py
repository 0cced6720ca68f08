"""Inner Product Manipulation (IPM): the negated, scaled honest mean.

Reference: Xie, Koyejo and Gupta, "Fall of Empires: Breaking Byzantine-tolerant SGD by Inner
Product Manipulation" (UAI 2019): ``-epsilon * mean`` makes the aggregate's inner product
with the true direction negative when it gets through. ``epsilon = 0.1`` is the paper's
choice against Krum-like rules; the optimised variant searches ``epsilon`` against the
task's rule.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix, Vector, rows
from ledgerlearn.core.attacks.line_search import LineSearched

__all__ = ["Ipm", "OptimisedIpm", "ipm_at"]


def ipm_at(honest_vectors: Matrix) -> Callable[[float], Vector]:
    """``epsilon -> -epsilon * mean`` of the honest vectors: the IPM vector at any strength."""
    mean = honest_vectors.mean(axis=0)
    return lambda e: -e * mean


class Ipm:
    """``-epsilon * mean`` of the honest vectors."""

    name = "ipm"

    def __init__(self, *, epsilon: float = 0.1) -> None:
        if epsilon <= 0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        self.epsilon = epsilon

    def __call__(
        self,
        honest_vectors: Matrix,
        *,
        num_attackers: int,
        providers: int,
        rule: str,
        num_byzantine: int,
        rng: np.random.Generator,
    ) -> Matrix:
        """The IPM vector, once per attacker."""
        vector: Vector = -self.epsilon * honest_vectors.mean(axis=0)
        return rows(vector, num_attackers)


class OptimisedIpm(LineSearched):
    """IPM with ``epsilon`` chosen by a line search against the task's rule."""

    name = "ipm_opt"
    at = staticmethod(ipm_at)
