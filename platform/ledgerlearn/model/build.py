"""Build a ``torch.nn.Module`` from a validated :class:`~ledgerlearn.model.spec.ModelSpec`.

Each allowed layer spec maps to exactly one torch constructor through an exhaustive ``match``
(checked by mypy with ``assert_never``): nothing is looked up by name on ``torch.nn``.

The built model is an ``nn.Sequential`` of the layers; for a spec with an input transform
(``input.transform``, see :mod:`ledgerlearn.model.input`) it is an :class:`InputTransformed`,
which applies the transform first, its coefficients held in two *non-persistent* buffers.
The state dict, the flat vector and the safetensors file hold the layers' parameters only,
exactly as for a spec without a transform, and everything that runs the model (training,
scoring, the gateway's evaluation, exports) applies the transform.
"""

from __future__ import annotations

from typing import assert_never

import torch
from torch import nn

from ledgerlearn.errors import ModelSpecError
from ledgerlearn.model.spec import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Flatten,
    GroupNorm,
    LayerSpec,
    Linear,
    MaxPool2d,
    ModelSpec,
    ReLU,
    Sigmoid,
    Tanh,
)

__all__ = ["InputTransformed", "build", "build_layer"]


class InputTransformed(nn.Sequential):
    """The layers of a spec in order, after its input transform ``x * scale + offset``.

    What :func:`build` returns for a spec with ``input.transform`` (without one: a plain
    ``nn.Sequential``). Children are the layers only (``model[i]`` is layer ``i``, parameters
    are named ``"{i}.weight"``); the coefficients are the non-persistent buffers
    ``input_scale`` and ``input_offset`` (float32, shaped to broadcast against a batch), absent
    from ``state_dict()``.

    Parameters
    ----------
    layers
        The layer modules.
    scale, offset
        The transform's coefficients.
    """

    def __init__(self, layers: list[nn.Module], scale: torch.Tensor, offset: torch.Tensor) -> None:
        super().__init__(*layers)
        self.register_buffer("input_scale", scale, persistent=False)
        self.register_buffer("input_offset", offset, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of a batch ``(batch, *input_shape)`` of raw values."""
        # buffers: mypy sees nn.Module.__getattr__'s Tensor | Module
        x = x * self.input_scale + self.input_offset  # type: ignore[operator]
        for layer in self:
            x = layer(x)
        return x


def build_layer(layer: LayerSpec) -> nn.Module:
    """Construct the torch module of one layer spec (float32, on the CPU).

    Parameters
    ----------
    layer
        A validated layer spec.

    Returns
    -------
    torch.nn.Module
        The corresponding module, freshly initialised from torch's global RNG.
    """
    f32 = torch.float32
    match layer:
        case Linear():
            return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias, dtype=f32)
        case Conv2d():
            return nn.Conv2d(
                layer.in_channels,
                layer.out_channels,
                kernel_size=layer.kernel_size,
                stride=layer.stride,
                padding=layer.padding,
                bias=layer.bias,
                dtype=f32,
            )
        case MaxPool2d():
            return nn.MaxPool2d(kernel_size=layer.kernel_size, stride=layer.stride)
        case AvgPool2d():
            return nn.AvgPool2d(kernel_size=layer.kernel_size, stride=layer.stride)
        case ReLU():
            return nn.ReLU()
        case Tanh():
            return nn.Tanh()
        case Sigmoid():
            return nn.Sigmoid()
        case Flatten():
            return nn.Flatten(start_dim=1)
        case Dropout():
            return nn.Dropout(p=layer.p)
        case GroupNorm():
            return nn.GroupNorm(layer.num_groups, layer.num_channels, affine=True, dtype=f32)
        case _:
            assert_never(layer)


def build(spec: ModelSpec, *, seed: int | None = None) -> nn.Sequential:
    """Build the model described by a spec.

    Parameters
    ----------
    spec
        A validated model spec.
    seed
        When given, parameters are initialised from ``torch.manual_seed(seed)`` inside a forked
        RNG state (the global RNG is left untouched), so the same spec and seed give the same
        initial weights. When ``None``, torch's global RNG is used.

    Returns
    -------
    torch.nn.Sequential
        The model, in training mode (an :class:`InputTransformed` when the spec has a
        transform). Its ``state_dict()`` holds exactly the float32 tensors of
        ``spec.parameter_shapes()``, in that order (the transform's buffers are not in it).
        Its input is a batch ``(batch, *spec.input_shape)`` of raw values (the model applies
        the spec's transform) and its output ``(batch, spec.num_classes)`` logits.

    Raises
    ------
    ModelSpecError
        If the built module disagrees with the spec (an internal invariant; never expected).
    """
    if seed is None:
        layers = [build_layer(layer) for layer in spec.layers]
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers = [build_layer(layer) for layer in spec.layers]
    coefficients = spec.input.coefficients(spec.input_shape) if spec.input else None
    model: nn.Sequential
    if coefficients is None:
        model = nn.Sequential(*layers)
    else:
        scale, offset = coefficients
        model = InputTransformed(layers, torch.from_numpy(scale), torch.from_numpy(offset))
    _check_matches_spec(model, spec)
    return model


def _check_matches_spec(model: nn.Module, spec: ModelSpec) -> None:
    expected = spec.parameter_shapes()
    state = model.state_dict()
    actual = {name: tuple(tensor.shape) for name, tensor in state.items()}
    if list(actual.items()) != list(expected.items()):
        raise ModelSpecError(
            f"built module state {actual} does not match the spec's parameters {expected}"
        )
    if any(tensor.dtype != torch.float32 for tensor in state.values()):
        raise ModelSpecError("built module has tensors that are not float32")
