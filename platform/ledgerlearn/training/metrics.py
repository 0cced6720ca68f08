"""Metrics a committee scores updates with: accuracy, macro-F1, negative loss.

A task names its metric on chain by a small integer (``uint8 metric`` of the task registry:
0 accuracy, 1 macro-F1, 2 negative loss). :data:`METRICS` maps the names to :class:`Metric`
entries carrying that id and a pure function of ``(logits, labels)``; :func:`evaluate` runs a
model on a dataset in minibatches (so a 10,000-image MNIST fragment never holds more than one
batch of activations) and applies one metric. Every metric is "higher is better".

Definitions, for ``n`` samples with logits ``z`` (``n x C``) and labels ``y``:

- **accuracy**: the share of samples whose ``argmax_c z[i, c]`` (first index on ties) equals
  ``y[i]``; in [0, 1].
- **macro-F1**: the unweighted mean over classes of ``F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c)``,
  taken over the classes that occur in the labels or in the predictions; a class predicted but
  absent from the labels counts with F1 = 0, a class absent from both is left out. This equals
  scikit-learn's ``f1_score(y, pred, average="macro", zero_division=0)``; in [0, 1].
- **negative loss**: minus the mean cross-entropy ``-(1/n) sum_i -log softmax(z_i)[y_i]``,
  computed in float64 with a stable log-sum-exp; in (-inf, 0].

Non-finite logits (weights that overflow) raise
:class:`~ledgerlearn.training.errors.NonFiniteOutputError` instead of producing a meaningless
score; a validator marks such an update invalid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from ledgerlearn.data.datasets import Dataset
from ledgerlearn.model.spec import ModelSpec
from ledgerlearn.training.errors import MetricError, NonFiniteOutputError
from ledgerlearn.training.instantiate import WeightsLike, instantiate

__all__ = [
    "DEFAULT_EVAL_BATCH_SIZE",
    "METRICS",
    "METRICS_BY_ID",
    "Metric",
    "MetricFunction",
    "accuracy",
    "evaluate",
    "evaluate_all",
    "get_metric",
    "macro_f1",
    "negative_loss",
    "predict_logits",
]

DEFAULT_EVAL_BATCH_SIZE = 1024
"""Samples per forward pass during evaluation."""

MetricFunction = Callable[[npt.NDArray[np.floating[Any]], npt.NDArray[np.integer[Any]]], float]
"""``(logits (n, C), labels (n,)) -> score``."""


# --- pure metric functions -----------------------------------------------------------------


def accuracy(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Share of samples whose highest logit is at their label.

    Parameters
    ----------
    logits
        ``(n, num_classes)`` finite scores.
    labels
        ``(n,)`` integer labels in ``[0, num_classes)``.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    MetricError
        If the shapes or labels are invalid.
    NonFiniteOutputError
        If a logit is NaN or infinite.
    """
    z, y = _check_inputs(logits, labels)
    return float(np.mean(np.argmax(z, axis=1) == y))


