"""A spec's ``input`` section: validation, canonical form, and the transform the built model
applies itself (absent from the state dict, so weights and hashes do not change)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch

from ledgerlearn.data import Dataset, load_digits
from ledgerlearn.errors import ModelSpecError
from ledgerlearn.model import ModelSpec, build, cnn_mnist, logreg_digits, mlp_digits
from ledgerlearn.model.build import InputTransformed
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.weights import encode
from ledgerlearn.training import TrainingConfig, evaluate, train

RAW_DIGITS = {"range": [0, 1], "transform": {"scale": 0.0625}, "description": "pixels 0-16"}
"""A raw-pixel digits task: the model divides by 16 itself."""


def with_input(spec: ModelSpec, section: Any) -> ModelSpec:
    document = spec.model_dump(mode="json", exclude_none=True)
    document["input"] = section
    return ModelSpec.from_dict(document)


def raw_digits(split: str = "train") -> tuple[Dataset, Dataset]:
    """(pre-scaled, raw 0-16) digits: the same samples."""
    scaled = load_digits(split)  # type: ignore[arg-type]
    raw = (scaled.x * 16).round().astype(np.float32)
    assert np.array_equal(raw / 16, scaled.x)  # the bundled digits are exactly k/16
    return scaled, Dataset(raw, scaled.y, 10, "raw")


# --- the section ------------------------------------------------------------------------


def test_every_preset_declares_its_input() -> None:
    for preset in (logreg_digits(), mlp_digits(), cnn_mnist()):
        assert preset.input is not None
        assert preset.input.range == (0.0, 1.0) and preset.input.transform is None
        assert preset.input.description and "divided by" in preset.input.description


@pytest.mark.parametrize(
    "section",
    [
        {"range": [0, 1]},
        {"range": [-1.5, 2.5], "description": "standardised"},
        {"range": [0, 1], "transform": {"scale": 0.0625}},
        {"range": [-1, 1], "transform": {"scale": 0.125, "offset": -1}},
        {"range": [-3, 3], "transform": {"mean": 8, "std": 4.5}},
        {"range": [-3, 3], "transform": {"mean": [8.0] * 64, "std": 4.5}},
        {"range": [-3, 3], "transform": {"scale": [1.0] * 64, "offset": [0.5] * 64}},
    ],
)
def test_valid_sections_round_trip_through_canonical_json(section: dict[str, Any]) -> None:
    spec = with_input(logreg_digits(), section)
    raw = spec.to_json()
    assert ModelSpec.from_json(raw) == spec and ModelSpec.from_json(raw).to_json() == raw
    assert b"null" not in raw  # absent optional parts are left out, not written as null


def test_equivalent_sections_have_the_same_bytes() -> None:
    a = with_input(logreg_digits(), {"range": [0, 1], "transform": {"scale": 0.0625}})
    b = with_input(
        logreg_digits(),
        {"transform": {"offset": 0.0, "scale": 0.0625}, "range": [0.0, 1.0], "description": None},
    )
    assert a.to_json() == b.to_json() and a.content_hash() == b.content_hash()
    assert b'"transform":{"offset":0.0,"scale":0.0625}' in a.to_json()  # default filled in


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"range": [1, 0]}, r"input.range must be \[lo, hi\] with lo < hi, got \[1.0, 0.0\]"),
        ({"range": [0]}, r"missing field 'input.range.1'"),
        ({"range": [0, "1"]}, r"field 'input.range.1': Input should be a valid number"),
        ({"range": [0, float("inf")]}, r"field 'input.range.1'"),
        ({"range": [0, 1], "extra": 1}, r"unknown field 'input.extra'"),
        ({"transform": {"scale": 2}}, r"missing field 'input.range'"),
        ({"range": [0, 1], "transform": {"scale": 0}}, r"input.transform.scale must not be 0"),
        ({"range": [0, 1], "transform": {"mean": 0, "std": 0}}, r"input.transform.std must be"),
        ({"range": [0, 1], "transform": {"mean": 1}}, r"missing field 'input.transform.std'"),
        (
            {"range": [0, 1], "transform": {"scale": 1, "mean": 0}},
            r"unknown field 'input.transform.mean'",
        ),
        (
            {"range": [0, 1], "transform": {"factor": 1}},
            r"a transform is \{scale, offset\} or \{mean, std\}",
        ),
        (
            {"range": [0, 1], "transform": {"scale": "x"}},
            r"field 'input.transform.scale': Input should be a valid number",
        ),
        ({"range": [0, 1], "transform": {"scale": 1e-60}}, r"a scale rounds to 0 in float32"),
        (
            {"range": [0, 1], "transform": {"mean": 0, "std": 1e-300}},
            r"a coefficient overflows float32",
        ),
        (
            {"range": [0, 1], "transform": {"mean": [1, 2, 3], "std": [1, 2]}},
            r"mean and std list different numbers of values \(3 and 2\)",
        ),
        (
            {"range": [0, 1], "transform": {"scale": [1, 2, 3]}},
            r"lists 3 values per coefficient but the input has 64 features",
        ),
        ({"range": [0, 1], "description": "two\nlines"}, r"printable text on one line"),
        ({"range": [0, 1], "description": "x" * 1001}, r"field 'input.description'"),
        ([0, 1], r"field 'input': Input should be a valid dictionary"),
    ],
)
def test_bad_sections_are_refused_naming_the_field(section: Any, message: str) -> None:
    with pytest.raises(ModelSpecError, match=message):
        with_input(logreg_digits(), section)


def test_per_channel_coefficients_follow_the_channels() -> None:
    image = with_input(cnn_mnist(), {"range": [-3, 3], "transform": {"mean": [0.1307], "std": 0.3}})
    assert image.input is not None
    coefficients = image.input.coefficients(image.input_shape)
    assert coefficients is not None and coefficients[0].shape == ()  # one channel: a scalar
    with pytest.raises(ModelSpecError, match=r"lists 3 values .* the input has 1 channels"):
        with_input(cnn_mnist(), {"range": [0, 1], "transform": {"scale": [1, 2, 3]}})


# --- the built model --------------------------------------------------------------------


def test_the_transform_is_not_in_the_state_dict_nor_the_weights_file() -> None:
    plain = logreg_digits()
    spec = with_input(plain, RAW_DIGITS)
    model = build(spec, seed=3)
    assert isinstance(model, InputTransformed)
    assert list(model.state_dict()) == list(spec.parameter_shapes()) == ["0.weight", "0.bias"]
    buffers = dict(model.named_buffers())
    assert set(buffers) == {"input_scale", "input_offset"}
    assert float(buffers["input_scale"]) == 0.0625 and float(buffers["input_offset"]) == 0.0
    # same parameters, same flat vector, same safetensors bytes as the spec without a transform
    reference = build(plain, seed=3)
    assert not list(reference.buffers()) and type(reference) is torch.nn.Sequential
    ours, theirs = state_dict_to_arrays(model), state_dict_to_arrays(reference)
    assert encode(ours, spec=spec) == encode(theirs, spec=plain)
    # and the weights load back into a transformed model (the buffers are not expected)
    model.load_state_dict(reference.state_dict(), strict=True)


def test_the_model_applies_its_transform() -> None:
    _, raw = raw_digits("test")
    scaled = torch.from_numpy(raw.x) / 16
    spec = with_input(logreg_digits(), RAW_DIGITS)
    with torch.no_grad():
        assert torch.equal(
            build(spec, seed=1)(torch.from_numpy(raw.x)), build(logreg_digits(), seed=1)(scaled)
        )
    standardised = with_input(
        logreg_digits(), {"range": [-3, 3], "transform": {"mean": 8, "std": 5}}
    )
    with torch.no_grad():
        got = build(standardised, seed=1)(torch.from_numpy(raw.x))
        want = build(logreg_digits(), seed=1)((torch.from_numpy(raw.x) - 8) / 5)
    torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-6)


def test_raw_data_with_the_transform_train_bit_identically_to_prescaled_data() -> None:
    torch.set_num_threads(1)
    scaled, raw = raw_digits("train")
    _, raw_test = raw_digits("test")
    scaled_test = load_digits("test")
    config = TrainingConfig(epochs=2, batch_size=32, lr=0.1, seed=7)
    plain, transformed = mlp_digits(), with_input(mlp_digits(), RAW_DIGITS)
    reference = train(plain, scaled, config)
    ours = train(transformed, raw, config)
    assert list(ours) == list(reference)
    for name in reference:
        assert np.array_equal(ours[name], reference[name]), name
    assert encode(ours, spec=transformed) == encode(reference, spec=plain)
    assert evaluate(transformed, ours, raw_test, "accuracy") == evaluate(
        plain, reference, scaled_test, "accuracy"
    )


def test_the_transformed_model_scripts_to_torchscript() -> None:
    spec = with_input(cnn_mnist(), {"range": [-1, 3], "transform": {"mean": 0.13, "std": 0.31}})
    model = build(spec, seed=0).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated in 2.13
        scripted = torch.jit.script(model)
    x = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(scripted(x), model(x))
