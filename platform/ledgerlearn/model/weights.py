"""Weights as safetensors bytes: deterministic encoding, strict and safe decoding.

Weights travel between participants as safetensors files only (the ``safetensors`` package);
nothing is ever unpickled. Decoding a file that came from the network goes through these
checks, in this order, and any failure raises a :class:`~ledgerlearn.errors.WeightsError`
subclass whose message names the offending tensor:

1. **size**: ``len(data) <= max_bytes`` — before anything else is looked at
   (:class:`WeightsTooLargeError`);
2. **framing and header**, parsed here with the standard library, before the ``safetensors``
   package sees the bytes (:class:`WeightsFormatError`): the 8-byte little-endian header length
   fits in the file and under a cap (100 KB by default); the header is UTF-8 JSON, an object,
   without duplicate keys or ``NaN`` literals; every entry has exactly ``dtype``, ``shape`` and
   ``data_offsets`` of the right types; offsets lie in the data region, are contiguous, do not
   overlap and cover it exactly; each span equals ``prod(shape) * itemsize``. A header that
   claims 1e12 bytes is therefore refused having allocated nothing beyond the input. A pickle
   (or a ``torch.save`` zip) fails the framing check and is reported as
   ``not a safetensors file``;
3. **spec**: tensor names, dtypes (``F32`` only) and shapes equal the model spec's
   (:class:`WeightsMismatchError`: missing, unexpected, wrong dtype, wrong shape);
4. only then ``safetensors.numpy.load`` reads the tensors;
5. **values**: every value is finite (:class:`NonFiniteWeightsError`, with NaN/inf counts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import safetensors.numpy
import torch

from ledgerlearn import strict_json
from ledgerlearn.core.types import Float32Array
from ledgerlearn.errors import WeightsError
from ledgerlearn.limits import WEIGHTS_HEADER_BYTES
from ledgerlearn.model.spec import ModelSpec, Shape

__all__ = [
    "MAX_HEADER_BYTES",
    "NonFiniteWeightsError",
    "SafetensorsHeader",
    "TensorEntry",
    "WeightsFormatError",
    "WeightsMismatchError",
    "WeightsTooLargeError",
    "check_names_and_shapes",
    "decode",
    "default_max_bytes",
    "encode",
    "read_header",
]


MAX_HEADER_BYTES = WEIGHTS_HEADER_BYTES
"""Default cap on the JSON header of a weights file (bytes; :mod:`ledgerlearn.limits`)."""

_METADATA_KEY = "__metadata__"
_ENTRY_KEYS = frozenset({"dtype", "shape", "data_offsets"})
_MAX_RANK = 16
_MAX_LISTED = 8

# Item sizes of the safetensors dtypes with a whole number of bytes per element.
_DTYPE_SIZES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


class WeightsFormatError(WeightsError):
    """The bytes are not a well-formed safetensors file (or not one at all)."""


class WeightsTooLargeError(WeightsError):
    """The weights file is larger than the allowed maximum size."""


class WeightsMismatchError(WeightsError):
    """Tensor names, dtypes or shapes differ from the model spec."""


class NonFiniteWeightsError(WeightsError):
    """Some weights are NaN or infinite."""


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as described by a validated safetensors header.

    Attributes
    ----------
    name
        Tensor name.
    dtype
        safetensors dtype string, e.g. ``"F32"``.
    shape
        Tensor shape.
    start, end
        Byte offsets in the data region (after the header), ``end - start`` bytes.
    """

    name: str
    dtype: str
    shape: Shape
    start: int
    end: int


@dataclass(frozen=True)
class SafetensorsHeader:
    """A validated safetensors header.

    Attributes
    ----------
    header_length
        Length of the JSON header in bytes (the 8-byte prefix's value).
    data_length
        Length of the data region in bytes.
    tensors
        The tensor entries, in header order.
    metadata
        The optional ``__metadata__`` string map.
    """

    header_length: int
    data_length: int
    tensors: tuple[TensorEntry, ...]
    metadata: dict[str, str] | None


# --- encoding ---------------------------------------------------------------------------


