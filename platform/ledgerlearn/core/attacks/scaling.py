"""Scaling (boosting): the honest update multiplied by a large factor.

Reference: Bagdasaryan et al., "How To Backdoor Federated Learning" (AISTATS 2020), model
replacement by scaling; Bhagoji et al., "Analyzing Federated Learning through an Adversarial
Lens" (ICML 2019), explicit boosting. Against a plain mean, ``factor`` attackers' weight
overwhelms the honest ones. An attacker that knows only its own update scales that one.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix, honest_mean, rows

__all__ = ["Scaling"]


class Scaling:
    """``factor * mean`` of the honest vectors."""

    name = "scaling"

    def __init__(self, factor: float = 10.0) -> None:
        if factor == 0:
            raise ValueError("factor must be non-zero")
        self.factor = factor

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
        """The scaled honest mean, once per attacker."""
        return rows(self.factor * honest_mean(honest_vectors), num_attackers)
