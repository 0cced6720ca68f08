"""Free riding: submit something that looks like an update without training.

Reference: Fraboni et al., "Free-rider Attacks on Model Aggregation in Federated Learning"
(AISTATS 2021); Lin et al., "Free-riders in Federated Learning: Attacks and Defenses" (2019).

Modes: ``noise`` (the global model plus small noise, the disguised free rider), ``replay``
(the global model itself), ``zero`` (an all-zero model); :class:`CopyCat` copies another
provider's update from the ledger (plus a negligible change, so the content hash differs).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ledgerlearn.behaviours.omniscient import Omniscient
from ledgerlearn.behaviours.provider import SafetensorsBehaviour
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView

Mode = Literal["noise", "replay", "zero"]


class FreeRider(SafetensorsBehaviour):
    """Never trains: ``noise``: base + N(0, sigma^2); ``replay``: base; ``zero``: zeros."""

    def __init__(self, sigma: float = 1e-4, *, mode: Mode = "noise", seed: int = 0) -> None:
        if sigma < 0:
            raise ValueError(f"sigma must be non-negative, got {sigma}")
        self.sigma = sigma
        self.mode = mode
        self.name = "free_rider" if mode == "noise" else f"free_rider_{mode}"
        self._rng = np.random.default_rng(seed)

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """The base model (with a little noise), or zeros."""
        if self.mode == "zero":
            return {k: np.zeros_like(v) for k, v in view.base.items()}
        if self.mode == "replay":
            return {k: v.copy() for k, v in view.base.items()}
        return {
            k: (v + self._rng.normal(0.0, self.sigma, v.shape)).astype(np.float32)
            for k, v in view.base.items()
        }


class CopyCat(Omniscient):
    """Copies the first update submitted in the round (the base model if none is visible)."""

    name = "free_rider_copy"

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Another provider's update, changed by a negligible amount; never trains."""
        deltas = view.deltas()
        copied = deltas[0] if len(deltas) else np.zeros_like(view.base_vector())
        scale = float(np.abs(copied).max()) or 1.0
        return view.model(copied + self._rng.normal(0.0, 1e-6 * scale, copied.shape))