def encode(
    state: Mapping[str, npt.NDArray[Any] | torch.Tensor], *, spec: ModelSpec | None = None
) -> bytes:
    """Serialise float32 tensors as safetensors bytes, deterministically.

    The same names and tensor values give the same bytes, whatever the order of ``state``
    (safetensors orders tensors by name) and whatever their memory layout. No metadata is
    written.

    Parameters
    ----------
    state
        Tensor name -> float32 numpy array or torch tensor (e.g. ``module.state_dict()``).
    spec
        When given, names and shapes must match ``spec.parameter_shapes()`` exactly.

    Returns
    -------
    bytes
        The safetensors file.

    Raises
    ------
    WeightsError
        If a name is not a non-empty string, a tensor is not float32, or (with ``spec``)
        :class:`WeightsMismatchError` if names or shapes differ from the spec.
    """
    arrays: dict[str, Float32Array] = {}
    for name, value in state.items():
        if not isinstance(name, str) or not name or name == _METADATA_KEY:
            raise WeightsError(f"invalid tensor name {_name(name)}")
        array = _to_numpy(value)
        if array.dtype.kind != "f" or array.dtype.itemsize != 4:
            raise WeightsError(
                f"tensor {_name(name)} has dtype {array.dtype}; only float32 is encoded"
            )
        arrays[name] = np.asarray(array, dtype="<f4", order="C")  # keeps 0-d arrays 0-d
    if spec is not None:
        check_names_and_shapes({n: a.shape for n, a in arrays.items()}, spec)
    return bytes(safetensors.numpy.save(dict(sorted(arrays.items()))))


def _to_numpy(value: npt.NDArray[Any] | torch.Tensor) -> npt.NDArray[Any]:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().contiguous().numpy()
    if isinstance(value, np.ndarray):
        return value
    raise WeightsError(f"expected a numpy array or torch tensor, got {type(value).__name__}")


# --- decoding ---------------------------------------------------------------------------


def default_max_bytes(spec: ModelSpec, *, max_header_bytes: int = MAX_HEADER_BYTES) -> int:
    """The largest weights file a spec can justify: prefix + header cap + float32 data.

    Parameters
    ----------
    spec
        The model spec.
    max_header_bytes
        The header cap.

    Returns
    -------
    int
        ``8 + max_header_bytes + 4 * spec.num_parameters()``.
    """
    return 8 + max_header_bytes + 4 * spec.num_parameters()


