"""Sign flipping: the honest update, reversed.

Reference: Allen-Zhu et al., "Byzantine-Resilient Non-Convex Stochastic Gradient Descent"
(ICLR 2021), and the sign-flipping attack of Li et al., "RSA: Byzantine-Robust Stochastic
Aggregation Methods for Distributed Learning from Heterogeneous Datasets" (AAAI 2019).
An attacker that knows only its own update flips that one.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix, honest_mean, rows

__all__ = ["SignFlip"]


class SignFlip:
    """``-scale * mean`` of the honest vectors."""

    name = "sign_flip"

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = scale

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
        """The reversed honest mean, once per attacker."""
        mean = honest_mean(honest_vectors)
        return rows(-(self.scale * mean), num_attackers)
