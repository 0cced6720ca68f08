"""Spec -> torch module: forward shapes, state names, seeding."""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from ledgerlearn.errors import ModelSpecError
from ledgerlearn.model import LAYER_TYPES, ModelSpec, build, cnn_mnist
from ledgerlearn.model.build import build_layer


def test_forward_pass_gives_batch_by_num_classes(any_spec: ModelSpec) -> None:
    model = build(any_spec, seed=0)
    batch = torch.randn(7, *any_spec.input_shape)
    model.eval()
    with torch.no_grad():
        out = model(batch)
    assert out.shape == (7, any_spec.num_classes)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_state_dict_is_exactly_the_spec_parameters(any_spec: ModelSpec) -> None:
    model = build(any_spec)
    state = model.state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == list(
        any_spec.parameter_shapes().items()
    )
    assert all(v.dtype == torch.float32 for v in state.values())
    assert list(model.buffers()) == []
    assert sum(p.numel() for p in model.parameters()) == any_spec.num_parameters()


def test_every_layer_maps_to_its_torch_module(every_layer_spec: ModelSpec) -> None:
    model = build(every_layer_spec)
    expected = {
        "Linear": nn.Linear, "Conv2d": nn.Conv2d, "MaxPool2d": nn.MaxPool2d,
        "AvgPool2d": nn.AvgPool2d, "ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid,
        "Flatten": nn.Flatten, "Dropout": nn.Dropout, "GroupNorm": nn.GroupNorm,
    }  # fmt: skip
    assert set(expected) == set(LAYER_TYPES)
    for layer, module in zip(every_layer_spec.layers, model, strict=True):
        assert type(module) is expected[layer.type]
    assert model[8].p == 0.25  # Dropout
    assert model[0].stride == (1, 2) and model[0].padding == (1, 2)
    assert model[9].bias is None


def test_declared_shapes_match_torch_layer_by_layer(any_spec: ModelSpec) -> None:
    model = build(any_spec).eval()
    x = torch.randn(3, *any_spec.input_shape)
    with torch.no_grad():
        for module, declared in zip(model, any_spec.output_shapes(), strict=True):
            x = module(x)
            assert tuple(x.shape) == (3, *declared)


def test_seeded_build_is_deterministic_and_leaves_the_global_rng_alone() -> None:
    spec = cnn_mnist()
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b, c = build(spec, seed=1), build(spec, seed=1), build(spec, seed=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name])
    assert not torch.equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])


def test_build_layer_rejects_something_that_is_not_a_layer_spec() -> None:
    with pytest.raises(AssertionError):
        build_layer("Linear")  # type: ignore[arg-type]


def test_build_checks_its_own_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = cnn_mnist()
    monkeypatch.setattr(ModelSpec, "parameter_shapes", lambda self: {"0.weight": (1,)})
    with pytest.raises(ModelSpecError, match="does not match the spec"):
        build(spec)


@st.composite
def cnn_documents(draw: st.DrawFn) -> dict[str, Any]:
    channels = draw(st.integers(1, 3))
    height, width = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "GroupNorm"]))
        if kind == "Conv2d":
            out = draw(st.integers(1, 4))
            layers.append({
                "type": "Conv2d", "in_channels": channels, "out_channels": out,
                "kernel_size": [draw(st.integers(1, 5)), draw(st.integers(1, 5))],
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "padding": [draw(st.integers(0, 2)), draw(st.integers(0, 2))],
            })  # fmt: skip
            channels = out
        elif kind in ("MaxPool2d", "AvgPool2d"):
            layers.append({
                "type": kind,
                "kernel_size": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            })  # fmt: skip
        elif kind == "GroupNorm":
            layers.append({"type": "GroupNorm", "num_groups": 1, "num_channels": channels})
        else:
            layers.append({"type": kind})
    layers.append({"type": "Flatten"})
    return {"input_shape": [draw(st.integers(1, 3)), height, width], "layers": layers}


_CLOSING = re.compile(
    r"layer (\d+) \(Linear\): in_features=1 but the previous layer outputs (\d+)$"
)


@given(cnn_documents())
@settings(max_examples=80, deadline=None)
def test_shape_propagation_agrees_with_torch(document: dict[str, Any]) -> None:
    """Whenever a spec is accepted, torch computes exactly the declared shapes."""
    # Match the input channels to the first layer that cares, close with Linear(?, 3).
    for layer in document["layers"]:
        if layer["type"] in ("Conv2d", "GroupNorm"):
            document["input_shape"][0] = layer.get("in_channels", layer.get("num_channels"))
            break
    closing = {"type": "Linear", "in_features": 1, "out_features": 3}
    document = {**document, "num_classes": 3, "layers": [*document["layers"], closing]}
    try:
        spec = ModelSpec.from_dict(document)
    except ModelSpecError as exc:
        found = _CLOSING.search(str(exc))
        assume(found is not None and int(found[1]) == len(document["layers"]) - 1)
        assert found is not None
        closing["in_features"] = int(found[2])
        spec = ModelSpec.from_dict(document)
    model = build(spec).eval()
    x = torch.randn(2, *spec.input_shape)
    with torch.no_grad():
        for module, declared in zip(model, spec.output_shapes(), strict=True):
            x = module(x)
            assert tuple(x.shape) == (2, *declared)
    assert tuple(x.shape) == (2, 3)
