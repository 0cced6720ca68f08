"""A Little Is Enough (ALIE): the honest mean moved by z standard deviations, per coordinate.

Reference: Baruch, Baruch and Goldberg, "A Little Is Enough: Circumventing Defenses For
Distributed Learning" (NeurIPS 2019). ``z`` is the largest value for which the attackers'
vector still looks like the majority: with ``s = floor(n/2 + 1) - f`` supporters needed,
``z = Phi^{-1}((n - s) / n)``. The optimised variant searches ``z`` by a line search against
the task's aggregation rule (as in Allouah et al., "Fixing by Mixing", AISTATS 2023).
"""

from __future__ import annotations

import math
from statistics import NormalDist

from ledgerlearn.attacks.omniscient import Matrix, Omniscient, Vector, line_search
from ledgerlearn.attacks.view import RoundView


def alie_z(n: int, f: int) -> float:
    """The ALIE paper's ``z_max`` for ``n`` workers of which ``f`` are Byzantine."""
    if not 0 < f < n:
        raise ValueError(f"ALIE needs 0 < f < n, got n={n}, f={f}")
    supporters = math.floor(n / 2 + 1) - f
    quantile = (n - supporters) / n
    quantile = min(max(quantile, 1e-6), 1 - 1e-6)
    return NormalDist().inv_cdf(quantile)


class Alie(Omniscient):
    """``mean - z * std`` of the honest deltas (the paper's z unless given)."""

    name = "alie"

    def __init__(self, *, z: float | None = None, num_attackers: int = 1, seed: int = 0) -> None:
        super().__init__(num_attackers=num_attackers, seed=seed)
        self.z = z

    def attack(self, honest: Matrix, view: RoundView) -> Vector:
        """The ALIE vector."""
        z = self.z if self.z is not None else alie_z(view.providers, self.num_attackers)
        vector: Vector = honest.mean(axis=0) - z * honest.std(axis=0)
        return vector


class OptimisedAlie(Omniscient):
    """ALIE with ``z`` chosen by a line search against the task's rule."""

    name = "alie_opt"

    def attack(self, honest: Matrix, view: RoundView) -> Vector:
        """The ALIE vector at the most damaging ``z``."""
        mean, std = honest.mean(axis=0), honest.std(axis=0)
        _, vector = line_search(honest, view, self.num_attackers, lambda z: mean - z * std)
        return vector
