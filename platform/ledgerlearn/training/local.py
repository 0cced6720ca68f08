"""Local training: a provider's epochs of minibatch SGD or Adam on its own data.

:func:`train` builds the model of a :class:`~ledgerlearn.model.spec.ModelSpec`, loads the
starting weights (the global model, the merged tips, or a fresh seeded initialisation),
minimises the mean cross-entropy over ``epochs`` passes of shuffled minibatches and returns
the new weights as float32 numpy arrays, ready for
:func:`ledgerlearn.model.weights.encode`.

Determinism: given the same spec, data, starting weights and :class:`TrainingConfig` (its
``seed`` drives the initialisation when no weights are given, the minibatch order and dropout),
two runs return bit-identical weights on the same machine and torch build with the same number
of intra-op threads (``torch.set_num_threads(1)`` for exact reproducibility). The seed is
applied inside a forked torch RNG state, so the caller's global RNG is left untouched.

Failure is explicit: data that does not fit the model raises a
:class:`~ledgerlearn.data.errors.DataError`, a loss or weights that become NaN or infinite
raise :class:`~ledgerlearn.training.errors.TrainingDivergedError` (never return weights a
validator would reject anyway).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from ledgerlearn.core.types import Float32Array
from ledgerlearn.data.datasets import Dataset
from ledgerlearn.model import build, state_dict_to_arrays
from ledgerlearn.model.spec import ModelSpec
from ledgerlearn.training.errors import TrainingDivergedError, TrainingError
from ledgerlearn.training.instantiate import WeightsLike, instantiate

__all__ = ["ProgressCallback", "TrainingConfig", "TrainingProgress", "train"]


class TrainingConfig(BaseModel):
    """Hyperparameters of local training.

    Attributes
    ----------
    epochs
        Passes over the local data (>= 1).
    batch_size
        Samples per minibatch (>= 1); the last minibatch of an epoch may be smaller.
    lr
        Learning rate (> 0, finite).
    optimizer
        ``"sgd"`` (with optional momentum) or ``"adam"``.
    momentum
        SGD momentum in [0, 1); ignored by Adam.
    weight_decay
        L2 penalty (>= 0).
    seed
        Seed of the initialisation (when no starting weights are given), the minibatch order
        and dropout (>= 0).

    Raises
    ------
    TrainingError
        Naming every invalid field and its value.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: Annotated[int, Field(ge=1, le=100_000)] = 1
    batch_size: Annotated[int, Field(ge=1)] = 32
    lr: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] = 0.05
    optimizer: Literal["sgd", "adam"] = "sgd"
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    weight_decay: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.0
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
                for e in exc.errors(include_url=False)
            ]
            raise TrainingError("invalid training config: " + "; ".join(problems)) from None


@dataclass(frozen=True)
class TrainingProgress:
    """Where training is, reported after every minibatch.

    Attributes
    ----------
    epoch
        Current epoch, 1-based.
    epochs
        Total epochs.
    batch
        Minibatch just done within the epoch, 1-based.
    batches
        Minibatches per epoch.
    batch_loss
        Mean cross-entropy of that minibatch (before the step).
    epoch_loss
        Mean cross-entropy over the epoch's samples so far.
    samples
        Samples processed so far in this epoch.
    end_of_epoch
        ``True`` on the last minibatch of an epoch (``epoch_loss`` is then the epoch's).
    """

    epoch: int
    epochs: int
    batch: int
    batches: int
    batch_loss: float
    epoch_loss: float
    samples: int
    end_of_epoch: bool


ProgressCallback = Callable[[TrainingProgress], None]
"""Called after every minibatch, e.g. to advance a progress bar."""


def train(
    spec: ModelSpec,
    dataset: Dataset,
    config: TrainingConfig | None = None,
    *,
    initial: WeightsLike | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Float32Array]:
    """Train a model on a dataset and return its new weights.

    Parameters
    ----------
    spec
        The task's model spec.
    dataset
        The local data; its samples must have shape ``spec.input_shape`` and its labels lie in
        ``[0, spec.num_classes)``.
    config
        Hyperparameters; defaults to ``TrainingConfig()``.
    initial
        Starting weights: a state dict or a flat vector (e.g. the current global model).
        ``None`` starts from ``build(spec, seed=config.seed)``.
    on_progress
        Called after every minibatch with a :class:`TrainingProgress`.

    Returns
    -------
    dict of str to numpy.ndarray
        The trained weights: name -> float32 array, in the spec's canonical order.

    Raises
    ------
    DataError
        If the dataset does not fit the model (shape or labels).
    WeightsMismatchError
        If ``initial`` does not match the spec.
    TrainingDivergedError
        If the loss or the final weights are NaN or infinite.
    """
    settings = TrainingConfig() if config is None else config
    dataset.check_matches(spec)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = build(spec, seed=settings.seed) if initial is None else instantiate(spec, initial)
        _fit(model, dataset, settings, on_progress)
    weights = state_dict_to_arrays(model)
    bad = [name for name, array in weights.items() if not np.isfinite(array).all()]
    if bad:
        raise TrainingDivergedError(
            f"weights {', '.join(repr(n) for n in bad)} became NaN or infinite; "
            f"lower the learning rate (lr={settings.lr})"
        )
    return weights


def _make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )


def _fit(
    model: nn.Module,
    dataset: Dataset,
    config: TrainingConfig,
    on_progress: ProgressCallback | None,
) -> None:
    x = torch.from_numpy(dataset.x)
    y = torch.from_numpy(dataset.y)
    n = len(dataset)
    batches = math.ceil(n / config.batch_size)
    order_rng = np.random.default_rng(config.seed)
    optimizer = _make_optimizer(model, config)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(1, config.epochs + 1):
        order = torch.from_numpy(order_rng.permutation(n).astype(np.int64))
        loss_sum = 0.0
        seen = 0
        for batch in range(1, batches + 1):
            index = order[(batch - 1) * config.batch_size : batch * config.batch_size]
            inputs = x.index_select(0, index)
            targets = y.index_select(0, index)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            value = float(loss.item())
            if not math.isfinite(value):
                raise TrainingDivergedError(
                    f"the loss became {value} at epoch {epoch}, minibatch {batch}; "
                    f"lower the learning rate (lr={config.lr}) or check the starting weights"
                )
            loss.backward()
            optimizer.step()
            loss_sum += value * int(index.numel())
            seen += int(index.numel())
            if on_progress is not None:
                on_progress(
                    TrainingProgress(
                        epoch=epoch,
                        epochs=config.epochs,
                        batch=batch,
                        batches=batches,
                        batch_loss=value,
                        epoch_loss=loss_sum / seen,
                        samples=seen,
                        end_of_epoch=batch == batches,
                    )
                )
