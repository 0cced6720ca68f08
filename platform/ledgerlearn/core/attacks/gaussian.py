"""Gaussian noise: the update replaced by random noise.

Reference: Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient
Descent" (NeurIPS 2017), the Gaussian Byzantine worker of their experiments. The honest
vectors give only the shape and the dtype.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix

__all__ = ["Gaussian"]


class Gaussian:
    """``N(0, sigma^2)`` per coordinate, drawn for each attacker in turn."""

    name = "gaussian"

    def __init__(self, sigma: float = 1.0) -> None:
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.sigma = sigma

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
        """Noise of the honest vectors' width and dtype, one row per attacker."""
        shape = (num_attackers, honest_vectors.shape[1])
        noise: Matrix = rng.normal(0.0, self.sigma, shape).astype(honest_vectors.dtype, copy=False)
        return noise
