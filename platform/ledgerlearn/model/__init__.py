"""Models as data: JSON specs from an allowlist, safetensors weights, flat vectors.

- :mod:`~ledgerlearn.model.spec`: :class:`ModelSpec`, the validated JSON description of a
  model (allowlisted layers, shape propagation, size caps, canonical JSON and its hash);
- :mod:`~ledgerlearn.model.input`: :class:`InputSpec`, a spec's optional ``input`` (the range
  of values the model expects, a transform it applies first, a description);
- :mod:`~ledgerlearn.model.schema`: the spec's JSON Schema, generated from the models;
- :mod:`~ledgerlearn.model.build`: :func:`build`, spec -> ``torch.nn.Sequential`` (an
  :class:`~ledgerlearn.model.build.InputTransformed` one, which applies the input transform
  first, for a spec with a transform);
- :mod:`~ledgerlearn.model.weights`: :func:`encode` / :func:`decode`, safetensors bytes with
  strict validation of untrusted files (never unpickles anything);
- :mod:`~ledgerlearn.model.flatten`: :func:`flatten` / :func:`unflatten` between named tensors
  and one float32 vector, and module helpers;
- :mod:`~ledgerlearn.model.presets`: ready-made specs for the bundled datasets.
"""

from ledgerlearn.model.build import build
from ledgerlearn.model.flatten import flatten, load_arrays_into, state_dict_to_arrays, unflatten
from ledgerlearn.model.input import InputSpec
from ledgerlearn.model.presets import cnn_mnist, logreg_digits, mlp_digits
from ledgerlearn.model.spec import LAYER_TYPES, LayerSpec, ModelSpec, Shape, SpecLimits
from ledgerlearn.model.weights import (
    MAX_HEADER_BYTES,
    NonFiniteWeightsError,
    WeightsFormatError,
    WeightsMismatchError,
    WeightsTooLargeError,
    decode,
    default_max_bytes,
    encode,
    read_header,
)

__all__ = [
    "LAYER_TYPES",
    "MAX_HEADER_BYTES",
    "InputSpec",
    "LayerSpec",
    "ModelSpec",
    "NonFiniteWeightsError",
    "Shape",
    "SpecLimits",
    "WeightsFormatError",
    "WeightsMismatchError",
    "WeightsTooLargeError",
    "build",
    "cnn_mnist",
    "decode",
    "default_max_bytes",
    "encode",
    "flatten",
    "load_arrays_into",
    "logreg_digits",
    "mlp_digits",
    "read_header",
    "state_dict_to_arrays",
    "unflatten",
]
