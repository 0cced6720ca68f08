"""Free riding: submit the base model plus small noise, without training.

Reference: Fraboni et al., "Free-rider Attacks on Model Aggregation in Federated Learning"
(AISTATS 2021).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn, Weights
from ledgerlearn.data import Dataset


class FreeRider(SafetensorsBehaviour):
    """w = base + N(0, sigma^2); never trains."""

    name = "free_rider"

    def __init__(self, sigma: float = 1e-4, *, seed: int = 0) -> None:
        if sigma < 0:
            raise ValueError(f"sigma must be non-negative, got {sigma}")
        self.sigma = sigma
        self._rng = np.random.default_rng(seed)

    def produce(
        self, base: Mapping[str, npt.NDArray[np.float32]], data: Dataset, train: TrainFn
    ) -> Weights:
        """The base model with a little noise (so its content hash differs)."""
        return {
            k: (v + self._rng.normal(0.0, self.sigma, v.shape)).astype(np.float32)
            for k, v in base.items()
        }
