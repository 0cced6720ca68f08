"""Model specs: a JSON document naming layers from an allowlist, with their shapes.

A model spec is what a publisher puts on IPFS instead of code. It names a sequence of layers
taken from a closed allowlist (:data:`LAYER_TYPES`), declares the shape of one input sample
and the number of classes, and nothing else. Parsing a spec never imports or runs anything
named by the document: each allowed layer is an explicit pydantic model in the discriminated
union :data:`LayerSpec`, keyed on the field ``type``.

Example (the canonical form of :func:`ledgerlearn.model.presets.logreg_digits`)::

    {"input_shape":[64],"layers":[{"bias":true,"in_features":64,"out_features":10,
     "type":"Linear"}],"num_classes":10}

Validation
----------
- Unknown layer types, unknown / missing / extra fields and wrongly typed values (``"3"``,
  ``3.0`` or ``true`` where an integer is expected) are refused.
- Shapes are propagated from ``input_shape`` through every layer; an inconsistency is refused
  with a message naming the layer by its index in ``layers`` (0-based, the same index that
  prefixes its tensors in ``state_dict``) and its type, e.g.
  ``layer 2 (Linear): in_features=100 but the previous layer outputs 784``.
- The output of the last layer must be ``(num_classes,)``.
- Size caps (:class:`SpecLimits`): document size, number of layers, number of parameters,
  activation elements per sample and multiply-accumulates per sample, so that a spec cannot
  make a participant allocate absurd amounts of memory or compute.

Every rejection raises :class:`~ledgerlearn.errors.ModelSpecError`.

Design decisions
----------------
- All model state is float32 *parameters*. No allowed layer has buffers, so ``state_dict()``
  of a built model holds exactly the tensors of :meth:`ModelSpec.parameter_shapes`, and a model
  is fully described by one float32 vector (see :mod:`ledgerlearn.model.flatten`).
- BatchNorm is deliberately *not* allowed: its running statistics are buffers (one of them an
  int64 counter) whose federated averaging has no sound meaning, and running it without
  statistics makes evaluation depend on batch composition. ``GroupNorm`` is the allowed
  normalisation layer: it has only an affine weight and bias and behaves identically in
  training and evaluation.
- No Softmax/LogSoftmax: models output logits; losses and metrics apply the softmax.
- Canonical form: defaults are filled in and pairs are normalised (``kernel_size: 3`` becomes
  ``[3, 3]``; a pool's missing ``stride`` becomes its kernel size), keys are sorted and there is
  no whitespace, so two documents describing the same model have the same bytes and the same
  sha256 (:meth:`ModelSpec.to_json`, :meth:`ModelSpec.content_hash`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledgerlearn import strict_json
from ledgerlearn.errors import ModelSpecError
from ledgerlearn.limits import MAX_PARAMETERS, MAX_SPEC_BYTES
from ledgerlearn.model.input import InputSpec
from ledgerlearn.model.purpose import PurposeSpec

__all__ = [
    "LAYER_TYPES",
    "AvgPool2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "GroupNorm",
    "LayerBase",
    "LayerSpec",
    "Linear",
    "MaxPool2d",
    "ModelSpec",
    "ReLU",
    "Shape",
    "Sigmoid",
    "SpecLimits",
    "Tanh",
]

Shape = tuple[int, ...]
"""The shape of one sample (no batch dimension), or the shape of one parameter tensor."""

MAX_DIM = 1 << 24
"""Upper bound of any single size field (features, channels, spatial size, kernel, ...)."""

_PosInt = Annotated[int, Strict(), Field(ge=1, le=MAX_DIM)]
_NonNegInt = Annotated[int, Strict(), Field(ge=0, le=MAX_DIM)]


def _as_pair(value: Any) -> Any:
    """Normalise an int to a ``(value, value)`` pair; leave anything else to validation."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    return value


# A size along both spatial axes: one integer for both, or [height, width]; the canonical form
# is the pair (the JSON Schema accepts either, as validation does).
_Pair = Annotated[
    tuple[_PosInt, _PosInt],
    BeforeValidator(_as_pair, json_schema_input_type=_PosInt | tuple[_PosInt, _PosInt]),
]
_NonNegPair = Annotated[
    tuple[_NonNegInt, _NonNegInt],
    BeforeValidator(_as_pair, json_schema_input_type=_NonNegInt | tuple[_NonNegInt, _NonNegInt]),
]
_StrictBool = Annotated[bool, Strict()]


