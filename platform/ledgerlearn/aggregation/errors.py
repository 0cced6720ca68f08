"""Errors raised by the aggregation library.

Every error derives from :class:`AggregationError` (itself a
:class:`~ledgerlearn.errors.LedgerlearnError`). Errors that a task's configuration can cause
also derive from :class:`~ledgerlearn.errors.ConfigError`, so a publisher that validates a
task catches them with the rest of its configuration errors.
"""

from __future__ import annotations

from ledgerlearn.errors import ConfigError, LedgerlearnError

__all__ = [
    "AggregationConfigError",
    "AggregationError",
    "BreakdownPointError",
    "InvalidUpdatesError",
    "NonFiniteUpdateError",
    "SubsetSearchTooLargeError",
    "UnknownRuleError",
]


class AggregationError(LedgerlearnError):
    """Root of the errors raised by :mod:`ledgerlearn.aggregation`."""


class AggregationConfigError(AggregationError, ConfigError):
    """A rule or pre-aggregator was configured with invalid parameters."""


class UnknownRuleError(AggregationConfigError):
    """No aggregation rule (or pre-aggregator) has this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown aggregation rule {name!r}; known rules: {', '.join(known)}")


class BreakdownPointError(AggregationConfigError):
    """A rule was asked to tolerate more Byzantine updates than its breakdown point allows.

    Raised with the same message at construction (when the number of updates is declared) and
    at call time (with the number of updates actually given): never a silent fallback.

    Parameters
    ----------
    rule
        Name of the rule or pre-aggregator, e.g. ``"krum"``.
    requirement
        The condition that failed, written with the parameter names, e.g.
        ``"n >= 2*num_byzantine + 3"``.
    num_updates
        The number of updates ``n`` (``None`` when the failed condition does not involve it).
    num_byzantine
        The number of Byzantine updates the rule was configured to tolerate.
    """

    def __init__(
        self, rule: str, requirement: str, num_updates: int | None, num_byzantine: int
    ) -> None:
        self.rule = rule
        self.requirement = requirement
        self.num_updates = num_updates
        self.num_byzantine = num_byzantine
        n_part = "" if num_updates is None else f"n={num_updates}, "
        super().__init__(f"{rule} needs {requirement}; got {n_part}num_byzantine={num_byzantine}")


class SubsetSearchTooLargeError(AggregationConfigError):
    """An exact subset search (MDA) would visit more subsets than its configured bound."""

    def __init__(self, rule: str, num_updates: int, num_byzantine: int, subsets: int, bound: int):
        self.rule = rule
        self.num_updates = num_updates
        self.num_byzantine = num_byzantine
        self.subsets = subsets
        self.bound = bound
        super().__init__(
            f"{rule} with n={num_updates}, num_byzantine={num_byzantine} searches "
            f"C(n, num_byzantine)={subsets} subsets, more than max_subsets={bound}"
        )


class InvalidUpdatesError(AggregationError, ValueError):
    """The updates are not a finite floating-point (n, d) matrix."""


class NonFiniteUpdateError(InvalidUpdatesError):
    """An update contains inf or NaN (rejected before anything is aggregated).

    Parameters
    ----------
    index
        Row of the first update that contains a non-finite value.
    coordinate
        First non-finite coordinate of that update.
    """

    def __init__(self, index: int, coordinate: int) -> None:
        self.index = index
        self.coordinate = coordinate
        super().__init__(
            f"update {index} contains a non-finite value (inf or NaN) at coordinate "
            f"{coordinate}; non-finite updates are rejected before aggregation"
        )
