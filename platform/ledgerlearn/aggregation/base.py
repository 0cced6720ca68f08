"""The two interfaces of the library: a rule maps ``(n, d) -> (d,)``, a pre-aggregator
``(n, d) -> (m, d)``.

Both are called on a numpy array or a torch tensor and give back the same type (dtype and
device too), in the manner of ByzFL's ``__call__(vectors)``. Subclasses implement the numpy
method (:meth:`Aggregator.aggregate`, :meth:`PreAggregator.transform`) and the breakdown-point
check (:meth:`check_num_updates`), which runs at construction when the number of updates is
declared and again at every call with the number actually given, with the same message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ledgerlearn.aggregation.errors import AggregationConfigError, AggregationError
from ledgerlearn.aggregation.inputs import Matrix, Updates, Vector, as_matrix

__all__ = ["Aggregator", "PreAggregator", "check_count"]


def check_count(name: str, value: int, minimum: int) -> int:
    """Validate an integer parameter (``bool`` is refused) and return it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise AggregationConfigError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise AggregationConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


class Aggregator(ABC):
    """A robust aggregation rule: ``n`` updates in, one aggregate out.

    Parameters
    ----------
    num_byzantine
        How many of the updates may be Byzantine (``f``); validated against the rule's
        breakdown point.
    num_updates
        The number of updates the task expects, when known: the breakdown point is then checked
        here, at configuration time.
    """

    name: ClassVar[str]
    """Registry name of the rule, e.g. ``"krum"``."""

    def __init__(self, num_byzantine: int = 0, num_updates: int | None = None) -> None:
        self.num_byzantine = check_count("num_byzantine", num_byzantine, 0)
        self.num_updates = (
            None if num_updates is None else check_count("num_updates", num_updates, 1)
        )
        if self.num_updates is not None:
            self.check_num_updates(self.num_updates)

    @abstractmethod
    def check_num_updates(self, n: int) -> None:
        """Raise :class:`~ledgerlearn.aggregation.errors.BreakdownPointError` if ``n`` updates
        are too few for the configured ``num_byzantine``."""

    @abstractmethod
    def aggregate(self, x: Matrix) -> Vector:
        """Aggregate a validated ``(n, d)`` numpy matrix into a ``(d,)`` vector of its dtype.

        Checks the breakdown point for ``n`` and rejects inf/NaN
        (:class:`~ledgerlearn.aggregation.errors.NonFiniteUpdateError`).
        """

    def __call__(self, vectors: Updates) -> Updates:
        """Aggregate ``(n, d)`` updates (numpy or torch) into ``(d,)`` of the same type.

        Raises
        ------
        InvalidUpdatesError
            The input is not a float32/float64 ``(n, d)`` matrix.
        NonFiniteUpdateError
            An update contains inf or NaN.
        BreakdownPointError
            ``n`` is too small for the configured ``num_byzantine``.
        AggregationError
            The aggregate is not finite (finite inputs so large that the arithmetic
            overflowed): a non-finite aggregate is never returned.
        """
        x, back = as_matrix(vectors)
        result = self.aggregate(x)
        if not np.isfinite(result).all():
            raise AggregationError(
                f"{self.name} produced a non-finite aggregate from finite updates "
                "(values too large for the arithmetic); it is not returned"
            )
        return back(result)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_byzantine={self.num_byzantine})"


class PreAggregator(ABC):
    """A pre-aggregation step: ``n`` updates in, ``m`` transformed updates out.

    Parameters
    ----------
    num_byzantine
        How many of the updates may be Byzantine (``f``).
    """

    kind: ClassVar[str]
    """Registry name of the step, e.g. ``"nnm"``."""

    def __init__(self, num_byzantine: int = 0) -> None:
        self.num_byzantine = check_count("num_byzantine", num_byzantine, 0)

    def check_num_updates(self, n: int) -> None:  # noqa: B027 - most steps accept any n
        """Raise :class:`~ledgerlearn.aggregation.errors.BreakdownPointError` if ``n`` is too
        small."""

    def num_outputs(self, n: int) -> int:
        """How many updates come out for ``n`` in (``n`` unless the step groups them)."""
        return n

    @abstractmethod
    def transform(self, x: Matrix) -> Matrix:
        """Transform a validated ``(n, d)`` numpy matrix into ``(m, d)`` of its dtype.

        Rejects inf/NaN (:class:`~ledgerlearn.aggregation.errors.NonFiniteUpdateError`).
        """

    def __call__(self, vectors: Updates) -> Updates:
        """Transform ``(n, d)`` updates (numpy or torch) into ``(m, d)`` of the same type."""
        x, back = as_matrix(vectors)
        return back(self.transform(x))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_byzantine={self.num_byzantine})"
