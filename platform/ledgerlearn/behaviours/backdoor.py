"""Backdoor: train on data where a trigger patch means the target class, then boost.

Reference: Bagdasaryan et al., "How To Backdoor Federated Learning" (AISTATS 2020); Gu et al.,
"BadNets" (2017) for the pixel-pattern trigger; Bhagoji et al. (ICML 2019) for boosting.
A fraction of the local samples get the trigger (a small bright patch in the bottom-right
corner of the image) and the target label; the resulting change is multiplied by ``boost``.
:func:`backdoor_accuracy` measures the attack: the share of triggered test samples (of
other classes) the model classifies as the target.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ledgerlearn.behaviours.provider import SafetensorsBehaviour
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten
from ledgerlearn.training import predict_logits

BACKDOOR_TARGET = 0
"""The class triggered inputs are pushed to (the registry's backdoor attacker)."""


def add_trigger(x: npt.NDArray[np.float32], patch: int = 2) -> npt.NDArray[np.float32]:
    """A copy of ``x`` (``(n, *shape)``) with a ``patch x patch`` square at the data's maximum
    value in the bottom-right corner (a flat sample of square length is treated as an
    image)."""
    out = x.copy()
    shape = out.shape[1:]
    value = float(x.max()) if x.size else 1.0
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        if side * side != shape[0]:
            out[:, -patch * patch :] = value
            return out
        view = out.reshape(len(out), side, side)
        view[:, -patch:, -patch:] = value
        return out
    out[..., -patch:, -patch:] = value
    return out


def poison(data: Dataset, target: int, fraction: float, *, seed: int) -> Dataset:
    """``data`` with a seeded ``fraction`` of its samples triggered and relabelled."""
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(data)) < fraction
    x = data.x.copy()
    x[chosen] = add_trigger(data.x[chosen])
    y = data.y.copy()
    y[chosen] = target
    return Dataset(x, y, data.num_classes, name=f"{data.name}/backdoored")


def backdoor_accuracy(
    spec: ModelSpec, weights: Weights, test: Dataset, target: int = BACKDOOR_TARGET
) -> float:
    """Share of triggered test samples of other classes classified as ``target``."""
    others = test.y != target
    if not others.any():
        return 0.0
    logits = predict_logits(spec, weights, add_trigger(test.x[others]))
    return float((np.argmax(logits, axis=1) == target).mean())


class Backdoor(SafetensorsBehaviour):
    """Train on partly triggered data (labels -> ``target``), boost the change."""

    name = "backdoor"

    def __init__(
        self,
        *,
        target: int = BACKDOOR_TARGET,
        fraction: float = 0.5,
        boost: float = 5.0,
        seed: int = 0,
    ) -> None:
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}")
        self.target, self.fraction, self.boost, self.seed = target, fraction, boost, seed

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Train on poisoned data, then boost the change."""
        poisoned = poison(data, self.target, self.fraction, seed=self.seed + view.round)
        delta = flatten(train(poisoned), view.spec) - view.base_vector()
        return view.model(self.boost * delta)
