"""Safetensors codec: deterministic encoding, strict decoding of untrusted bytes (THREATS D)."""

from __future__ import annotations

import ast
import io
import json
import pickle
import pickletools
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ledgerlearn.model
from ledgerlearn.errors import WeightsError
from ledgerlearn.model import (
    MAX_HEADER_BYTES,
    ModelSpec,
    NonFiniteWeightsError,
    WeightsFormatError,
    WeightsMismatchError,
    WeightsTooLargeError,
    build,
    decode,
    default_max_bytes,
    encode,
    logreg_digits,
    mlp_digits,
    read_header,
    state_dict_to_arrays,
)

SPEC = mlp_digits(
    hidden=(4,), num_classes=3
)  # 0.weight (4,64) 0.bias (4,) 2.weight (3,4) 2.bias (3,)


def weights(spec: ModelSpec = SPEC, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.standard_normal(shape).astype(np.float32)
        for name, shape in spec.parameter_shapes().items()
    }


def craft(header: dict[str, Any] | bytes, data: bytes, header_length: int | None = None) -> bytes:
    """A safetensors-like file with an arbitrary header."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    length = len(raw) if header_length is None else header_length
    return struct.pack("<Q", length) + raw + data


def entries(arrays: dict[str, np.ndarray]) -> tuple[dict[str, Any], bytes]:
    """A valid header and data region for float32 arrays, in the given order."""
    header: dict[str, Any] = {}
    data = b""
    for name, array in arrays.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [len(data), len(data) + len(blob)],
        }
        data += blob
    return header, data


def format_error(data: bytes, match: str, spec: ModelSpec = SPEC) -> str:
    with pytest.raises(WeightsFormatError, match=match) as info:
        decode(data, spec)
    return str(info.value)


# --- roundtrip and determinism -----------------------------------------------------------


def test_roundtrip_for_every_spec(any_spec: ModelSpec) -> None:
    arrays = state_dict_to_arrays(build(any_spec, seed=3))
    decoded = decode(encode(arrays), any_spec)
    assert list(decoded) == list(any_spec.parameter_shapes())
    for name, array in decoded.items():
        assert array.dtype == np.float32 and array.flags.c_contiguous and array.flags.writeable
        np.testing.assert_array_equal(array, arrays[name])


def test_encoding_is_deterministic_whatever_the_order_layout_or_container() -> None:
    arrays = weights()
    raw = encode(arrays)
    assert encode(arrays) == raw
    assert encode(dict(reversed(list(arrays.items())))) == raw
    assert encode({k: np.asfortranarray(v) for k, v in arrays.items()}) == raw
    assert encode({k: torch.from_numpy(v.copy()) for k, v in arrays.items()}) == raw
    assert encode({k: v.astype(">f4") for k, v in arrays.items()}) == raw
    assert safetensors.numpy.save(arrays) == raw  # plain safetensors, nothing proprietary
    assert encode(weights(seed=1)) != raw


def test_module_state_dict_can_be_encoded_directly() -> None:
    model = build(SPEC, seed=0)
    assert encode(model.state_dict()) == encode(state_dict_to_arrays(model))


def test_encode_rejects_what_decode_would_refuse() -> None:
    arrays = weights()
    with pytest.raises(WeightsError, match=r"tensor '0.bias' has dtype float64; only float32"):
        encode({**arrays, "0.bias": arrays["0.bias"].astype(np.float64)})
    with pytest.raises(WeightsError, match=r"has dtype int32"):
        encode({"x": np.zeros(3, dtype=np.int32)})
    with pytest.raises(WeightsError, match=r"invalid tensor name '__metadata__'"):
        encode({"__metadata__": np.zeros(1, np.float32)})
    with pytest.raises(WeightsError, match=r"invalid tensor name ''"):
        encode({"": np.zeros(1, np.float32)})
    with pytest.raises(WeightsError, match=r"expected a numpy array or torch tensor, got list"):
        encode({"x": [1.0]})  # type: ignore[dict-item]
    with pytest.raises(WeightsMismatchError, match=r"missing tensor '2.bias'"):
        encode({k: v for k, v in arrays.items() if k != "2.bias"}, spec=SPEC)
    assert encode(arrays, spec=SPEC) == encode(arrays)


def test_encode_keeps_nan_so_attacks_can_be_simulated() -> None:
    arrays = weights()
    arrays["2.bias"][0] = np.nan
    header = read_header(encode(arrays))
    assert {e.name for e in header.tensors} == set(arrays)


@st.composite
def named_arrays(draw: st.DrawFn) -> dict[str, np.ndarray]:
    names = draw(
        st.lists(
            st.text(min_size=1, max_size=12).filter(lambda n: n != "__metadata__"),
            min_size=0,
            max_size=5,
            unique=True,
        )
    )
    return {
        name: draw(
            hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
        )
        for name in names
    }


@given(named_arrays())
@settings(max_examples=100, deadline=None)
def test_encoded_headers_always_pass_our_header_validation(arrays: dict[str, np.ndarray]) -> None:
    raw = encode(arrays)
    header = read_header(raw)
    assert {e.name: e.shape for e in header.tensors} == {k: v.shape for k, v in arrays.items()}
    assert all(e.dtype == "F32" for e in header.tensors)
    assert header.metadata is None
    assert 8 + header.header_length + header.data_length == len(raw)
    assert raw == encode(dict(reversed(list(arrays.items()))))


@given(
    st.integers(1, 12), st.lists(st.integers(1, 12), max_size=2), st.integers(2, 6),
    st.data(),
)  # fmt: skip
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_models_roundtrip_bit_for_bit(
    features: int, hidden: list[int], classes: int, data: st.DataObject
) -> None:
    layers: list[dict[str, Any]] = []
    width = features
    for h in hidden:
        layers += [{"type": "Linear", "in_features": width, "out_features": h}, {"type": "ReLU"}]
        width = h
    layers.append({"type": "Linear", "in_features": width, "out_features": classes})
    spec = ModelSpec.from_dict(
        {"input_shape": [features], "num_classes": classes, "layers": layers}
    )
    arrays = {
        name: data.draw(
            hnp.arrays(
                np.float32,
                shape,
                elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
            )
        )
        for name, shape in spec.parameter_shapes().items()
    }
    decoded = decode(encode(arrays), spec)
    for name, array in arrays.items():
        assert decoded[name].tobytes() == array.tobytes()  # bit-exact, -0.0 included


# --- D1: pickles are never unpickled -----------------------------------------------------


class _Payload:
    """Unpickling this would create a file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.sentinel), "w"))


