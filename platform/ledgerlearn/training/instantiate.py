"""A ready-to-run module from a model spec and weights (named arrays or one flat vector)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ledgerlearn.model import build, load_arrays_into, unflatten
from ledgerlearn.model.spec import ModelSpec

__all__ = ["WeightsLike", "instantiate"]

WeightsLike = Mapping[str, npt.NDArray[Any] | torch.Tensor] | npt.NDArray[np.floating[Any]]
"""Model weights: a state dict (name -> array or tensor) or one flat float vector in the
spec's canonical order (see :mod:`ledgerlearn.model.flatten`)."""


def instantiate(spec: ModelSpec, weights: WeightsLike) -> nn.Sequential:
    """Build the model of ``spec`` and load ``weights`` into it.

    Parameters
    ----------
    spec
        The model spec.
    weights
        A state dict whose names and shapes are exactly ``spec.parameter_shapes()``, or a
        flat vector of ``spec.num_parameters()`` floats.

    Returns
    -------
    torch.nn.Sequential
        The model, in training mode, holding a copy of the weights.

    Raises
    ------
    WeightsMismatchError
        If names, shapes, length or dtype do not match the spec.
    """
    model = build(spec, seed=0)
    arrays = unflatten(weights, spec) if isinstance(weights, np.ndarray) else weights
    load_arrays_into(model, arrays)
    return model
