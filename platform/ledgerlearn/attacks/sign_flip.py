"""Sign flipping: submit the base model moved against the honest update.

Reference: Allen-Zhu et al., "Byzantine-Resilient Non-Convex Stochastic Gradient Descent"
(ICLR 2021), and the sign-flipping attack of Li et al., "RSA: Byzantine-Robust Stochastic
Aggregation Methods for Distributed Learning from Heterogeneous Datasets" (AAAI 2019).
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn, Weights
from ledgerlearn.attacks.view import RoundView
from ledgerlearn.data import Dataset


class SignFlip(SafetensorsBehaviour):
    """w = base - scale * (honest - base)."""

    name = "sign_flip"

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = scale

    def produce(self, view: RoundView, data: Dataset, train: TrainFn) -> Weights:
        """Train honestly, then flip the update's direction."""
        honest = train(data)
        base = view.base
        return {
            k: (base[k] - np.float32(self.scale) * (honest[k] - base[k])).astype(np.float32)
            for k in honest
        }
