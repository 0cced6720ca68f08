"""Do a dataset's values fit what the task's model expects of its input?

A spec may declare the range of values its first layer expects, after the transform the
model applies (:class:`~ledgerlearn.model.input.InputSpec`). :func:`range_report` measures a
dataset against it: the values as the model will see them (the transform applied in float32,
as the model applies it), their minimum, maximum and mean, and the share outside the range.

The data do **not fit** (:attr:`RangeReport.fits` is False) when more than
:data:`MAX_OUTSIDE_SHARE` of the values lie outside the range (raw 0-16 pixels on a task that
expects [0, 1]: about 70%), or when they span less than :data:`MIN_SPAN_SHARE` of it (pixels
already divided by 16 on a task whose model divides by 16 again: 1/16 of [0, 1]). Either way
training still runs, but on inputs the model was not made for: a provider is warned before it
trains, a committee member when it decrypts its fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ledgerlearn.data.datasets import Dataset
from ledgerlearn.model.spec import ModelSpec

__all__ = ["MAX_OUTSIDE_SHARE", "MIN_SPAN_SHARE", "RangeReport", "range_report"]

MAX_OUTSIDE_SHARE = 0.01
"""Largest share of values outside the declared range that still fits (outliers happen)."""

MIN_SPAN_SHARE = 0.1
"""Smallest share of the declared range the values must span (max - min) to fit."""

_CHUNK_VALUES = 1 << 22
"""Values transformed at once (a bounded copy, whatever the dataset's size)."""

_EDGE = 1e-6
"""Tolerance at the range's ends, relative to its width (float32 rounding of a transform)."""


@dataclass(frozen=True)
class RangeReport:
    """A dataset's values as the model sees them, against the spec's declared range."""

    lo: float
    hi: float
    minimum: float
    maximum: float
    mean: float
    outside: float
    """Share of values outside ``[lo, hi]``, in [0, 1]."""
    values: int
    transformed: bool
    """Whether the values were measured after the spec's transform."""
    description: str | None
    """The spec's words for its input."""

    @property
    def span(self) -> float:
        """Share of the range the values span, ``(max - min) / (hi - lo)``."""
        return (self.maximum - self.minimum) / (self.hi - self.lo)

    @property
    def fits(self) -> bool:
        """Whether the values fit the range (see the module)."""
        return self.outside <= MAX_OUTSIDE_SHARE and self.span >= MIN_SPAN_SHARE

    def describe(self, name: str) -> str:
        """One line with the numbers, e.g. ``alice.csv: 71% of values lie outside [0, 1]
        (min 0, max 16, mean 4.88); the task says: digit pixels divided by 16``."""
        where = f"[{_n(self.lo)}, {_n(self.hi)}]"
        after = " after the task's transform" if self.transformed else ""
        numbers = f"min {_n(self.minimum)}, max {_n(self.maximum)}, mean {_n(self.mean)}"
        if self.outside > MAX_OUTSIDE_SHARE:
            head = f"{_share(self.outside)} of values lie outside {where}{after} ({numbers})"
        elif self.span < MIN_SPAN_SHARE:
            head = (
                f"values span only {_share(self.span)} of {where}{after} ({numbers}): "
                "already scaled?"
            )
        else:
            head = f"values fit {where}{after} ({numbers}, {_share(self.outside)} outside)"
        said = f"; the task says: {self.description}" if self.description else ""
        return f"{name}: {head}{said}"


def range_report(spec: ModelSpec, dataset: Dataset) -> RangeReport | None:
    """Measure ``dataset`` against the input range ``spec`` declares; None when it declares
    none.

    The values are taken as the model takes them: ``x * scale + offset`` in float32 when the
    spec has a transform. The data are read in chunks, so the copy stays small.
    """
    declared = spec.input
    if declared is None:
        return None
    lo, hi = declared.range
    tolerance = _EDGE * (hi - lo)
    coefficients = declared.coefficients(spec.input_shape)
    x = dataset.x
    rows = max(1, _CHUNK_VALUES // max(1, int(np.prod(x.shape[1:]))))
    minimum, maximum, total, outside = np.inf, -np.inf, 0.0, 0
    for start in range(0, len(x), rows):
        chunk = x[start : start + rows]
        if coefficients is not None:
            scale, offset = coefficients
            chunk = chunk * scale + offset
        minimum = min(minimum, float(chunk.min()))
        maximum = max(maximum, float(chunk.max()))
        total += float(chunk.sum(dtype=np.float64))
        outside += int(np.count_nonzero((chunk < lo - tolerance) | (chunk > hi + tolerance)))
    values = int(x.size)
    return RangeReport(
        lo=lo,
        hi=hi,
        minimum=minimum,
        maximum=maximum,
        mean=total / values,
        outside=outside / values,
        values=values,
        transformed=coefficients is not None,
        description=declared.description,
    )


def _n(value: float) -> str:
    """A number as a person reads it: ``0``, ``16``, ``4.88``, ``0.0625``, ``1.2e+06``."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _share(fraction: float) -> str:
    """``71%``; ``0.4%`` below one percent; ``<0.1%`` for a handful."""
    percent = 100 * fraction
    if percent >= 1 or percent == 0:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%" if percent >= 0.1 else "<0.1%"
