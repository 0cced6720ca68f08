"""The array types every layer shares: a model as named float32 tensors, or as one flat vector.

A model travels as :data:`Weights` (the spec's parameter names to float32 arrays, as decoded
from safetensors) and is computed on as a :data:`Vector` (the same values flattened in the
spec's canonical order, :func:`~ledgerlearn.model.flatten.flatten`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["Float32Array", "Vector", "Weights"]

Float32Array = npt.NDArray[np.float32]
"""A float32 array of any shape."""
Weights = dict[str, Float32Array]
"""A model's tensors by parameter name."""
Vector = npt.NDArray[np.float32]
"""A model (or a change of one) flattened in its spec's canonical order."""
