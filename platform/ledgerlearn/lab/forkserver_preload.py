"""Imported once by the demo's fork server, before it forks the agents.

Importing the agent module (torch, web3, eth-account, ...) takes seconds of CPU, and torch's
first training step several more (lazy imports behind the optimizer and autograd). Sixteen
agents paying both at once on two cores delay the first round by tens of seconds; forked
from a server that paid them once, each agent starts warm. Only single-threaded torch work
happens here (one thread, no pool to break in the children).
"""

from __future__ import annotations

import numpy as np
import torch

import ledgerlearn.lab.agent_process  # noqa: F401  (the import is the point)
from ledgerlearn.data import Dataset
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.training import TrainingConfig, evaluate, get_metric, train


def _warm_up() -> None:
    torch.set_num_threads(1)
    spec = logreg_digits()
    x = np.zeros((8, *spec.input_shape), dtype=np.float32)
    data = Dataset(x, np.arange(8, dtype=np.int64) % spec.num_classes, spec.num_classes)
    weights = train(spec, data, TrainingConfig(epochs=1, batch_size=4))
    evaluate(spec, weights, data, get_metric("accuracy"))


_warm_up()
