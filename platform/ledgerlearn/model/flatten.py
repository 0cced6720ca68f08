"""One model = one float32 vector: flatten and unflatten in the spec's canonical order.

Aggregators, attacks and metrics work on vectors (axis 1 of the design); models and weights
files work on named tensors. The canonical order is the order of
:meth:`ModelSpec.parameter_shapes <ledgerlearn.model.spec.ModelSpec.parameter_shapes>`:
layer by layer, ``weight`` before ``bias``, each tensor in C (row-major) order. It equals the
order of ``build(spec).state_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ledgerlearn.core.types import Float32Array
from ledgerlearn.model.spec import ModelSpec
from ledgerlearn.model.weights import WeightsMismatchError, check_names_and_shapes

__all__ = ["flatten", "load_arrays_into", "state_dict_to_arrays", "unflatten"]


def _as_numpy(name: str, value: npt.NDArray[Any] | torch.Tensor) -> npt.NDArray[Any]:
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if array.dtype.kind != "f":
        raise WeightsMismatchError(f"tensor {name!r} has dtype {array.dtype}, expected a float")
    return array


def flatten(state: Mapping[str, npt.NDArray[Any] | torch.Tensor], spec: ModelSpec) -> Float32Array:
    """Concatenate a model's tensors into one vector in the spec's canonical order.

    Parameters
    ----------
    state
        Name -> array or tensor; names and shapes must be exactly ``spec.parameter_shapes()``.
        Any float dtype is accepted and cast to float32.

    spec
        The model spec.

    Returns
    -------
    numpy.ndarray
        A new float32 vector of length ``spec.num_parameters()``.

    Raises
    ------
    WeightsMismatchError
        If names or shapes differ from the spec or a tensor is not floating point.
    """
    check_names_and_shapes({name: tuple(value.shape) for name, value in state.items()}, spec)
    pieces = [_as_numpy(name, state[name]).reshape(-1) for name in spec.parameter_shapes()]
    return np.concatenate(pieces).astype(np.float32, copy=False)


def unflatten(vector: npt.ArrayLike | torch.Tensor, spec: ModelSpec) -> dict[str, Float32Array]:
    """Split a vector into the spec's named tensors (inverse of :func:`flatten`).

    Parameters
    ----------
    vector
        A 1-D float vector of length ``spec.num_parameters()`` (cast to float32).
    spec
        The model spec.

    Returns
    -------
    dict of str to numpy.ndarray
        Name -> float32 array, in canonical order. The arrays are views of one new buffer;
        they never alias ``vector``.

    Raises
    ------
    WeightsMismatchError
        If the vector is not 1-D, not floating point, or has the wrong length.
    """
    source = (
        vector.detach().cpu().numpy() if isinstance(vector, torch.Tensor) else np.asarray(vector)
    )
    if source.ndim != 1:
        raise WeightsMismatchError(f"expected a 1-D vector, got shape {source.shape}")
    if source.dtype.kind != "f":
        raise WeightsMismatchError(f"expected a float vector, got dtype {source.dtype}")
    expected = spec.num_parameters()
    if source.shape[0] != expected:
        raise WeightsMismatchError(
            f"vector has {source.shape[0]} elements but the model spec has {expected} parameters"
        )
    buffer = np.array(source, dtype=np.float32, copy=True)
    arrays: dict[str, Float32Array] = {}
    offset = 0
    for name, shape in spec.parameter_shapes().items():
        size = math.prod(shape)
        arrays[name] = buffer[offset : offset + size].reshape(shape)
        offset += size
    return arrays


def state_dict_to_arrays(module: nn.Module) -> dict[str, Float32Array]:
    """Copy a module's ``state_dict()`` into float32 numpy arrays.

    Parameters
    ----------
    module
        A module whose state is floating point (e.g. one built by
        :func:`~ledgerlearn.model.build.build`).

    Returns
    -------
    dict of str to numpy.ndarray
        Name -> float32 array (a copy: later training does not change it).

    Raises
    ------
    WeightsMismatchError
        If a tensor of the state is not floating point.
    """
    arrays: dict[str, Float32Array] = {}
    for name, tensor in module.state_dict().items():
        if not tensor.is_floating_point():
            raise WeightsMismatchError(
                f"tensor {name!r} has dtype {tensor.dtype}, expected a float"
            )
        arrays[name] = tensor.detach().cpu().numpy().astype(np.float32, copy=True)
    return arrays


def load_arrays_into(
    module: nn.Module, arrays: Mapping[str, npt.NDArray[Any] | torch.Tensor]
) -> None:
    """Copy arrays into a module's state, in place.

    Parameters
    ----------
    module
        The module to update.
    arrays
        Name -> array; names and shapes must be exactly those of ``module.state_dict()``.

    Raises
    ------
    WeightsMismatchError
        Listing missing / unexpected tensors and wrong shapes, or a non-float tensor; the module
        is left unchanged.
    """
    current = module.state_dict()
    expected = {name: tuple(t.shape) for name, t in current.items()}
    problems = [f"missing tensor {n!r}" for n in expected if n not in arrays]
    problems += [f"unexpected tensor {n!r}" for n in arrays if n not in expected]
    problems += [
        f"tensor {n!r} has shape {tuple(a.shape)}, expected {expected[n]}"
        for n, a in arrays.items()
        if n in expected and tuple(a.shape) != expected[n]
    ]
    if problems:
        raise WeightsMismatchError("arrays do not match the module: " + "; ".join(problems))
    tensors = {
        name: torch.from_numpy(np.array(_as_numpy(name, value), copy=True)).to(current[name].dtype)
        for name, value in arrays.items()
    }
    module.load_state_dict(tensors, strict=True)
