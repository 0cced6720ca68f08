"""Named tensors <-> one float32 vector, and module helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

from ledgerlearn.model import (
    ModelSpec,
    WeightsMismatchError,
    build,
    decode,
    encode,
    flatten,
    load_arrays_into,
    logreg_digits,
    mlp_digits,
    state_dict_to_arrays,
    unflatten,
)


def test_canonical_order_is_torch_parameter_order(any_spec: ModelSpec) -> None:
    model = build(any_spec, seed=5)
    vector = flatten(state_dict_to_arrays(model), any_spec)
    expected = nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    assert vector.dtype == np.float32 and vector.shape == (any_spec.num_parameters(),)
    np.testing.assert_array_equal(vector, expected)
    # torch tensors are accepted directly.
    np.testing.assert_array_equal(flatten(model.state_dict(), any_spec), expected)


def test_unflatten_inverts_flatten(any_spec: ModelSpec) -> None:
    arrays = state_dict_to_arrays(build(any_spec, seed=1))
    back = unflatten(flatten(arrays, any_spec), any_spec)
    assert list(back) == list(any_spec.parameter_shapes())
    for name, array in back.items():
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, arrays[name])


def test_layout_by_hand() -> None:
    spec = logreg_digits(num_classes=2)  # 0.weight (2, 64), 0.bias (2,)
    vector = np.arange(130, dtype=np.float32)
    arrays = unflatten(vector, spec)
    np.testing.assert_array_equal(arrays["0.weight"][1, :3], [64, 65, 66])
    np.testing.assert_array_equal(arrays["0.bias"], [128, 129])


def test_unflatten_never_aliases_its_input() -> None:
    spec = logreg_digits()
    vector = np.zeros(spec.num_parameters(), dtype=np.float32)
    arrays = unflatten(vector, spec)
    vector[:] = 1.0
    assert not arrays["0.weight"].any()
    arrays["0.bias"][:] = 2.0
    assert (vector == 1.0).all()


def test_float64_and_torch_vectors_are_cast_to_float32() -> None:
    spec = logreg_digits()
    v64 = np.linspace(-1, 1, spec.num_parameters())
    arrays = unflatten(v64, spec)
    assert all(a.dtype == np.float32 for a in arrays.values())
    np.testing.assert_array_equal(flatten(arrays, spec), v64.astype(np.float32))
    np.testing.assert_array_equal(
        flatten(unflatten(torch.from_numpy(v64), spec), spec), v64.astype(np.float32)
    )
    assert flatten({k: v.astype(np.float64) for k, v in arrays.items()}, spec).dtype == np.float32


@pytest.mark.parametrize(
    ("vector", "match"),
    [
        (
            np.zeros(649, np.float32),
            r"^vector has 649 elements but the model spec has 650 parameters$",
        ),
        (np.zeros(651, np.float32), r"vector has 651 elements"),
        (np.zeros((650, 1), np.float32), r"expected a 1-D vector, got shape \(650, 1\)"),
        (np.zeros(650, np.int64), r"expected a float vector, got dtype int64"),
        (np.float32(1.0), r"expected a 1-D vector"),
    ],
)
def test_unflatten_rejects_bad_vectors(vector: Any, match: str) -> None:
    with pytest.raises(WeightsMismatchError, match=match):
        unflatten(vector, logreg_digits())


def test_flatten_rejects_mismatched_states() -> None:
    spec = mlp_digits()
    arrays = state_dict_to_arrays(build(spec))
    with pytest.raises(WeightsMismatchError, match=r"missing tensor '2.bias'"):
        flatten({k: v for k, v in arrays.items() if k != "2.bias"}, spec)
    with pytest.raises(WeightsMismatchError, match=r"unexpected tensor 'x'"):
        flatten({**arrays, "x": np.zeros(1, np.float32)}, spec)
    with pytest.raises(
        WeightsMismatchError, match=r"tensor '0.bias' has shape \(31,\), expected \(32,\)"
    ):
        flatten({**arrays, "0.bias": np.zeros(31, np.float32)}, spec)
    with pytest.raises(WeightsMismatchError, match=r"tensor '0.bias' has dtype int32"):
        flatten({**arrays, "0.bias": np.zeros(32, np.int32)}, spec)


def test_state_dict_to_arrays_copies() -> None:
    model = build(logreg_digits(), seed=0)
    arrays = state_dict_to_arrays(model)
    layer = model[0]
    assert isinstance(layer, nn.Linear)
    with torch.no_grad():
        layer.weight.add_(1.0)
    assert not np.array_equal(arrays["0.weight"], layer.weight.detach().numpy())


def test_state_dict_to_arrays_refuses_integer_buffers() -> None:
    with pytest.raises(
        WeightsMismatchError, match=r"tensor 'num_batches_tracked' has dtype torch.int64"
    ):
        state_dict_to_arrays(nn.BatchNorm1d(3))


def test_load_arrays_into_a_fresh_model_reproduces_its_outputs(any_spec: ModelSpec) -> None:
    source, target = build(any_spec, seed=1).eval(), build(any_spec, seed=2).eval()
    arrays = decode(encode(state_dict_to_arrays(source)), any_spec)
    load_arrays_into(target, arrays)
    x = torch.randn(4, *any_spec.input_shape)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)
    arrays["0.bias"][:] = 123.0  # the module holds copies
    assert not (target.state_dict()["0.bias"] == 123.0).any()


def test_load_arrays_into_rejects_mismatches_and_leaves_the_module_unchanged() -> None:
    spec = mlp_digits()
    model = build(spec, seed=0)
    before = state_dict_to_arrays(model)
    good = state_dict_to_arrays(build(spec, seed=1))
    cases: list[tuple[dict[str, np.ndarray], str]] = [
        ({k: v for k, v in good.items() if k != "0.bias"}, r"missing tensor '0.bias'"),
        ({**good, "3.weight": np.zeros(1, np.float32)}, r"unexpected tensor '3.weight'"),
        (
            {**good, "2.weight": good["2.weight"].T},
            r"tensor '2.weight' has shape \(32, 10\), expected \(10, 32\)",
        ),
        ({**good, "2.bias": np.zeros(10, np.int64)}, r"tensor '2.bias' has dtype int64"),
    ]
    for bad, match in cases:
        with pytest.raises(WeightsMismatchError, match=match):
            load_arrays_into(model, bad)
        after = state_dict_to_arrays(model)
        assert all(np.array_equal(after[k], before[k]) for k in before)


@given(st.integers(1, 20), st.integers(0, 20), st.integers(2, 8), st.data())
@settings(max_examples=60, deadline=None)
def test_random_vectors_roundtrip_exactly(
    features: int, hidden: int, classes: int, data: st.DataObject
) -> None:
    layers: list[dict[str, Any]] = []
    width = features
    if hidden:
        layers += [
            {"type": "Linear", "in_features": features, "out_features": hidden},
            {"type": "Tanh"},
        ]
        width = hidden
    layers.append(
        {
            "type": "Linear",
            "in_features": width,
            "out_features": classes,
            "bias": data.draw(st.booleans()),
        }
    )
    spec = ModelSpec.from_dict(
        {"input_shape": [features], "num_classes": classes, "layers": layers}
    )
    vector = data.draw(
        hnp.arrays(np.float32, spec.num_parameters(), elements=st.floats(width=32, allow_nan=False))
    )
    arrays = unflatten(vector, spec)
    assert flatten(arrays, spec).tobytes() == vector.tobytes()
    assert sum(a.size for a in arrays.values()) == vector.size