def test_pickle_payload_is_rejected_and_never_executed(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    payload = pickle.dumps({"0.weight": _Payload(sentinel)}, protocol=4)
    # The payload is live: it calls builtins.open on the sentinel (checked statically).
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(payload)]
    assert ("SHORT_BINUNICODE", "open") in ops
    assert ("SHORT_BINUNICODE", str(sentinel)) in ops or ("BINUNICODE", str(sentinel)) in ops
    assert "REDUCE" in {name for name, _ in ops}
    message = format_error(payload, r"^not a safetensors file: .*looks like a Python pickle")
    assert "header length" in message
    assert not sentinel.exists()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(WeightsFormatError, match=r"not a safetensors file"):
            decode(pickle.dumps(_Payload(sentinel), protocol=protocol), SPEC)
    with pytest.raises(WeightsFormatError, match=r"not a safetensors file"):
        decode(pickle.dumps(_Payload(sentinel), protocol=0), SPEC)
    assert not sentinel.exists()


def test_torch_save_output_is_rejected(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(build(SPEC).state_dict(), buffer)
    format_error(buffer.getvalue(), r"not a safetensors file: .*looks like a zip archive")


def test_library_never_unpickles() -> None:
    """THREATS D6: no pickle/marshal loading, no torch.load, no np.load anywhere here."""
    roots = [Path(ledgerlearn.model.__file__).resolve().parent, Path(__file__).resolve().parent]
    assert len(list(roots[0].rglob("*.py"))) >= 5
    forbidden_modules = {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}
    offences: list[str] = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import | ast.ImportFrom) and root == roots[0]:
                    names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    offences += [f"{path}: import {n}" for n in names if n in forbidden_modules]
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    owner = ast.unparse(node.func.value)
                    attr = node.func.attr
                    if attr in {"load", "loads", "Unpickler"} and owner in forbidden_modules:
                        offences.append(f"{path}:{node.lineno}: {owner}.{attr}")
                    if attr == "load" and owner in {"torch", "np", "numpy"}:
                        offences.append(f"{path}:{node.lineno}: {owner}.load")
                    if any(k.arg == "allow_pickle" for k in node.keywords):
                        offences.append(f"{path}:{node.lineno}: allow_pickle")
    assert offences == []


# --- D2: malformed safetensors -----------------------------------------------------------


