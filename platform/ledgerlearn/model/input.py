"""What a model expects of its input: a spec's optional ``input`` section.

Preprocessing is part of the task. A spec may say which values its first layer expects (the
``range`` ``[lo, hi]``, after the transform), how raw data become such values (a
``transform`` the built model applies itself, so providers, validators and every export of
the model apply it alike) and, in words, what the data are (``description``)::

    "input": {"range": [0.0, 1.0], "transform": {"scale": 0.0625, "offset": 0.0},
              "description": "8x8 digit images, pixels 0-16 (the model divides by 16)"}

Two transforms, one formula: ``{"scale": s, "offset": o}`` gives ``x * s + o``;
``{"mean": m, "std": d}`` gives ``x * (1/d) + (-m/d)`` (standardisation; the coefficients are
computed in float64, applied in float32). Each coefficient is one number or one per entry of
the input's first axis (channels of an image, features of a flat input).

The section is optional, and absent from the canonical JSON when absent, so a spec written
before it existed keeps its bytes and its hash. A node older than the section refuses a spec
that has one (specs forbid unknown fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

__all__ = ["InputSpec", "ScaleTransform", "StandardizeTransform", "Transform"]

_Finite = Annotated[float, Strict(), Field(allow_inf_nan=False)]
_MAX_COEFFICIENTS = 1 << 16
"""Most coefficients a per-entry transform may list (the first axis of the input)."""
_Coefficients = (
    _Finite | Annotated[tuple[_Finite, ...], Field(min_length=1, max_length=_MAX_COEFFICIENTS)]
)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _values(value: float | tuple[float, ...]) -> tuple[float, ...]:
    return value if isinstance(value, tuple) else (value,)


def _paired(
    first: float | tuple[float, ...], second: float | tuple[float, ...], names: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Two coefficients as tuples of one length (a single number repeats)."""
    a, b = _values(first), _values(second)
    if len(a) == 1 and len(b) > 1:
        a = a * len(b)
    elif len(b) == 1 and len(a) > 1:
        b = b * len(a)
    if len(a) != len(b):
        raise ValueError(f"{names} list different numbers of values ({len(a)} and {len(b)})")
    return a, b


class ScaleTransform(_Closed):
    """``x * scale + offset``: e.g. ``{"scale": 0.0625}`` for pixels 0-16 the model wants in
    [0, 1]."""

    scale: _Coefficients = Field(description="Multiplies the raw value; never 0.")
    offset: _Coefficients = Field(default=0.0, description="Added after the scaling.")

    @field_validator("scale")
    @classmethod
    def _not_zero(cls, value: float | tuple[float, ...]) -> float | tuple[float, ...]:
        if any(v == 0.0 for v in _values(value)):
            raise ValueError("input.transform.scale must not be 0 (it would erase the input)")
        return value

    def affine(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(scale, offset), as many values each (one, or one per entry of the first axis)."""
        return _paired(self.scale, self.offset, "scale and offset")


class StandardizeTransform(_Closed):
    """``(x - mean) / std``, applied as ``x * (1/std) + (-mean/std)``."""

    mean: _Coefficients = Field(description="Subtracted from the raw value.")
    std: _Coefficients = Field(description="Divides the centred value; positive.")

    @field_validator("std")
    @classmethod
    def _positive(cls, value: float | tuple[float, ...]) -> float | tuple[float, ...]:
        if any(not v > 0.0 for v in _values(value)):
            raise ValueError("input.transform.std must be positive")
        return value

    def affine(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(scale, offset) of the same transform, computed in float64."""
        mean, std = _paired(self.mean, self.std, "mean and std")
        return tuple(1.0 / s for s in std), tuple(-m / s for m, s in zip(mean, std, strict=True))


def _transform_kind(value: Any) -> str | None:
    """Which transform a document names: by its keys (a dict) or its class (a model)."""
    if isinstance(value, ScaleTransform):
        return "scale"
    if isinstance(value, StandardizeTransform):
        return "standardize"
    if isinstance(value, dict):
        if "scale" in value or "offset" in value:
            return "scale"
        if "mean" in value or "std" in value:
            return "standardize"
    return None


Transform = Annotated[
    Annotated[ScaleTransform, Tag("scale")] | Annotated[StandardizeTransform, Tag("standardize")],
    Discriminator(
        _transform_kind,
        custom_error_type="transform_kind",
        custom_error_message="a transform is {scale, offset} or {mean, std}",
    ),
]
"""The transform of raw data into the model's input: scale and offset, or mean and std."""


class InputSpec(_Closed):
    """What the model expects of its input: a range, a transform, a description."""

    range: tuple[_Finite, _Finite] = Field(
        description="[lo, hi]: the values the first layer expects (after the transform). "
        "Providers are warned when their data lie far outside it."
    )
    transform: Transform | None = Field(
        default=None,
        description="Applied by the model itself to every input before its first layer.",
    )
    description: (
        Annotated[str, Strict(), StringConstraints(min_length=1, max_length=1000)] | None
    ) = Field(default=None, description="What the input is, in words, for data providers.")

    @model_validator(mode="after")
    def _check(self) -> InputSpec:
        lo, hi = self.range
        if not lo < hi:
            raise ValueError(f"input.range must be [lo, hi] with lo < hi, got [{lo}, {hi}]")
        if self.description is not None and not self.description.isprintable():
            raise ValueError("input.description must be printable text on one line")
        if self.transform is not None:
            try:
                scale, offset = self.transform.affine()
            except ValueError as exc:
                raise ValueError(f"input.transform: {exc}") from None
            with np.errstate(over="ignore"):
                scale32 = np.array(scale, dtype=np.float64).astype(np.float32)
                offset32 = np.array(offset, dtype=np.float64).astype(np.float32)
            if not (np.isfinite(scale32).all() and np.isfinite(offset32).all()):
                raise ValueError("input.transform: a coefficient overflows float32")
            if (scale32 == 0).any():
                raise ValueError("input.transform: a scale rounds to 0 in float32")
        return self

    def check_shape(self, input_shape: Sequence[int]) -> None:
        """Refuse per-entry coefficients that do not match the input's first axis.

        Raises
        ------
        ValueError
            Naming both sizes.
        """
        if self.transform is None:
            return
        scale, _ = self.transform.affine()
        if len(scale) > 1 and len(scale) != input_shape[0]:
            axis = "channels" if len(input_shape) == 3 else "features"
            raise ValueError(
                f"input.transform lists {len(scale)} values per coefficient but the input has "
                f"{input_shape[0]} {axis} (input_shape {list(input_shape)})"
            )

    def coefficients(
        self, input_shape: Sequence[int]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None:
        """The transform as float32 (scale, offset) arrays that broadcast against a batch of
        samples of ``input_shape`` (shape ``()``, ``(features,)`` or ``(channels, 1, 1)``);
        None without a transform."""
        if self.transform is None:
            return None
        scale, offset = self.transform.affine()
        shape: tuple[int, ...] = ()
        if len(scale) > 1:
            shape = (len(scale),) + (1,) * (len(input_shape) - 1)
        return (
            np.array(scale, dtype=np.float64).astype(np.float32).reshape(shape),
            np.array(offset, dtype=np.float64).astype(np.float32).reshape(shape),
        )

    def range_text(self) -> str:
        """``[0, 1]``: the range as a person reads it."""
        return f"[{_number(self.range[0])}, {_number(self.range[1])}]"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
