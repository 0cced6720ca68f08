"""Gaussian noise: the update replaced by random noise (no training).

Reference: Blanchard et al., "Machine Learning with Adversaries: Byzantine Tolerant Gradient
Descent" (NeurIPS 2017), the Gaussian Byzantine worker of their experiments.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn
from ledgerlearn.attacks.view import RoundView, Weights
from ledgerlearn.data import Dataset


class Gaussian(SafetensorsBehaviour):
    """``w = base + N(0, sigma^2)`` per coordinate."""

    name = "gaussian"

    def __init__(self, sigma: float = 1.0, *, seed: int = 0) -> None:
        if sigma <= 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        self.sigma = sigma
        self._rng = np.random.default_rng(seed)

    def produce(self, view: RoundView, data: Dataset, train: TrainFn) -> Weights:
        """The base model plus Gaussian noise."""
        base = view.base_vector()
        return view.model(self._rng.normal(0.0, self.sigma, base.shape))