@dataclass(frozen=True)
class SpecLimits:
    """Caps applied when a spec is validated.

    Parameters
    ----------
    max_parameters
        Largest number of trainable parameters (float32 scalars) a spec may declare; the
        default, :data:`ledgerlearn.limits.MAX_PARAMETERS`, is what fits in a weights file
        every member can fetch.
    max_layers
        Largest number of layers.
    max_activation_elements
        Largest number of elements of any intermediate output, per sample.
    max_document_bytes
        Largest size of a spec JSON document.
    max_macs_per_sample
        Largest number of multiply-accumulates of one forward pass on one sample (Linear and
        Conv2d layers), so that scoring a validation fragment stays cheap.
    """

    max_parameters: int = MAX_PARAMETERS
    max_layers: int = 256
    max_activation_elements: int = 16_777_216
    max_document_bytes: int = MAX_SPEC_BYTES
    max_macs_per_sample: int = 1_000_000_000

    def __post_init__(self) -> None:
        for name in (
            "max_parameters",
            "max_layers",
            "max_activation_elements",
            "max_document_bytes",
            "max_macs_per_sample",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelSpecError(f"SpecLimits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = SpecLimits()


def _fmt(shape: Shape) -> str:
    """Format a shape like ``(1, 28, 28)``; a 1-D shape as ``(64,)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _spatial_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution/pooling along one spatial axis (floor mode)."""
    return (size + 2 * padding - kernel) // stride + 1


class LayerBase(BaseModel):
    """Common base of the allowed layers: closed, immutable pydantic models."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    def output_shape(self, shape: Shape) -> Shape:
        """Shape of one output sample given the shape of one input sample.

        Raises
        ------
        ValueError
            If the layer cannot take an input of this shape (message without layer prefix).
        """
        return shape

    def parameter_shapes(self) -> dict[str, Shape]:
        """Shapes of the layer's parameters, by local name (``weight``, ``bias``), in order."""
        return {}

    def macs(self, output_shape: Shape) -> int:
        """Multiply-accumulates of one sample through the layer, given its output shape."""
        return 0


def _require_flat(shape: Shape) -> int:
    if len(shape) != 1:
        raise ValueError(
            f"expects a flat input (features,) but the previous layer outputs {_fmt(shape)}; "
            "insert a Flatten layer"
        )
    return shape[0]


def _require_image(shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(f"expects an input (channels, height, width) but gets {_fmt(shape)}")
    return shape[0], shape[1], shape[2]


class Linear(LayerBase):
    """Fully connected layer ``y = x W^T + b`` on a flat input (``torch.nn.Linear``)."""

    type: Literal["Linear"]
    in_features: _PosInt
    out_features: _PosInt
    bias: _StrictBool = True

    def output_shape(self, shape: Shape) -> Shape:
        features = _require_flat(shape)
        if features != self.in_features:
            raise ValueError(
                f"in_features={self.in_features} but the previous layer outputs {features}"
            )
        return (self.out_features,)

    def parameter_shapes(self) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {"weight": (self.out_features, self.in_features)}
        if self.bias:
            shapes["bias"] = (self.out_features,)
        return shapes

    def macs(self, output_shape: Shape) -> int:
        return self.in_features * self.out_features


class Conv2d(LayerBase):
    """2-D convolution with zero padding (``torch.nn.Conv2d``, no dilation, no groups)."""

    type: Literal["Conv2d"]
    in_channels: _PosInt
    out_channels: _PosInt
    kernel_size: _Pair
    stride: _Pair = (1, 1)
    padding: _NonNegPair = (0, 0)
    bias: _StrictBool = True

    def output_shape(self, shape: Shape) -> Shape:
        channels, height, width = _require_image(shape)
        if channels != self.in_channels:
            raise ValueError(
                f"in_channels={self.in_channels} but the previous layer outputs {channels} "
                f"channels (shape {_fmt(shape)})"
            )
        out_h = _spatial_out(height, self.kernel_size[0], self.stride[0], self.padding[0])
        out_w = _spatial_out(width, self.kernel_size[1], self.stride[1], self.padding[1])
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"kernel_size={list(self.kernel_size)} with padding={list(self.padding)} does "
                f"not fit the input {_fmt(shape)}"
            )
        return (self.out_channels, out_h, out_w)

    def parameter_shapes(self) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {
            "weight": (self.out_channels, self.in_channels, *self.kernel_size)
        }
        if self.bias:
            shapes["bias"] = (self.out_channels,)
        return shapes

    def macs(self, output_shape: Shape) -> int:
        return math.prod(output_shape) * self.in_channels * math.prod(self.kernel_size)


def _stride_is_optional(schema: dict[str, Any]) -> None:
    """A pool's JSON Schema: ``stride`` may be left out (it then equals ``kernel_size``)."""
    schema["required"] = [name for name in schema.get("required", []) if name != "stride"]


class _Pool2d(LayerBase):
    """Common shape logic of the 2-D pooling layers (no padding, floor mode)."""

    model_config = ConfigDict(json_schema_extra=_stride_is_optional)

    kernel_size: _Pair
    stride: _Pair = Field(description="Default: the kernel size.")

    @model_validator(mode="before")
    @classmethod
    def _default_stride(cls, data: Any) -> Any:
        # Canonical form: like torch, a missing stride equals the kernel size.
        if isinstance(data, dict) and "stride" not in data and "kernel_size" in data:
            return {**data, "stride": data["kernel_size"]}
        return data

    def output_shape(self, shape: Shape) -> Shape:
        channels, height, width = _require_image(shape)
        out_h = _spatial_out(height, self.kernel_size[0], self.stride[0], 0)
        out_w = _spatial_out(width, self.kernel_size[1], self.stride[1], 0)
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"kernel_size={list(self.kernel_size)} does not fit the input {_fmt(shape)}"
            )
        return (channels, out_h, out_w)


class MaxPool2d(_Pool2d):
    """2-D max pooling (``torch.nn.MaxPool2d``)."""

    type: Literal["MaxPool2d"]


class AvgPool2d(_Pool2d):
    """2-D average pooling (``torch.nn.AvgPool2d``)."""

    type: Literal["AvgPool2d"]


class ReLU(LayerBase):
    """Rectified linear unit (``torch.nn.ReLU``)."""

    type: Literal["ReLU"]


class Tanh(LayerBase):
    """Hyperbolic tangent (``torch.nn.Tanh``)."""

    type: Literal["Tanh"]


class Sigmoid(LayerBase):
    """Logistic sigmoid (``torch.nn.Sigmoid``)."""

    type: Literal["Sigmoid"]


class Flatten(LayerBase):
    """Flatten each sample to one dimension (``torch.nn.Flatten`` with ``start_dim=1``)."""

    type: Literal["Flatten"]

    def output_shape(self, shape: Shape) -> Shape:
        return (math.prod(shape),)


class Dropout(LayerBase):
    """Dropout with probability ``p`` in [0, 1) (``torch.nn.Dropout``)."""

    type: Literal["Dropout"]
    p: Annotated[float, Strict(), Field(ge=0.0, lt=1.0)] = 0.5


class GroupNorm(LayerBase):
    """Group normalisation over the channel axis (``torch.nn.GroupNorm``, affine).

    Takes ``(channels,)`` or ``(channels, height, width)`` inputs. Unlike BatchNorm it has no
    running statistics (no buffers), so all of its state is its float32 weight and bias.
    """

    type: Literal["GroupNorm"]
    num_groups: _PosInt
    num_channels: _PosInt

    def output_shape(self, shape: Shape) -> Shape:
        if len(shape) not in (1, 3) or shape[0] != self.num_channels:
            raise ValueError(
                f"num_channels={self.num_channels} but the previous layer outputs {_fmt(shape)}"
            )
        if self.num_channels % self.num_groups != 0:
            raise ValueError(
                f"num_channels={self.num_channels} is not divisible by num_groups={self.num_groups}"
            )
        return shape

    def parameter_shapes(self) -> dict[str, Shape]:
        return {"weight": (self.num_channels,), "bias": (self.num_channels,)}


LayerSpec = Annotated[
    Linear | Conv2d | MaxPool2d | AvgPool2d | ReLU | Tanh | Sigmoid | Flatten | Dropout | GroupNorm,
    Field(discriminator="type"),
]
"""One layer of a spec: the discriminated union of the allowlist, keyed on ``type``."""

LAYER_TYPES: dict[str, type[LayerBase]] = {
    "Linear": Linear,
    "Conv2d": Conv2d,
    "MaxPool2d": MaxPool2d,
    "AvgPool2d": AvgPool2d,
    "ReLU": ReLU,
    "Tanh": Tanh,
    "Sigmoid": Sigmoid,
    "Flatten": Flatten,
    "Dropout": Dropout,
    "GroupNorm": GroupNorm,
}
"""The allowlist: layer ``type`` name -> its spec class."""


class ModelSpec(BaseModel):
    """A validated model spec: input shape, number of classes and a sequence of layers.

    Build instances with :meth:`from_json` (documents from the network) or :meth:`from_dict`;
    both raise :class:`~ledgerlearn.errors.ModelSpecError` on any problem, as does direct
    construction ``ModelSpec(input_shape=..., num_classes=..., layers=[...])``.

    Attributes
    ----------
    input_shape
        Shape of one input sample: ``[features]`` or ``[channels, height, width]``.
    num_classes
        Number of classes; the last layer must output ``(num_classes,)`` logits.
    layers
        The layers, applied in order (an ``nn.Sequential``).
    input
        What the model expects of its input (:class:`~ledgerlearn.model.input.InputSpec`):
        the range of values, a transform the built model applies first, a description.
        Optional; absent from the canonical JSON when ``None``.
    purpose
        The declared data kind and what the model is for
        (:class:`~ledgerlearn.model.purpose.PurposeSpec`), which the committee vets. Optional;
        absent from the canonical JSON when ``None``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_shape: tuple[_PosInt, ...] = Field(
        description="The shape of one sample: [features] or [channels, height, width].",
        json_schema_extra={"minItems": 1, "maxItems": 3},  # 1 or 3: checked by the validator
    )
    num_classes: Annotated[int, Strict(), Field(ge=2, le=MAX_DIM)] = Field(
        description="The number of classes; the last layer outputs this many logits."
    )
    layers: tuple[LayerSpec, ...] = Field(
        description="The layers, applied in order; each names its type from the allowlist.",
        json_schema_extra={"minItems": 1},
    )
    input: InputSpec | None = Field(
        default=None,
        description="What the model expects of its input: the range of values, a transform "
        "the model applies first, a description. Optional.",
    )
    purpose: PurposeSpec | None = Field(
        default=None,
        description="The kind of data the model learns from and what it is for, which the "
        "committee vets before the task opens. Optional.",
    )

    @field_validator("input_shape")
    @classmethod
    def _check_input_rank(cls, value: Shape) -> Shape:
        if len(value) not in (1, 3):
            raise ValueError(
                f"input_shape must be [features] or [channels, height, width], got {list(value)}"
            )
        return value

    @field_validator("layers")
    @classmethod
    def _check_not_empty(cls, value: tuple[LayerBase, ...]) -> tuple[LayerBase, ...]:
        if not value:
            raise ValueError("layers must not be empty")
        return value

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ModelSpecError(_describe(exc)) from None

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, limits: SpecLimits | None = None) -> ModelSpec:
        """Validate a spec given as decoded JSON (dicts, lists, str, int, float, bool).

        Parameters
        ----------
        data
            The spec document.
        limits
            Caps to apply; :class:`SpecLimits` defaults when ``None``.

        Returns
        -------
        ModelSpec
            The validated spec.

        Raises
        ------
        ModelSpecError
            Naming the offending layer (index and type) or field.
        """
        if not isinstance(data, Mapping):
            raise ModelSpecError(f"a model spec must be a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data), context={"limits": limits or DEFAULT_LIMITS})
        except ValidationError as exc:
            raise ModelSpecError(_describe(exc)) from None

    @classmethod
    def from_json(
        cls, data: bytes | bytearray | str, *, limits: SpecLimits | None = None
    ) -> ModelSpec:
        """Parse and validate a spec JSON document.

        The document must be UTF-8 JSON without duplicate keys and without ``NaN``/``Infinity``
        literals, at most ``limits.max_document_bytes`` long.

        Parameters
        ----------
        data
            The document (bytes are decoded as UTF-8).
        limits
            Caps to apply; :class:`SpecLimits` defaults when ``None``.

        Returns
        -------
        ModelSpec
            The validated spec.

        Raises
        ------
        ModelSpecError
            If the document is too large, not JSON, or not a valid spec.
        """
        limits = limits or DEFAULT_LIMITS
        if isinstance(data, str):
            if len(data) > limits.max_document_bytes:  # chars <= bytes: a cheap first check
                raise ModelSpecError(_too_large(len(data), limits))
            raw = data.encode("utf-8")
        elif isinstance(data, bytes | bytearray):
            raw = bytes(data)
        else:
            raise ModelSpecError(f"a model spec must be bytes or str, got {type(data).__name__}")
        if len(raw) > limits.max_document_bytes:
            raise ModelSpecError(_too_large(len(raw), limits))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelSpecError(
                f"model spec is not UTF-8: {exc.reason} at byte {exc.start}"
            ) from None
        try:
            document = strict_json.loads(text, max_bytes=limits.max_document_bytes)
        except (ValueError, RecursionError) as exc:
            raise ModelSpecError(f"model spec is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ModelSpecError(
                f"a model spec must be a JSON object, got {type(document).__name__}"
            )
        return cls.from_dict(document, limits=limits)

    # --- validation across fields -----------------------------------------------------

    @model_validator(mode="after")
    def _check_shapes_and_limits(self, info: ValidationInfo) -> ModelSpec:
        limits = DEFAULT_LIMITS
        if isinstance(info.context, dict) and isinstance(info.context.get("limits"), SpecLimits):
            limits = info.context["limits"]
        if len(self.layers) > limits.max_layers:
            raise ValueError(f"{len(self.layers)} layers, above the limit of {limits.max_layers}")
        if self.input is not None:
            self.input.check_shape(self.input_shape)
        shapes = self.output_shapes(limits=limits)  # raises ValueError naming the layer
        macs = sum(layer.macs(shape) for layer, shape in zip(self.layers, shapes, strict=True))
        if macs > limits.max_macs_per_sample:
            raise ValueError(
                f"the model needs {macs} multiply-accumulates per sample, above the limit of "
                f"{limits.max_macs_per_sample}"
            )
        n_params = self.num_parameters()
        if n_params > limits.max_parameters:
            raise ValueError(
                f"the model has {n_params} parameters, above the limit of {limits.max_parameters}"
            )
        if n_params == 0:
            raise ValueError("the model has no trainable parameters")
        return self

    def output_shapes(self, *, limits: SpecLimits | None = None) -> list[Shape]:
        """Propagate the input shape through the layers.

        Parameters
        ----------
        limits
            Caps on activation sizes; :class:`SpecLimits` defaults when ``None``.

        Returns
        -------
        list of tuple of int
            The output shape of each layer (one sample, no batch dimension).

        Raises
        ------
        ValueError
            ``"layer i (Type): ..."`` for the first inconsistent layer, or when the final
            output is not ``(num_classes,)``. (Inside validation this becomes a
            :class:`~ledgerlearn.errors.ModelSpecError`.)
        """
        limits = limits or DEFAULT_LIMITS
        shape: Shape = tuple(self.input_shape)
        if math.prod(shape) > limits.max_activation_elements:
            raise ValueError(
                f"input_shape {_fmt(shape)} has {math.prod(shape)} elements, above the limit "
                f"of {limits.max_activation_elements}"
            )
        shapes: list[Shape] = []
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as exc:
                raise ValueError(f"layer {index} ({layer.type}): {exc}") from None
            if math.prod(shape) > limits.max_activation_elements:
                raise ValueError(
                    f"layer {index} ({layer.type}): outputs {_fmt(shape)} = {math.prod(shape)} "
                    f"elements per sample, above the limit of {limits.max_activation_elements}"
                )
            shapes.append(shape)
        if shape != (self.num_classes,):
            last = len(self.layers) - 1
            raise ValueError(
                f"layer {last} ({self.layers[last].type}): the model outputs {_fmt(shape)} "
                f"but num_classes={self.num_classes} requires ({self.num_classes},)"
            )
        return shapes

    # --- derived facts ----------------------------------------------------------------

    def parameter_shapes(self) -> dict[str, Shape]:
        """Shapes of all parameters, keyed as in ``build(spec).state_dict()``.

        The order of the dict is the canonical order of the model's parameters: layer by
        layer, and within a layer ``weight`` before ``bias``. All parameters are float32.

        Returns
        -------
        dict of str to tuple of int
            E.g. ``{"0.weight": (10, 64), "0.bias": (10,)}``.
        """
        return {
            f"{index}.{name}": shape
            for index, layer in enumerate(self.layers)
            for name, shape in layer.parameter_shapes().items()
        }

    def macs_per_sample(self) -> int:
        """Multiply-accumulates of one forward pass on one sample (Linear and Conv2d layers)."""
        shapes = self.output_shapes()
        return sum(layer.macs(shape) for layer, shape in zip(self.layers, shapes, strict=True))

    def num_parameters(self) -> int:
        """Total number of float32 parameters (the length of the flattened vector)."""
        return sum(math.prod(shape) for shape in self.parameter_shapes().values())

    def to_json(self) -> bytes:
        """Canonical JSON: defaults filled in, sorted keys, no whitespace, ASCII only; an
        absent optional section (``input``, a transform, a description) is left out, so a spec
        without ``input`` has the bytes it had before the section existed.

        ``ModelSpec.from_json(spec.to_json()) == spec`` and equal specs give equal bytes.
        """
        document = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        ).encode("ascii")

    def content_hash(self) -> bytes:
        """The sha256 of :meth:`to_json` (32 bytes, as recorded on chain)."""
        return hashlib.sha256(self.to_json()).digest()


# --- helpers ----------------------------------------------------------------------------


def _too_large(size: int, limits: SpecLimits) -> str:
    return f"model spec is {size} bytes, above the limit of {limits.max_document_bytes} bytes"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(exc: ValidationError, max_errors: int = 5) -> str:
    """Turn a pydantic ValidationError into one readable message naming layers and fields."""
    errors: list[dict[str, Any]] = []
    seen: set[tuple[int | str, ...]] = set()
    for error in exc.errors(include_url=False):
        loc = _clean_loc(tuple(error.get("loc", ())))
        if loc in seen and loc:  # the other members of a union (number or list) say no more
            continue
        seen.add(loc)
        errors.append({**error, "loc": loc})
    parts = [_describe_one(error) for error in errors[:max_errors]]
    if len(errors) > max_errors:
        parts.append(f"and {len(errors) - max_errors} more error(s)")
    return "invalid model spec: " + "; ".join(parts)


def _clean_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """A location as the document spells it: without pydantic's union member labels (the
    transform's tag, ``float`` or ``tuple[...]`` of a number-or-list coefficient)."""
    if loc[:2] == ("input", "transform") and loc[2:3] in (("scale",), ("standardize",)):
        loc = loc[:2] + loc[3:]
    return tuple(
        part
        for part in loc
        if not (isinstance(part, str) and (not part.isidentifier() or part == "float"))
    )


def _describe_one(error: Mapping[str, Any]) -> str:
    loc: tuple[int | str, ...] = tuple(error.get("loc", ()))
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    where = ""
    path: tuple[int | str, ...] = loc
    if len(loc) >= 2 and loc[0] == "layers" and isinstance(loc[1], int):
        where = f"layer {loc[1]}"
        path = loc[2:]
        if path and isinstance(path[0], str) and path[0] in LAYER_TYPES:
            where += f" ({path[0]})"
            path = path[1:]
    field = ".".join(str(p) for p in path)

    if kind == "value_error" and "error" in ctx:
        message = str(ctx["error"])  # our own messages already name the layer
    elif kind == "union_tag_invalid":
        message = f"unknown layer type {ctx.get('tag')!r}; allowed: {', '.join(LAYER_TYPES)}"
    elif kind == "union_tag_not_found":
        message = "missing field 'type'"
    elif kind == "extra_forbidden":
        message = f"unknown field {field!r}"
    elif kind == "missing":
        message = f"missing field {field!r}"
    else:
        subject = f"field {field!r}: " if field else ""
        message = f"{subject}{error.get('msg', kind)} (got {_short(error.get('input'))})"
    return f"{where}: {message}" if where else message
