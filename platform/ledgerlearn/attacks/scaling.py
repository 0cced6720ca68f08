"""Scaling (boosting): the honest update multiplied by a large factor.

Reference: Bagdasaryan et al., "How To Backdoor Federated Learning" (AISTATS 2020), model
replacement by scaling; Bhagoji et al., "Analyzing Federated Learning through an Adversarial
Lens" (ICML 2019), explicit boosting. Against a plain mean, ``factor`` attackers' weight
overwhelms the honest ones.
"""

from __future__ import annotations

from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn
from ledgerlearn.attacks.view import RoundView, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.model.flatten import flatten


class Scaling(SafetensorsBehaviour):
    """``w = base + factor * (honest - base)``."""

    name = "scaling"

    def __init__(self, factor: float = 10.0) -> None:
        if factor == 0:
            raise ValueError("factor must be non-zero")
        self.factor = factor

    def produce(self, view: RoundView, data: Dataset, train: TrainFn) -> Weights:
        """Train honestly, then scale the change."""
        delta = flatten(train(data), view.spec) - view.base_vector()
        return view.model(self.factor * delta)