def test_truncated_files_are_rejected() -> None:
    raw = encode(weights())
    format_error(raw[:5], r"^not a safetensors file: 5 bytes, shorter than the 8-byte header")
    format_error(b"", r"0 bytes, shorter than")
    length = int.from_bytes(raw[:8], "little")
    format_error(
        raw[: 8 + length - 1], rf"the header length {length} exceeds the {length - 1} bytes"
    )
    # Cut inside the data region: the last tensor no longer fits.
    format_error(
        raw[:-1], r"tensor '2.weight': data_offsets \[\d+, \d+\] extend beyond the data region"
    )
    for cut in range(0, len(raw), 97):
        with pytest.raises(WeightsFormatError):
            decode(raw[:cut], SPEC)


def test_header_claiming_1e12_bytes_is_rejected_without_allocating() -> None:
    n = 10**12
    header = {"0.weight": {"dtype": "F32", "shape": [n // 4], "data_offsets": [0, n]}}
    data = craft(header, b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(
            WeightsFormatError,
            match=(
                r"^malformed safetensors header: tensor '0.weight': "
                r"data_offsets \[0, 1000000000000\] "
                r"extend beyond the data region of 64 bytes$"
            ),
        ):
            decode(data, SPEC)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # far below 1e12, and below even one copy of a large file
    # A header length of 1e12 is refused the same way.
    format_error(
        craft(b"{}", b"", header_length=n),
        r"the header length 1000000000000 exceeds the 2 bytes after the length prefix",
    )


def test_header_above_the_cap_is_rejected() -> None:
    header, data = entries(weights())
    raw = craft(json.dumps(header).encode() + b" " * MAX_HEADER_BYTES, data)
    with pytest.raises(
        WeightsFormatError, match=rf"header length \d+ exceeds the cap of {MAX_HEADER_BYTES} "
    ):
        decode(raw, SPEC, max_bytes=10 * len(raw))
    with pytest.raises(WeightsFormatError, match=r"exceeds the cap of 100 bytes"):
        decode(encode(weights()), SPEC, 10**6, max_header_bytes=100)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (b"not json at all", r"^not a safetensors file: the header does not start with '\{'"),
        (b"[1, 2]", r"does not start with '\{'"),
        (b"{", r"^not a safetensors file: the header is not valid JSON"),
        (b'{"a": NaN}', r"header is not valid JSON \(NaN is not allowed\)"),
        (b'{"a": 1} trailing', r"header is not valid JSON"),
        (b'{"\xff": 1}', r"^not a safetensors file: the header is not UTF-8"),
        (b"{" + b'"a":' * 1 + b"[" * 40_000 + b"]" * 40_000 + b"}", r"header is not valid JSON"),
    ],
)
def test_header_that_is_not_a_json_object(header: bytes, match: str) -> None:
    format_error(craft(header, b""), match)


def test_header_padded_with_spaces_is_fine() -> None:
    header, data = entries(weights())
    raw = craft(json.dumps(header).encode() + b"    ", data)
    assert set(decode(raw, SPEC)) == set(header)


def test_duplicate_names_are_rejected() -> None:
    arrays = weights()
    header, data = entries(arrays)
    first = json.dumps({"2.bias": header["2.bias"]})[1:-1]
    text = json.dumps(header)[:-1] + ", " + first + "}"
    format_error(
        craft(text.encode(), data),
        r"^malformed safetensors header: duplicate tensor name '2.bias'$",
    )


def _shifted(arrays: dict[str, np.ndarray], name: str, offsets: list[int]) -> bytes:
    header, data = entries(arrays)
    header[name]["data_offsets"] = offsets
    return craft(header, data)


def test_overlapping_offsets_are_rejected() -> None:
    arrays = {"0.bias": np.zeros(4, np.float32), "2.bias": np.zeros(3, np.float32)}
    header, data = entries(arrays)  # 0.bias [0, 16], 2.bias [16, 28]
    header["2.bias"]["data_offsets"] = [4, 16]
    header["2.bias"]["shape"] = [3]
    raw = craft(header, data[:16] + b"\0" * 12)
    format_error(raw, r"tensors '0.bias' \[0, 16\] and '2.bias' \[4, 16\] overlap")


def test_gaps_and_uncovered_bytes_are_rejected() -> None:
    arrays = {"a": np.zeros(2, np.float32)}
    header, data = entries(arrays)
    header["a"]["data_offsets"] = [4, 12]
    format_error(
        craft(header, data + b"\0" * 4),
        r"4 bytes before tensor 'a' \(offset 4\) belong to no tensor",
    )
    header, data = entries(arrays)
    format_error(
        craft(header, data + b"\0" * 4),
        r"the tensors cover 8 bytes but the data region has 12 bytes",
    )


def test_offsets_inconsistent_with_shape_are_rejected() -> None:
    arrays = weights()
    header, data = entries(arrays)
    header["0.bias"]["shape"] = [5]
    format_error(
        craft(header, data),
        r"tensor '0.bias': data_offsets \[1024, 1040\] span 16 bytes "
        r"but dtype F32 and shape \[5\] need 20 bytes",
    )


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"dtype": "F32", "shape": [4]}, r"tensor '0.bias': missing 'data_offsets'"),
        ({"dtype": "F32", "shape": [4], "data_offsets": [0, 16], "x": 1}, r"unexpected 'x'"),
        ({"dtype": "F99", "shape": [4], "data_offsets": [0, 16]}, r"unknown dtype 'F99'"),
        ({"dtype": 4, "shape": [4], "data_offsets": [0, 16]}, r"unknown dtype 4"),
        ({"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}, r"shape must be a list of"),
        ({"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}, r"shape must be a list of"),
        ({"dtype": "F32", "shape": [True], "data_offsets": [0, 16]}, r"shape must be a list of"),
        ({"dtype": "F32", "shape": "4", "data_offsets": [0, 16]}, r"shape must be a list of"),
        (
            {"dtype": "F32", "shape": [1] * 17, "data_offsets": [0, 4]},
            r"shape must be a list of at most 16 non-negative",
        ),
        (
            {"dtype": "F32", "shape": [4], "data_offsets": [16, 0]},
            r"data_offsets must be two integers 0 <= start <= end",
        ),
        ({"dtype": "F32", "shape": [4], "data_offsets": [-16, 0]}, r"data_offsets must be"),
        ({"dtype": "F32", "shape": [4], "data_offsets": [0, 16, 32]}, r"data_offsets must be"),
        ({"dtype": "F32", "shape": [4], "data_offsets": [0.0, 16]}, r"data_offsets must be"),
        ([0, 16], r"entry is not a JSON object"),
    ],
)
def test_malformed_entries_are_rejected(entry: Any, match: str) -> None:
    raw = craft({"0.bias": entry}, b"\0" * 16)
    format_error(
        raw,
        r"^malformed safetensors header: tensor '0.bias': "
        + match.removeprefix(r"tensor '0.bias': "),
    )


def test_metadata_must_be_strings() -> None:
    header, data = entries(weights())
    ok = craft({**header, "__metadata__": {"format": "pt"}}, data)
    assert set(decode(ok, SPEC)) == set(header)
    assert read_header(ok).metadata == {"format": "pt"}
    bad = craft({**header, "__metadata__": {"n": 1}}, data)
    format_error(bad, r"__metadata__ must map strings to strings")


def test_bytes_like_inputs() -> None:
    raw = encode(weights())
    assert set(decode(bytearray(raw), SPEC)) == set(decode(memoryview(raw), SPEC))
    with pytest.raises(WeightsFormatError, match="expected bytes, got str"):
        decode(raw.decode("latin-1"), SPEC)  # type: ignore[arg-type]


# --- D3: names, shapes, dtypes against the spec -------------------------------------------


def mismatch(arrays: dict[str, np.ndarray], match: str) -> None:
    with pytest.raises(WeightsMismatchError, match=match):
        decode(encode(arrays), SPEC)


def test_missing_tensor() -> None:
    arrays = weights()
    del arrays["2.bias"]
    mismatch(arrays, r"^weights do not match the model spec: missing tensor '2.bias'$")


def test_extra_tensor() -> None:
    mismatch(
        {**weights(), "backdoor": np.zeros(1, np.float32)},
        r"^weights do not match the model spec: unexpected tensor 'backdoor'$",
    )


def test_wrong_shape() -> None:
    arrays = weights()
    arrays["0.weight"] = arrays["0.weight"].T.copy()
    mismatch(arrays, r"tensor '0.weight' has shape \(64, 4\), expected \(4, 64\)")


def test_several_problems_are_listed_together() -> None:
    arrays = weights()
    del arrays["0.bias"]
    arrays["2.weight"] = np.zeros((4, 3), np.float32)
    arrays["extra"] = np.zeros(2, np.float32)
    mismatch(
        arrays, r"missing tensor '0.bias'; unexpected tensor 'extra'; tensor '2.weight' has shape"
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, np.uint8])
def test_wrong_dtype(dtype: Any) -> None:
    arrays = {k: v.astype(dtype) for k, v in weights().items()}
    raw = safetensors.numpy.save(arrays)  # a well-formed file of the wrong dtype
    code = {np.float64: "F64", np.float16: "F16", np.int32: "I32", np.uint8: "U8"}[dtype]
    with pytest.raises(
        WeightsMismatchError, match=rf"tensor '0.bias' has dtype {code}, expected F32"
    ):
        decode(raw, SPEC)


def test_wrong_spec_entirely() -> None:
    with pytest.raises(
        WeightsMismatchError,
        match=(
            r"missing tensor '2.weight'; missing tensor '2.bias'; "
            r"tensor '0.weight' has shape \(10, 64\), expected \(32, 64\); "
            r"tensor '0.bias' has shape \(10,\), expected \(32,\)$"
        ),
    ):
        decode(encode(weights(logreg_digits())), mlp_digits())


# --- non-finite values -------------------------------------------------------------------


def test_nan_is_rejected_with_counts() -> None:
    arrays = weights()
    arrays["0.weight"][0, :3] = np.nan
    with pytest.raises(
        NonFiniteWeightsError,
        match=r"^non-finite weights: tensor '0.weight' has 3 NaN and 0 inf values$",
    ):
        decode(encode(arrays), SPEC)


def test_inf_is_rejected_with_counts() -> None:
    arrays = weights()
    arrays["2.bias"][:] = [np.inf, -np.inf, 1.0]
    arrays["0.bias"][1] = np.nan
    with pytest.raises(
        NonFiniteWeightsError,
        match=(
            r"tensor '0.bias' has 1 NaN and 0 inf values; "
            r"tensor '2.bias' has 0 NaN and 2 inf values"
        ),
    ):
        decode(encode(arrays), SPEC)


# --- D4: size limit ----------------------------------------------------------------------


def test_file_above_the_size_limit_is_rejected_before_anything_else() -> None:
    raw = encode(weights())
    assert decode(raw, SPEC, max_bytes=len(raw))
    with pytest.raises(
        WeightsTooLargeError,
        match=rf"^weights file is {len(raw)} bytes, above the limit of {len(raw) - 1} bytes$",
    ):
        decode(raw, SPEC, max_bytes=len(raw) - 1)
    # Size comes first: garbage above the limit is "too large", not "not safetensors".
    with pytest.raises(WeightsTooLargeError):
        decode(b"\x80\x04" + b"\0" * 100, SPEC, max_bytes=10)


def test_default_size_limit_is_derived_from_the_spec() -> None:
    assert default_max_bytes(SPEC) == 8 + MAX_HEADER_BYTES + 4 * SPEC.num_parameters()
    raw = encode(weights())
    oversized = raw + b" " * (default_max_bytes(SPEC) - len(raw) + 1)
    with pytest.raises(WeightsTooLargeError):
        decode(oversized, SPEC)


# --- fuzzing: only WeightsError, never anything else -------------------------------------

_VALID = encode(weights())


@given(
    st.lists(
        st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(_VALID)),
)
@settings(max_examples=300, deadline=None)
def test_mutated_files_raise_only_weights_errors(flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(_VALID)
    for position, value in flips:
        data[position] = value
    for candidate in (bytes(data), bytes(data[:cut])):
        try:
            decoded = decode(candidate, SPEC)
        except WeightsError:
            continue
        assert list(decoded) == list(SPEC.parameter_shapes())
        assert all(np.isfinite(a).all() for a in decoded.values())


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from(["F32", "F64", "I8", "BOOL", "X"]) | _json_values,
        "shape": st.lists(st.integers(-1, 70), max_size=3) | _json_values,
        "data_offsets": st.lists(st.integers(-1, 2000), min_size=2, max_size=2) | _json_values,
    },
)


@given(
    st.dictionaries(
        st.sampled_from([*SPEC.parameter_shapes(), "__metadata__", "z"]),
        _entry | _json_values,
        max_size=5,
    ),
    st.integers(0, 1100),
)
@settings(max_examples=300, deadline=None)
def test_random_headers_raise_only_weights_errors(header: dict[str, Any], data_length: int) -> None:
    raw = craft(header, b"\0" * data_length)
    try:
        decode(raw, SPEC)
    except WeightsError:
        return
    raise AssertionError("a random header was accepted")  # zeros never form this exact model
