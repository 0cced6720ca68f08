"""Inner Product Manipulation (IPM): the negated, scaled honest mean.

Reference: Xie, Koyejo and Gupta, "Fall of Empires: Breaking Byzantine-tolerant SGD by Inner
Product Manipulation" (UAI 2019): ``-epsilon * mean`` makes the aggregate's inner product
with the true direction negative when it gets through. ``epsilon = 0.1`` is the paper's
choice against Krum-like rules; the optimised variant searches ``epsilon`` against the
task's rule.
"""

from __future__ import annotations

from ledgerlearn.attacks.omniscient import Matrix, Omniscient, Vector, line_search
from ledgerlearn.attacks.view import RoundView


class Ipm(Omniscient):
    """``-epsilon * mean`` of the honest deltas."""

    name = "ipm"

    def __init__(self, *, epsilon: float = 0.1, num_attackers: int = 1, seed: int = 0) -> None:
        super().__init__(num_attackers=num_attackers, seed=seed)
        if epsilon <= 0:
            raise ValueError(f"epsilon must be positive, got {epsilon}")
        self.epsilon = epsilon

    def attack(self, honest: Matrix, view: RoundView) -> Vector:
        """The IPM vector."""
        vector: Vector = -self.epsilon * honest.mean(axis=0)
        return vector


class OptimisedIpm(Omniscient):
    """IPM with ``epsilon`` chosen by a line search against the task's rule."""

    name = "ipm_opt"

    def attack(self, honest: Matrix, view: RoundView) -> Vector:
        """The IPM vector at the most damaging ``epsilon``."""
        mean = honest.mean(axis=0)
        _, vector = line_search(honest, view, self.num_attackers, lambda e: -e * mean)
        return vector
