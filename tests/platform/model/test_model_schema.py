"""The spec's JSON Schema: generated from the models, committed up to date, and agreeing with
the code on real and broken documents (checked with jsonschema_rs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from ledgerlearn.errors import ModelSpecError
from ledgerlearn.model import ModelSpec, cnn_mnist, logreg_digits, mlp_digits
from ledgerlearn.model.schema import SCHEMA_FILE, SCHEMA_ID, model_spec_schema, schema_bytes
from tests.platform.model.conftest import every_layer_document

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def validator() -> Any:
    return jsonschema_rs.Draft202012Validator(model_spec_schema())


def test_the_committed_schema_is_up_to_date() -> None:
    committed = ROOT / "docs" / "schemas" / SCHEMA_FILE
    assert committed.read_bytes() == schema_bytes(), "stale: run `make artifacts`"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_spec_schema.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_schema_names_itself_and_its_dialect() -> None:
    schema = json.loads(schema_bytes())
    assert schema["$id"] == SCHEMA_ID
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"input_shape", "num_classes", "layers", "input", "purpose"}
    assert schema["required"] == ["input_shape", "num_classes", "layers"]
    assert "``" not in schema_bytes().decode()  # plain text, not reStructuredText


def _documents() -> list[dict[str, Any]]:
    raw_pixels = logreg_digits().model_dump(mode="json", exclude_none=True)
    raw_pixels["input"] = {"range": [0, 1], "transform": {"scale": 0.0625}}
    standardised = cnn_mnist().model_dump(mode="json", exclude_none=True)
    standardised["input"] = {"range": [-3, 3], "transform": {"mean": [0.13], "std": [0.31]}}
    short_forms = {  # an integer for a pair, a pool's stride left out, no input section
        "input_shape": [1, 8, 8],
        "num_classes": 3,
        "layers": [
            {"type": "Conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"},
            {"type": "Linear", "in_features": 18, "out_features": 3},
        ],
    }
    presets = [json.loads(s.to_json()) for s in (logreg_digits(), mlp_digits(), cnn_mnist())]
    return [*presets, raw_pixels, standardised, short_forms, every_layer_document()]


@pytest.mark.parametrize("document", _documents())
def test_presets_and_valid_documents_validate(validator: Any, document: dict[str, Any]) -> None:
    assert validator.is_valid(document), [e.message for e in validator.iter_errors(document)]
    ModelSpec.from_dict(document)  # and the code takes them
    canonical = json.loads(ModelSpec.from_dict(document).to_json())
    assert validator.is_valid(canonical)


def _broken(change: dict[str, Any] | None = None, **layer: Any) -> dict[str, Any]:
    document = json.loads(logreg_digits().to_json())
    document["layers"][0].update(layer)
    document.update(change or {})
    return document


BROKEN = {
    "unknown layer": _broken(type="Lambda"),
    "code in a layer": _broken(code="import os"),
    "missing size": _broken({"layers": [{"type": "Linear", "in_features": 64}]}),
    "size as a string": _broken(out_features="10"),
    "size of zero": _broken(out_features=0),
    "bias as a number": _broken(bias=1),
    "no layers": _broken({"layers": []}),
    "rank 2 input": _broken({"input_shape": [8, 8, 1, 1]}),
    "one class": _broken({"num_classes": 1}),
    "unknown top-level field": _broken({"loss": "mse"}),
    "missing num_classes": {"input_shape": [64], "layers": [{"type": "ReLU"}]},
    "input without range": _broken({"input": {"description": "pixels"}}),
    "two transforms": _broken({"input": {"range": [0, 1], "transform": {"scale": 1, "std": 1}}}),
    "transform of strings": _broken({"input": {"range": [0, 1], "transform": {"scale": "16"}}}),
    "range of three": _broken({"input": {"range": [0, 1, 2]}}),
    "not an object": [1, 2, 3],
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_documents_fail_the_schema_and_the_code(validator: Any, name: str) -> None:
    document = BROKEN[name]
    assert not validator.is_valid(document), name
    with pytest.raises(ModelSpecError):
        ModelSpec.from_dict(document)  # type: ignore[arg-type]


def test_what_only_the_code_checks() -> None:
    # the shapes must chain and end in num_classes logits: the schema cannot say it
    document = _broken(in_features=63)
    schema = jsonschema_rs.Draft202012Validator(model_spec_schema())
    assert schema.is_valid(document)
    with pytest.raises(ModelSpecError, match=r"layer 0 \(Linear\): in_features=63"):
        ModelSpec.from_dict(document)