def decode(
    data: bytes | bytearray | memoryview,
    spec: ModelSpec,
    max_bytes: int | None = None,
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> dict[str, Float32Array]:
    """Decode and validate a safetensors weights file against a model spec.

    Parameters
    ----------
    data
        The file's bytes (untrusted).
    spec
        The model spec the weights must match.
    max_bytes
        Size limit checked before anything else; ``None`` uses :func:`default_max_bytes`.
    max_header_bytes
        Cap on the JSON header length.

    Returns
    -------
    dict of str to numpy.ndarray
        Name -> writable, C-contiguous float32 array, in the spec's canonical order.

    Raises
    ------
    WeightsTooLargeError
        If the file is larger than ``max_bytes``.
    WeightsFormatError
        If the bytes are not a well-formed safetensors file (pickles, zips, truncated files,
        bad headers, inconsistent offsets, ...).
    WeightsMismatchError
        If tensor names, dtypes or shapes differ from the spec.
    NonFiniteWeightsError
        If any value is NaN or infinite.
    """
    size = _byte_length(data)
    limit = (
        default_max_bytes(spec, max_header_bytes=max_header_bytes)
        if max_bytes is None
        else max_bytes
    )
    if size > limit:
        raise WeightsTooLargeError(
            f"weights file is {size} bytes, above the limit of {limit} bytes"
        )

    header = read_header(data, max_header_bytes=max_header_bytes)
    _check_against_spec(header, spec)

    try:
        loaded = safetensors.numpy.load(bytes(data))
    except Exception as exc:  # SafetensorError and friends: report, never crash the caller
        raise WeightsFormatError(f"safetensors refused the file: {exc}") from None

    expected = spec.parameter_shapes()
    arrays: dict[str, Float32Array] = {}
    for name, shape in expected.items():
        array = loaded.get(name)
        if array is None or array.dtype != np.float32 or array.shape != shape:
            # The header was validated above, so this means safetensors read it differently.
            raise WeightsFormatError(
                f"safetensors disagrees with the header on tensor {_name(name)}"
            )
        # safetensors returns arrays that own their memory; copy only if that ever changes.
        arrays[name] = np.require(array, dtype=np.float32, requirements=["C", "W", "O"])
    if set(loaded) != set(expected):
        raise WeightsFormatError("safetensors disagrees with the header on the tensor names")

    _check_finite(arrays)
    return arrays


def read_header(
    data: bytes | bytearray | memoryview, *, max_header_bytes: int = MAX_HEADER_BYTES
) -> SafetensorsHeader:
    """Parse and validate the framing and header of a safetensors file.

    Uses only the standard library and reads only the header bytes; the data region is never
    copied or interpreted.

    Parameters
    ----------
    data
        The file's bytes (untrusted).
    max_header_bytes
        Cap on the JSON header length.

    Returns
    -------
    SafetensorsHeader
        The validated header.

    Raises
    ------
    WeightsFormatError
        If the framing or the header is invalid; framing and JSON problems start with
        ``"not a safetensors file"``.
    """
    size = _byte_length(data)
    try:
        view = memoryview(data).cast("B")
    except TypeError:  # a non-contiguous memoryview
        raise WeightsFormatError("not a safetensors file: expected contiguous bytes") from None
    if size < 8:
        raise WeightsFormatError(
            f"not a safetensors file: {size} bytes, shorter than the 8-byte header length"
            f"{_sniff(view)}"
        )
    header_length = int.from_bytes(view[:8], "little")
    if header_length > size - 8:
        raise WeightsFormatError(
            f"not a safetensors file: the header length {header_length} exceeds the "
            f"{size - 8} bytes after the length prefix (truncated or not safetensors)"
            f"{_sniff(view)}"
        )
    if header_length > max_header_bytes:
        raise WeightsFormatError(
            f"not a safetensors file: the header length {header_length} exceeds the cap of "
            f"{max_header_bytes} bytes{_sniff(view)}"
        )
    raw = bytes(view[8 : 8 + header_length])
    if not raw.startswith(b"{"):
        raise WeightsFormatError(
            f"not a safetensors file: the header does not start with '{{'{_sniff(view)}"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeightsFormatError(
            f"not a safetensors file: the header is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        document = strict_json.loads(text, max_bytes=max(header_length, 1))
    except strict_json.DuplicateKeyError as exc:
        raise WeightsFormatError(
            f"malformed safetensors header: duplicate tensor name {_name(exc.key)}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise WeightsFormatError(
            f"not a safetensors file: the header is not valid JSON ({exc})"
        ) from None
    if not isinstance(document, dict):
        raise WeightsFormatError("not a safetensors file: the header is not a JSON object")

    data_length = size - 8 - header_length
    metadata: dict[str, str] | None = None
    entries: list[TensorEntry] = []
    for name, value in document.items():
        if name == _METADATA_KEY:
            metadata = _parse_metadata(value)
        else:
            entries.append(_parse_entry(name, value, data_length))
    _check_layout(entries, data_length)
    return SafetensorsHeader(header_length, data_length, tuple(entries), metadata)


# --- header validation helpers ------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_metadata(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise WeightsFormatError(
            "malformed safetensors header: __metadata__ must map strings to strings"
        )
    return dict(value)


def _parse_entry(name: str, value: Any, data_length: int) -> TensorEntry:
    where = f"malformed safetensors header: tensor {_name(name)}"
    if not name:
        raise WeightsFormatError("malformed safetensors header: empty tensor name")
    if not isinstance(value, dict):
        raise WeightsFormatError(f"{where}: entry is not a JSON object")
    keys = set(value)
    if keys != _ENTRY_KEYS:
        missing = sorted(_ENTRY_KEYS - keys)
        extra = sorted(keys - _ENTRY_KEYS)
        detail = ", ".join(
            [f"missing {m!r}" for m in missing] + [f"unexpected {_name(e)}" for e in extra]
        )
        raise WeightsFormatError(f"{where}: {detail}")
    dtype = value["dtype"]
    if not isinstance(dtype, str) or dtype not in _DTYPE_SIZES:
        raise WeightsFormatError(f"{where}: unknown dtype {_name(dtype)}")
    shape = value["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_RANK
        or not all(_is_int(d) and d >= 0 for d in shape)
    ):
        raise WeightsFormatError(
            f"{where}: shape must be a list of at most {_MAX_RANK} non-negative integers, "
            f"got {_short(shape)}"
        )
    offsets = value["data_offsets"]
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_int(o) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise WeightsFormatError(
            f"{where}: data_offsets must be two integers 0 <= start <= end, got {_short(offsets)}"
        )
    start, end = int(offsets[0]), int(offsets[1])
    if end > data_length:
        raise WeightsFormatError(
            f"{where}: data_offsets [{start}, {end}] extend beyond the data region of "
            f"{data_length} bytes"
        )
    needed = math.prod(shape) * _DTYPE_SIZES[dtype]
    if end - start != needed:
        raise WeightsFormatError(
            f"{where}: data_offsets [{start}, {end}] span {end - start} bytes but dtype {dtype} "
            f"and shape {list(shape)} need {needed} bytes"
        )
    return TensorEntry(name, dtype, tuple(int(d) for d in shape), start, end)


def _check_layout(entries: list[TensorEntry], data_length: int) -> None:
    """Offsets must tile the data region exactly: contiguous, no overlap, no gap, no tail."""
    position = 0
    previous: TensorEntry | None = None
    for entry in sorted(entries, key=lambda e: (e.start, e.end)):
        if entry.start < position:
            assert previous is not None
            raise WeightsFormatError(
                f"malformed safetensors header: tensors {_name(previous.name)} "
                f"[{previous.start}, {previous.end}] and {_name(entry.name)} "
                f"[{entry.start}, {entry.end}] overlap"
            )
        if entry.start > position:
            raise WeightsFormatError(
                f"malformed safetensors header: {entry.start - position} bytes before tensor "
                f"{_name(entry.name)} (offset {entry.start}) belong to no tensor"
            )
        position = entry.end
        previous = entry
    if position != data_length:
        raise WeightsFormatError(
            f"malformed safetensors header: the tensors cover {position} bytes but the data "
            f"region has {data_length} bytes"
        )


def _check_against_spec(header: SafetensorsHeader, spec: ModelSpec) -> None:
    wrong_dtype = [
        f"tensor {_name(e.name)} has dtype {e.dtype}, expected F32"
        for e in header.tensors
        if e.dtype != "F32"
    ]
    if wrong_dtype:
        raise WeightsMismatchError("weights do not match the model spec: " + _join(wrong_dtype))
    check_names_and_shapes({e.name: e.shape for e in header.tensors}, spec)


def check_names_and_shapes(shapes: Mapping[str, tuple[int, ...]], spec: ModelSpec) -> None:
    """Check that tensor names and shapes are exactly the spec's parameters.

    Parameters
    ----------
    shapes
        Tensor name -> shape.
    spec
        The model spec.

    Raises
    ------
    WeightsMismatchError
        Listing every missing tensor, unexpected tensor and wrong shape.
    """
    expected = spec.parameter_shapes()
    problems = [f"missing tensor {_name(n)}" for n in expected if n not in shapes]
    problems += [f"unexpected tensor {_name(n)}" for n in shapes if n not in expected]
    problems += [
        f"tensor {_name(n)} has shape {tuple(shapes[n])}, expected {shape}"
        for n, shape in expected.items()
        if n in shapes and tuple(shapes[n]) != shape
    ]
    if problems:
        raise WeightsMismatchError("weights do not match the model spec: " + _join(problems))


def _check_finite(arrays: Mapping[str, Float32Array]) -> None:
    problems = []
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            nan = int(np.isnan(array).sum())
            inf = int(np.isinf(array).sum())
            problems.append(f"tensor {_name(name)} has {nan} NaN and {inf} inf values")
    if problems:
        raise NonFiniteWeightsError("non-finite weights: " + _join(problems))


# --- small helpers -------------------------------------------------------------------------


def _byte_length(data: Any) -> int:
    if isinstance(data, bytes | bytearray):
        return len(data)
    if isinstance(data, memoryview):
        return data.nbytes
    raise WeightsFormatError(f"not a safetensors file: expected bytes, got {type(data).__name__}")


def _sniff(view: memoryview) -> str:
    """A hint on what the bytes look like, for error messages."""
    head = bytes(view[:4])
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return " (it looks like a Python pickle)"
    if head == b"PK\x03\x04":
        return " (it looks like a zip archive, e.g. torch.save output)"
    return ""


def _name(value: Any, limit: int = 80) -> str:
    """repr() of a name, truncated: safe to log even when it came from the network."""
    return _short(value, limit)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _join(problems: list[str]) -> str:
    shown = problems[:_MAX_LISTED]
    if len(problems) > _MAX_LISTED:
        shown.append(f"and {len(problems) - _MAX_LISTED} more")
    return "; ".join(shown)
