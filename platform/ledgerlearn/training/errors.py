"""Errors of :mod:`ledgerlearn.training`.

All derive from :class:`TrainingError` or :class:`MetricError`, themselves
:class:`~ledgerlearn.errors.LedgerlearnError` subclasses.
"""

from __future__ import annotations

from ledgerlearn.errors import LedgerlearnError

__all__ = ["MetricError", "NonFiniteOutputError", "TrainingDivergedError", "TrainingError"]


class TrainingError(LedgerlearnError):
    """Local training cannot run: invalid settings, data that does not fit the model, ..."""


class TrainingDivergedError(TrainingError):
    """The loss or the weights became NaN or infinite during training."""


class MetricError(LedgerlearnError):
    """A metric is unknown, or its inputs are malformed."""


class NonFiniteOutputError(MetricError):
    """The model produced NaN or infinite logits: the weights cannot be scored."""
