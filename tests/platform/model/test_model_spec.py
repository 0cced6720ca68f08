"""Model specs: allowlist, strict fields, shape propagation, caps, canonical JSON."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerlearn.config import StorageSettings
from ledgerlearn.errors import ModelSpecError
from ledgerlearn.limits import MAX_CONTENT_BYTES, MAX_PARAMETERS
from ledgerlearn.model import (
    LAYER_TYPES,
    ModelSpec,
    SpecLimits,
    cnn_mnist,
    logreg_digits,
    mlp_digits,
)
from ledgerlearn.model.weights import default_max_bytes


def mlp_doc(
    *layers: dict[str, Any], input_shape: list[int] | None = None, classes: int = 10
) -> dict[str, Any]:
    return {"input_shape": input_shape or [64], "num_classes": classes, "layers": list(layers)}


def linear(i: int, o: int, **extra: Any) -> dict[str, Any]:
    return {"type": "Linear", "in_features": i, "out_features": o, **extra}


def rejects(document: Any, match: str, **kwargs: Any) -> str:
    with pytest.raises(ModelSpecError, match=match) as info:
        if isinstance(document, str | bytes):
            ModelSpec.from_json(document, **kwargs)
        else:
            ModelSpec.from_dict(document, **kwargs)
    return str(info.value)


# --- ready-made specs --------------------------------------------------------------------


def test_presets_have_the_documented_sizes() -> None:
    assert logreg_digits().num_parameters() == 650
    assert mlp_digits().num_parameters() == 64 * 32 + 32 + 32 * 10 + 10
    assert cnn_mnist().num_parameters() == 52_138
    assert cnn_mnist().input_shape == (1, 28, 28)
    assert mlp_digits(hidden=(16, 8), num_classes=3).parameter_shapes() == {
        "0.weight": (16, 64),
        "0.bias": (16,),
        "2.weight": (8, 16),
        "2.bias": (8,),
        "4.weight": (3, 8),
        "4.bias": (3,),
    }


def test_output_shapes_are_propagated() -> None:
    assert cnn_mnist().output_shapes() == [
        (8, 28, 28), (8, 28, 28), (8, 14, 14),
        (16, 14, 14), (16, 14, 14), (16, 7, 7),
        (784,), (64,), (64,), (10,),
    ]  # fmt: skip


# --- canonical JSON ----------------------------------------------------------------------


LOGREG_BEFORE_INPUT = (
    b'{"input_shape":[64],"layers":[{"bias":true,"in_features":64,"out_features":10,'
    b'"type":"Linear"}],"num_classes":10}'
)
"""The logreg preset as published before specs had an ``input`` section."""


def test_canonical_json_is_sorted_compact_and_has_a_pinned_hash() -> None:
    # a spec without `input` (every spec published before the section existed) keeps its
    # bytes and its hash: the absent section is left out of the canonical form
    old = ModelSpec.from_json(LOGREG_BEFORE_INPUT)
    assert old.input is None
    assert old.to_json() == LOGREG_BEFORE_INPUT
    assert old == logreg_digits().model_copy(update={"input": None, "purpose": None})
    # Pinned: a change of the canonical form changes every published content hash.
    assert old.content_hash().hex() == (
        "f222d02af213df9b6e9b598fe45c36bd1c4d11bf33d7a7191be72cbfbaa50821"
    )
    # the preset declared its input (a new document, a new hash), then its purpose (another);
    # without the later section the earlier document keeps its bytes
    spec = logreg_digits().model_copy(update={"purpose": None})
    raw = spec.to_json()
    assert raw == (
        b'{"input":{"description":"8x8 digit images, 64 pixels row by row, each 0-16 divided '
        b'by 16 (in [0, 1])","range":[0.0,1.0]},"input_shape":[64],"layers":[{"bias":true,'
        b'"in_features":64,"out_features":10,"type":"Linear"}],"num_classes":10}'
    )
    assert spec.content_hash() == hashlib.sha256(raw).digest()
    assert spec.content_hash().hex() == (
        "8d5efc78e173b42679e85234046d520cf5a02c962105921145223b9fd5827c63"
    )
    with_purpose = logreg_digits().to_json()
    assert with_purpose == raw[:-1] + (
        b',"purpose":{"data_kind":"handwritten-digits","description":"recognise the '
        b'handwritten digits 0-9 in 8x8 scans"}}'
    )
    assert logreg_digits().content_hash().hex() == (
        "eafdfb4ef7b39223331dd183e325647482dc54cddf653e32fa363d597c975423"
    )


def test_equivalent_documents_have_the_same_bytes(any_spec: ModelSpec) -> None:
    raw = any_spec.to_json()
    assert ModelSpec.from_json(raw) == any_spec
    assert ModelSpec.from_json(raw).to_json() == raw
    # Whitespace and key order do not matter.
    pretty = json.dumps(dict(reversed(list(json.loads(raw).items()))), indent=3)
    assert ModelSpec.from_json(pretty).to_json() == raw
    assert ModelSpec.from_json(pretty.encode()).content_hash() == any_spec.content_hash()


def test_defaults_and_pairs_are_normalised() -> None:
    short: dict[str, Any] = {
        "input_shape": [1, 8, 8],
        "num_classes": 2,
        "layers": [
            {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"},
            linear(18, 2),
        ],
    }
    long = copy.deepcopy(short)
    long["layers"][0].update(kernel_size=[3, 3], stride=[1, 1], padding=0, bias=True)
    long["layers"][1].update(kernel_size=[2, 2], stride=2)
    long["layers"][3].update(bias=True)
    a, b = ModelSpec.from_dict(short), ModelSpec.from_dict(long)
    assert a == b
    assert a.to_json() == b.to_json()
    conv = json.loads(a.to_json())["layers"][0]
    assert conv["kernel_size"] == [3, 3] and conv["padding"] == [0, 0] and conv["stride"] == [1, 1]
    assert json.loads(a.to_json())["layers"][1]["stride"] == [2, 2]


def test_every_layer_type_is_covered_by_the_fixture(every_layer_spec: ModelSpec) -> None:
    assert {layer.type for layer in every_layer_spec.layers} == set(LAYER_TYPES)


# --- allowlist and strict fields ---------------------------------------------------------


def test_unknown_layer_is_rejected_naming_it() -> None:
    message = rejects(
        mlp_doc(linear(64, 10), {"type": "Lambda", "fn": "os.system"}), r"layer 1: unknown layer"
    )
    assert "'Lambda'" in message
    assert "allowed: Linear, Conv2d" in message


@pytest.mark.parametrize("name", ["BatchNorm1d", "Softmax", "linear", "__class__", "Module"])
def test_names_outside_the_allowlist_are_rejected(name: str) -> None:
    rejects(mlp_doc(linear(64, 10), {"type": name}), rf"layer 1: unknown layer type '{name}'")


def test_layer_without_type_is_rejected() -> None:
    rejects(mlp_doc({"in_features": 64, "out_features": 10}), r"layer 0: missing field 'type'")


def test_layer_that_is_not_an_object_is_rejected() -> None:
    rejects(mlp_doc(linear(64, 10), "ReLU"), r"layer 1: ")  # type: ignore[arg-type]


def test_unknown_field_is_rejected_naming_the_layer() -> None:
    rejects(
        mlp_doc(linear(64, 10, dilation=2)),
        r"^invalid model spec: layer 0 \(Linear\): unknown field 'dilation'$",
    )
    rejects(
        mlp_doc(linear(64, 32), {"type": "ReLU", "inplace": True}, linear(32, 10)),
        r"layer 1 \(ReLU\): unknown field 'inplace'",
    )


def test_missing_field_is_rejected_naming_the_layer() -> None:
    rejects(
        mlp_doc({"type": "Linear", "in_features": 64}),
        r"layer 0 \(Linear\): missing field 'out_features'",
    )


@pytest.mark.parametrize("bad", ["64", 64.0, True, None, [64], -1, 0])
def test_wrongly_typed_or_out_of_range_size_is_rejected(bad: Any) -> None:
    rejects(mlp_doc(linear(bad, 10)), r"layer 0 \(Linear\): field 'in_features'")


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.5", True, None])
def test_dropout_probability_is_checked(bad: Any) -> None:
    rejects(
        mlp_doc(linear(64, 10), {"type": "Dropout", "p": bad}),
        r"layer 1 \(Dropout\): field 'p'",
    )


def test_dropout_accepts_an_integer_zero() -> None:
    spec = ModelSpec.from_dict(mlp_doc(linear(64, 10), {"type": "Dropout", "p": 0}))
    assert json.loads(spec.to_json())["layers"][1]["p"] == 0.0


def test_bias_must_be_a_boolean() -> None:
    rejects(mlp_doc(linear(64, 10, bias=1)), r"layer 0 \(Linear\): field 'bias'")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"extra": 1}, r"unknown field 'extra'"),
        ({"num_classes": 1}, r"field 'num_classes'"),
        ({"num_classes": "10"}, r"field 'num_classes'"),
        (
            {"input_shape": [8, 8]},
            r"input_shape must be \[features\] or \[channels, height, width\]",
        ),
        ({"input_shape": []}, r"input_shape must be"),
        ({"input_shape": [64.0]}, r"field 'input_shape.0'"),
        ({"layers": []}, r"layers must not be empty"),
        ({"layers": {"0": linear(64, 10)}}, r"field 'layers'"),
    ],
)
def test_top_level_fields_are_checked(change: dict[str, Any], match: str) -> None:
    rejects({**mlp_doc(linear(64, 10)), **change}, match)


def test_missing_top_level_field() -> None:
    document = mlp_doc(linear(64, 10))
    del document["num_classes"]
    rejects(document, r"missing field 'num_classes'")


def test_direct_construction_also_raises_model_spec_error() -> None:
    with pytest.raises(ModelSpecError, match=r"layer 0 \(Linear\): in_features=32"):
        ModelSpec(input_shape=(64,), num_classes=10, layers=[linear(32, 10)])


def test_many_errors_are_summarised() -> None:
    bad_layers = [{"type": "Linear", "oops": i} for i in range(10)]
    message = rejects(mlp_doc(*bad_layers), r"more error")
    assert message.count("layer ") <= 5 + 1


# --- shape propagation -------------------------------------------------------------------


def test_inconsistent_linear_names_the_layer_and_both_sizes() -> None:
    document = {
        "input_shape": [1, 28, 28],
        "num_classes": 10,
        "layers": [{"type": "Flatten"}, {"type": "ReLU"}, linear(100, 10)],
    }
    rejects(
        document,
        r"^invalid model spec: layer 2 \(Linear\): in_features=100 but the previous layer "
        r"outputs 784$",
    )


def test_linear_on_an_image_asks_for_flatten() -> None:
    rejects(
        mlp_doc(linear(28, 10), input_shape=[1, 28, 28]),
        r"layer 0 \(Linear\): expects a flat input \(features,\) but the previous layer outputs "
        r"\(1, 28, 28\); insert a Flatten layer",
    )


def test_conv_channel_mismatch_and_oversized_kernel() -> None:
    conv = {"type": "Conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3}
    rejects(
        {"input_shape": [1, 8, 8], "num_classes": 2, "layers": [conv]},
        r"layer 0 \(Conv2d\): in_channels=3 but the previous layer outputs 1 channels",
    )
    big = {**conv, "in_channels": 1, "kernel_size": 9}
    rejects(
        {"input_shape": [1, 8, 8], "num_classes": 2, "layers": [big]},
        r"layer 0 \(Conv2d\): kernel_size=\[9, 9\] with padding=\[0, 0\] does not fit the input "
        r"\(1, 8, 8\)",
    )
    rejects(
        {"input_shape": [64], "num_classes": 2, "layers": [conv]},
        r"layer 0 \(Conv2d\): expects an input \(channels, height, width\) but gets \(64,\)",
    )


def test_pool_that_does_not_fit() -> None:
    rejects(
        {
            "input_shape": [1, 3, 3],
            "num_classes": 2,
            "layers": [{"type": "AvgPool2d", "kernel_size": 4}],
        },
        r"layer 0 \(AvgPool2d\): kernel_size=\[4, 4\] does not fit the input \(1, 3, 3\)",
    )


def test_group_norm_checks() -> None:
    rejects(
        mlp_doc(linear(64, 10), {"type": "GroupNorm", "num_groups": 3, "num_channels": 10}),
        r"layer 1 \(GroupNorm\): num_channels=10 is not divisible by num_groups=3",
    )
    rejects(
        mlp_doc(linear(64, 10), {"type": "GroupNorm", "num_groups": 2, "num_channels": 8}),
        r"layer 1 \(GroupNorm\): num_channels=8 but the previous layer outputs \(10,\)",
    )


def test_final_output_must_equal_num_classes() -> None:
    rejects(
        mlp_doc(linear(64, 32), {"type": "ReLU"}),
        r"layer 1 \(ReLU\): the model outputs \(32,\) but num_classes=10 requires \(10,\)",
    )
    rejects(
        {"input_shape": [10, 1, 1], "num_classes": 10, "layers": [{"type": "ReLU"}]},
        r"the model outputs \(10, 1, 1\) but num_classes=10",
    )


def test_a_model_without_parameters_is_rejected() -> None:
    rejects(
        {"input_shape": [10], "num_classes": 10, "layers": [{"type": "ReLU"}]},
        r"the model has no trainable parameters",
    )


# --- caps --------------------------------------------------------------------------------


def test_parameter_cap_default_and_configurable() -> None:
    rejects(
        mlp_doc(linear(64, 100_000), linear(100_000, 1_000), linear(1_000, 10)),
        rf"the model has 106\d{{6}} parameters, above the limit of {MAX_PARAMETERS}",
    )
    rejects(
        mlp_doc(linear(64, 10)),
        r"650 parameters, above the limit of 649",
        limits=SpecLimits(max_parameters=649),
    )
    assert ModelSpec.from_dict(mlp_doc(linear(64, 10)), limits=SpecLimits(max_parameters=650))


def test_the_largest_allowed_model_has_weights_every_member_can_fetch() -> None:
    # one source for the limits: a spec at the parameter cap still fits the fetch cap
    features = MAX_PARAMETERS // 11 - 1  # Linear(features, 10): 10 * features + 10 parameters
    spec = ModelSpec.from_dict(mlp_doc(linear(features, 10), input_shape=[features]))
    assert spec.num_parameters() > MAX_PARAMETERS * 0.9
    assert default_max_bytes(spec) <= MAX_CONTENT_BYTES
    assert StorageSettings().max_get_bytes == MAX_CONTENT_BYTES


def test_absurd_single_sizes_are_rejected() -> None:
    rejects(mlp_doc(linear(64, 10**12)), r"layer 0 \(Linear\): field 'out_features'")
    rejects({**mlp_doc(linear(64, 10)), "input_shape": [10**30]}, r"field 'input_shape.0'")


def test_activation_cap() -> None:
    rejects(
        {"input_shape": [1, 10_000, 10_000], "num_classes": 2, "layers": [{"type": "Flatten"}]},
        r"input_shape \(1, 10000, 10000\) has 100000000 elements, above the limit of 16777216",
    )
    conv = {"type": "Conv2d", "in_channels": 1, "out_channels": 512, "kernel_size": 1}
    rejects(
        {"input_shape": [1, 256, 256], "num_classes": 2, "layers": [conv]},
        r"layer 0 \(Conv2d\): outputs \(512, 256, 256\) = 33554432 elements per sample, above",
    )


def test_compute_cap() -> None:
    assert logreg_digits().macs_per_sample() == 640
    assert cnn_mnist().macs_per_sample() == (
        8 * 28 * 28 * 9 + 16 * 14 * 14 * 8 * 9 + 784 * 64 + 64 * 10
    )
    # 1024 channels at 64x64 with a 3x3 kernel: 18M parameters, but ~39 GMAC per sample.
    conv = {"type": "Conv2d", "in_channels": 1024, "out_channels": 1024, "kernel_size": 3,
            "padding": 1}  # fmt: skip
    document = {
        "input_shape": [1024, 64, 64],
        "num_classes": 2,
        "layers": [conv, {"type": "Flatten"}, linear(1024 * 64 * 64, 2)],
    }
    rejects(
        document,
        r"the model needs 38663094272 multiply-accumulates per sample, above the limit of "
        r"1000000000$",
    )
    rejects(
        mlp_doc(linear(64, 10)),
        r"needs 640 multiply-accumulates per sample, above the limit of 639",
        limits=SpecLimits(max_macs_per_sample=639),
    )


def test_layer_count_cap() -> None:
    document = mlp_doc(linear(64, 10), *([{"type": "ReLU"}] * 300))
    rejects(document, r"301 layers, above the limit of 256")
    rejects(
        mlp_doc(linear(64, 10), {"type": "ReLU"}),
        r"above the limit of 1",
        limits=SpecLimits(max_layers=1),
    )


def test_limits_must_be_positive_integers() -> None:
    with pytest.raises(ModelSpecError, match=r"SpecLimits.max_layers"):
        SpecLimits(max_layers=0)


# --- the JSON document -------------------------------------------------------------------


def test_document_size_cap() -> None:
    raw = logreg_digits().to_json()
    limits = SpecLimits(max_document_bytes=len(raw) - 1)
    rejects(
        raw, rf"model spec is {len(raw)} bytes, above the limit of {len(raw) - 1}", limits=limits
    )
    rejects(raw.decode(), r"above the limit", limits=limits)
    rejects(b" " * 1_000_001, r"above the limit of 1000000 bytes")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"{", r"not valid JSON"),
        (b"", r"not valid JSON"),
        (b"\xff\xfe{}", r"not UTF-8"),
        (b"[]", r"must be a JSON object, got list"),
        (b'"spec"', r"must be a JSON object, got str"),
        (b'{"input_shape":[64],"input_shape":[64]}', r"duplicate key 'input_shape'"),
        (
            b'{"input_shape":[64],"num_classes":10,"layers":[{"type":"Dropout","p":NaN}]}',
            r"NaN is not allowed",
        ),
        (b"[" * 100_000, r"not valid JSON"),
    ],
)
def test_malformed_documents(raw: bytes, match: str) -> None:
    rejects(raw, match)


def test_duplicate_keys_inside_a_layer_are_rejected() -> None:
    raw = (
        b'{"input_shape":[64],"num_classes":10,"layers":[{"type":"Linear","in_features":64,'
        b'"out_features":10,"out_features":10}]}'
    )
    rejects(raw, r"duplicate key 'out_features'")


def test_wrong_input_types() -> None:
    with pytest.raises(ModelSpecError, match="must be bytes or str"):
        ModelSpec.from_json(123)  # type: ignore[arg-type]
    with pytest.raises(ModelSpecError, match="must be a JSON object"):
        ModelSpec.from_dict([1, 2])  # type: ignore[arg-type]


# --- properties --------------------------------------------------------------------------


@st.composite
def mlp_documents(draw: st.DrawFn) -> dict[str, Any]:
    features = draw(st.integers(1, 40))
    widths = draw(st.lists(st.integers(1, 40), max_size=3))
    classes = draw(st.integers(2, 12))
    layers: list[dict[str, Any]] = []
    width = features
    for w in widths:
        layers.append(linear(width, w, bias=draw(st.booleans())))
        layers.append({"type": draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid"]))})
        width = w
    layers.append(linear(width, classes))
    return {"input_shape": [features], "num_classes": classes, "layers": layers}


@given(mlp_documents())
@settings(max_examples=50, deadline=None)
def test_random_mlps_roundtrip_through_canonical_json(document: dict[str, Any]) -> None:
    spec = ModelSpec.from_dict(document)
    raw = spec.to_json()
    assert ModelSpec.from_json(raw) == spec
    assert ModelSpec.from_json(json.dumps(document, indent=1)).to_json() == raw
    assert spec.num_parameters() == sum(
        (layer["in_features"] + int(layer.get("bias", True))) * layer["out_features"]
        for layer in document["layers"]
        if layer["type"] == "Linear"
    )


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
)
_layer_like = st.fixed_dictionaries(
    {"type": st.sampled_from([*LAYER_TYPES, "Evil", ""])},
    optional={
        key: _json_leaf | st.lists(st.integers(-1, 70), max_size=3)
        for key in [
            "in_features", "out_features", "in_channels", "out_channels", "kernel_size",
            "stride", "padding", "p", "bias", "num_groups", "num_channels", "junk",
        ]
    },
)  # fmt: skip


@given(
    st.fixed_dictionaries(
        {
            "input_shape": st.lists(st.integers(-1, 70), max_size=4),
            "num_classes": st.integers(0, 12) | _json_leaf,
            "layers": st.lists(_layer_like | _json_leaf, max_size=5),
        }
    )
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_arbitrary_documents_either_validate_or_raise_model_spec_error(
    document: dict[str, Any],
) -> None:
    try:
        spec = ModelSpec.from_dict(document)
    except ModelSpecError as exc:
        assert re.match(r"^invalid model spec: ", str(exc))
    else:
        assert ModelSpec.from_json(spec.to_json()) == spec


def test_the_every_layer_document_is_valid(every_layer_doc: dict[str, Any]) -> None:
    assert ModelSpec.from_dict(every_layer_doc).num_parameters() > 0
