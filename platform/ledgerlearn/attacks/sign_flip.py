"""Sign flipping: submit the base model moved against the honest update.

Reference: Allen-Zhu et al., "Byzantine-Resilient Non-Convex Stochastic Gradient Descent"
(ICLR 2021), and the sign-flipping attack of Li et al., "RSA: Byzantine-Robust Stochastic
Aggregation Methods for Distributed Learning from Heterogeneous Datasets" (AAAI 2019).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn, Weights
from ledgerlearn.data import Dataset


class SignFlip(SafetensorsBehaviour):
    """w = base - scale * (honest - base)."""

    name = "sign_flip"

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.scale = scale

    def produce(
        self, base: Mapping[str, npt.NDArray[np.float32]], data: Dataset, train: TrainFn
    ) -> Weights:
        """Train honestly, then flip the update's direction."""
        honest = train(data)
        return {
            k: (base[k] - np.float32(self.scale) * (honest[k] - base[k])).astype(np.float32)
            for k in honest
        }
