"""A Little Is Enough (ALIE): the honest mean moved by z standard deviations, per coordinate.

Reference: Baruch, Baruch and Goldberg, "A Little Is Enough: Circumventing Defenses For
Distributed Learning" (NeurIPS 2019). ``z`` is the largest value for which the attackers'
vector still looks like the majority: with ``s = floor(n/2 + 1) - f`` supporters needed,
``z = Phi^{-1}((n - s) / n)``. The optimised variant searches ``z`` by a line search against
the task's aggregation rule (as in Allouah et al., "Fixing by Mixing", AISTATS 2023).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix, Vector, rows
from ledgerlearn.core.attacks.line_search import LineSearched

__all__ = ["Alie", "OptimisedAlie", "alie_at", "alie_z"]


def alie_z(n: int, f: int) -> float:
    """The ALIE paper's ``z_max`` for ``n`` workers of which ``f`` are Byzantine."""
    if not 0 < f < n:
        raise ValueError(f"ALIE needs 0 < f < n, got n={n}, f={f}")
    supporters = math.floor(n / 2 + 1) - f
    quantile = (n - supporters) / n
    quantile = min(max(quantile, 1e-6), 1 - 1e-6)
    return NormalDist().inv_cdf(quantile)


def alie_at(honest_vectors: Matrix) -> Callable[[float], Vector]:
    """``z -> mean - z * std`` of the honest vectors: the ALIE vector at any strength."""
    mean, std = honest_vectors.mean(axis=0), honest_vectors.std(axis=0)
    return lambda z: mean - z * std


class Alie:
    """``mean - z * std`` of the honest vectors (the paper's z for the task unless given)."""

    name = "alie"

    def __init__(self, *, z: float | None = None) -> None:
        self.z = z

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
        """The ALIE vector, once per attacker."""
        z = self.z if self.z is not None else alie_z(providers, num_attackers)
        vector: Vector = honest_vectors.mean(axis=0) - z * honest_vectors.std(axis=0)
        return rows(vector, num_attackers)


class OptimisedAlie(LineSearched):
    """ALIE with ``z`` chosen by a line search against the task's rule."""

    name = "alie_opt"
    at = staticmethod(alie_at)