def macro_f1(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Unweighted mean of the per-class F1 scores (see the module for the exact definition).

    Parameters
    ----------
    logits
        ``(n, num_classes)`` finite scores.
    labels
        ``(n,)`` integer labels in ``[0, num_classes)``.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    MetricError
        If the shapes or labels are invalid.
    NonFiniteOutputError
        If a logit is NaN or infinite.
    """
    z, y = _check_inputs(logits, labels)
    classes = z.shape[1]
    predicted = np.argmax(z, axis=1)
    true_positive = np.bincount(y[predicted == y], minlength=classes)
    predicted_count = np.bincount(predicted, minlength=classes)
    label_count = np.bincount(y, minlength=classes)
    denominator = predicted_count + label_count  # = 2 TP + FP + FN
    present = denominator > 0
    f1 = 2.0 * true_positive[present] / denominator[present]
    return float(np.mean(f1))


def negative_loss(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Minus the mean cross-entropy of the softmax of the logits at the labels.

    Parameters
    ----------
    logits
        ``(n, num_classes)`` finite scores.
    labels
        ``(n,)`` integer labels in ``[0, num_classes)``.

    Returns
    -------
    float
        At most 0; 0 only for a perfectly confident correct model.

    Raises
    ------
    MetricError
        If the shapes or labels are invalid.
    NonFiniteOutputError
        If a logit is NaN or infinite.
    """
    z, y = _check_inputs(logits, labels)
    z64 = z.astype(np.float64)
    top = z64.max(axis=1, keepdims=True)
    log_normaliser = top[:, 0] + np.log(np.exp(z64 - top).sum(axis=1))
    losses = log_normaliser - z64[np.arange(z64.shape[0]), y]
    return -float(np.mean(losses))


# --- registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A scoring metric as named in a task.

    Attributes
    ----------
    name
        Registry key: ``"accuracy"``, ``"macro_f1"`` or ``"negative_loss"``.
    metric_id
        The on-chain id (``uint8 metric`` of the task).
    compute
        The pure function ``(logits, labels) -> float``; higher is better.
    lower, upper
        Range of the values.
    """

    name: str
    metric_id: int
    compute: MetricFunction
    lower: float
    upper: float

    def __call__(self, logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """Apply the metric to logits and labels."""
        return self.compute(np.asarray(logits), np.asarray(labels))


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", 0, accuracy, 0.0, 1.0),
    "macro_f1": Metric("macro_f1", 1, macro_f1, 0.0, 1.0),
    "negative_loss": Metric("negative_loss", 2, negative_loss, -float("inf"), 0.0),
}
"""The metrics by name."""

METRICS_BY_ID: dict[int, Metric] = {metric.metric_id: metric for metric in METRICS.values()}
"""The metrics by on-chain id."""


def get_metric(metric: str | int | Metric) -> Metric:
    """Look a metric up by name or on-chain id.

    Parameters
    ----------
    metric
        A name of :data:`METRICS`, an id of :data:`METRICS_BY_ID`, or a :class:`Metric`
        (returned as is).

    Returns
    -------
    Metric
        The metric.

    Raises
    ------
    MetricError
        If the name or id is unknown, listing the valid ones.
    """
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        found = METRICS.get(metric)
    elif isinstance(metric, int) and not isinstance(metric, bool):
        found = METRICS_BY_ID.get(int(metric))
    else:
        found = None
    if found is None:
        choices = ", ".join(f"{m.name} ({m.metric_id})" for m in METRICS.values())
        raise MetricError(f"unknown metric {metric!r}; choose one of {choices}")
    return found


# --- evaluation ----------------------------------------------------------------------------


def predict_logits(
    spec: ModelSpec,
    weights: WeightsLike,
    x: npt.NDArray[np.float32],
    *,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
) -> npt.NDArray[np.float32]:
    """Run a model on samples in minibatches, in evaluation mode, without gradients.

    Parameters
    ----------
    spec
        The model spec.
    weights
        State dict or flat vector matching the spec.
    x
        ``(n, *spec.input_shape)`` float32 samples.
    batch_size
        Samples per forward pass.

    Returns
    -------
    numpy.ndarray
        ``(n, spec.num_classes)`` float32 logits.

    Raises
    ------
    MetricError
        If ``x`` does not have the spec's input shape or ``batch_size`` is not positive.
    WeightsMismatchError
        If the weights do not match the spec.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise MetricError(f"batch_size must be a positive integer, got {batch_size!r}")
    if x.dtype != np.float32 or tuple(x.shape[1:]) != tuple(spec.input_shape):
        raise MetricError(
            f"samples have shape {tuple(x.shape[1:])} and dtype {x.dtype}; the model expects "
            f"float32 samples of shape {tuple(spec.input_shape)}"
        )
    model = instantiate(spec, weights)
    model.eval()
    source = torch.from_numpy(np.ascontiguousarray(x))
    out = np.empty((x.shape[0], spec.num_classes), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            stop = min(start + batch_size, x.shape[0])
            out[start:stop] = model(source[start:stop]).numpy()
    return out


def evaluate(
    spec: ModelSpec,
    weights: WeightsLike,
    dataset: Dataset,
    metric: str | int | Metric,
    *,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
) -> float:
    """Score weights on a dataset with one metric.

    Parameters
    ----------
    spec
        The model spec.
    weights
        State dict or flat vector matching the spec.
    dataset
        The evaluation data (e.g. a validator's decrypted fragment).
    metric
        Name, on-chain id or :class:`Metric`.
    batch_size
        Samples per forward pass.

    Returns
    -------
    float
        The score; higher is better.

    Raises
    ------
    MetricError
        If the metric is unknown.
    DataError
        If the dataset does not fit the model.
    WeightsMismatchError
        If the weights do not match the spec.
    NonFiniteOutputError
        If the model outputs NaN or infinite logits.
    """
    return evaluate_all(spec, weights, dataset, [metric], batch_size=batch_size)[
        get_metric(metric).name
    ]


def evaluate_all(
    spec: ModelSpec,
    weights: WeightsLike,
    dataset: Dataset,
    metrics: Iterable[str | int | Metric] | None = None,
    *,
    batch_size: int = DEFAULT_EVAL_BATCH_SIZE,
) -> dict[str, float]:
    """Score weights with several metrics from one pass over the data.

    Parameters
    ----------
    spec, weights, dataset, batch_size
        As for :func:`evaluate`.
    metrics
        Names, ids or metrics; default all of :data:`METRICS`.

    Returns
    -------
    dict of str to float
        Metric name -> score, in the order asked.
    """
    chosen = [get_metric(m) for m in (METRICS.values() if metrics is None else metrics)]
    dataset.check_matches(spec)
    logits = predict_logits(spec, weights, dataset.x, batch_size=batch_size)
    return {m.name: m(logits, dataset.y) for m in chosen}


# --- helpers -------------------------------------------------------------------------------


def _check_inputs(
    logits: npt.ArrayLike, labels: npt.ArrayLike
) -> tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.int64]]:
    z = np.asarray(logits)
    y = np.asarray(labels)
    if z.ndim != 2 or z.shape[1] < 1 or z.dtype.kind != "f":
        raise MetricError(
            f"logits must be a 2-D float array (samples, classes), got shape {z.shape} "
            f"and dtype {z.dtype}"
        )
    if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
        raise MetricError(f"labels must be a 1-D integer array, got shape {y.shape}")
    if z.shape[0] != y.shape[0]:
        raise MetricError(f"{z.shape[0]} rows of logits but {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise MetricError("cannot score an empty dataset")
    if int(y.min()) < 0 or int(y.max()) >= z.shape[1]:
        raise MetricError(
            f"labels must lie in [0, {z.shape[1]}), got values from {int(y.min())} "
            f"to {int(y.max())}"
        )
    finite = np.isfinite(z)
    if not finite.all():
        raise NonFiniteOutputError(
            f"the model produced {int((~finite).sum())} NaN or infinite logits "
            f"(first for sample {int(np.flatnonzero(~finite.all(axis=1))[0])})"
        )
    return z, y.astype(np.int64, copy=False)
