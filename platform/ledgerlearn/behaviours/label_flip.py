"""Label flipping: train on data whose labels were mapped y -> C - 1 - y.

Reference: Biggio et al., "Poisoning Attacks against Support Vector Machines" (ICML 2012);
Tolpegin et al., "Data Poisoning Attacks Against Federated Learning Systems" (ESORICS 2020).
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.behaviours.provider import SafetensorsBehaviour
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView


def flip_labels(data: Dataset) -> Dataset:
    """The same samples with labels y -> num_classes - 1 - y."""
    flipped = (data.num_classes - 1 - data.y).astype(np.int64)
    return Dataset(data.x, flipped, data.num_classes, name=f"{data.name}/label-flipped")


class LabelFlip(SafetensorsBehaviour):
    """Trains honestly on flipped labels."""

    name = "label_flip"

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Train on flipped labels."""
        return train(flip_labels(data))
