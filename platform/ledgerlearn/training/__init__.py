"""Local training and the committee's metrics.

- :mod:`~ledgerlearn.training.local`: :func:`train`, epochs of SGD/Adam on a
  :class:`~ledgerlearn.data.datasets.Dataset`, deterministic given a seed, with a progress
  callback;
- :mod:`~ledgerlearn.training.metrics`: accuracy, macro-F1 and negative loss, the
  :data:`METRICS` registry keyed by name (on-chain ids 0, 1, 2) and batched :func:`evaluate`;
- :mod:`~ledgerlearn.training.instantiate`: a module from a spec and weights;
- :mod:`~ledgerlearn.training.errors`: :class:`TrainingError`, :class:`MetricError`.
"""

from ledgerlearn.training.errors import (
    MetricError,
    NonFiniteOutputError,
    TrainingDivergedError,
    TrainingError,
)
from ledgerlearn.training.instantiate import WeightsLike, instantiate
from ledgerlearn.training.local import ProgressCallback, TrainingConfig, TrainingProgress, train
from ledgerlearn.training.metrics import (
    DEFAULT_EVAL_BATCH_SIZE,
    METRICS,
    METRICS_BY_ID,
    Metric,
    MetricFunction,
    accuracy,
    evaluate,
    evaluate_all,
    get_metric,
    macro_f1,
    negative_loss,
    predict_logits,
)

__all__ = [
    "DEFAULT_EVAL_BATCH_SIZE",
    "METRICS",
    "METRICS_BY_ID",
    "Metric",
    "MetricError",
    "MetricFunction",
    "NonFiniteOutputError",
    "ProgressCallback",
    "TrainingConfig",
    "TrainingDivergedError",
    "TrainingError",
    "TrainingProgress",
    "WeightsLike",
    "accuracy",
    "evaluate",
    "evaluate_all",
    "get_metric",
    "instantiate",
    "macro_f1",
    "negative_loss",
    "predict_logits",
    "train",
]
