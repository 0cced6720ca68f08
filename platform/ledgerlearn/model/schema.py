"""The JSON Schema of a model spec, generated from the pydantic models that define it.

:func:`model_spec_schema` is :meth:`ModelSpec.model_json_schema` (validation mode: what a
document may say, e.g. ``kernel_size: 3`` as well as ``[3, 3]``, a pool's ``stride`` left
out) with an ``$id``, a title and a description. The schema says which fields, types and
per-field bounds a document has; the code says the rest, and is what decides: shapes that
must chain from layer to layer, the output of ``num_classes`` logits, the caps on parameters,
activations, compute and document size, a transform's coefficients per input channel. A
document the schema accepts may still be refused, with a message naming the layer; a document
it refuses is refused by the code too.

Version 1 is the format of every spec published so far (``input`` is optional, so the
documents written before it existed are still version 1). ``scripts/gen_spec_schema.py``
writes it to ``docs/schemas/model-spec.v1.json``; the gateway serves it at
``/schemas/model-spec.v1.json``.
"""

from __future__ import annotations

import json
from typing import Any

from ledgerlearn.limits import MAX_PARAMETERS, MAX_SPEC_BYTES
from ledgerlearn.model.spec import DEFAULT_LIMITS, ModelSpec

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "model_spec_schema", "schema_bytes"]

SCHEMA_FILE = "model-spec.v1.json"
"""The schema's file name (in ``docs/schemas/`` and under the gateway's ``/schemas/``)."""

SCHEMA_ID = "urn:ledgerlearn:schema:model-spec:v1"
"""The schema's ``$id``: a name, not a location (every gateway serves the schema at its own
address)."""

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def model_spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a model spec document, version 1."""
    generated = ModelSpec.model_json_schema(mode="validation")
    generated.pop("description", None)  # the class's docstring, written for Python readers
    generated.pop("title", None)
    schema: dict[str, Any] = {
        "$schema": _DIALECT,
        "$id": SCHEMA_ID,
        "title": "ledgerlearn model spec, version 1",
        "description": (
            "A model as data: the shape of one input sample, the number of classes, a "
            "sequence of layers from a closed allowlist, and optionally what the model "
            "expects of its input. The schema gives the fields and their types; the code "
            "also checks that the shapes chain from layer to layer, that the last layer "
            f"outputs num_classes logits, and the caps: at most {MAX_PARAMETERS} parameters, "
            f"{DEFAULT_LIMITS.max_layers} layers, {DEFAULT_LIMITS.max_activation_elements} "
            "activation values and "
            f"{DEFAULT_LIMITS.max_macs_per_sample} multiply-accumulates per sample, "
            f"{MAX_SPEC_BYTES} bytes of JSON. The canonical form (defaults filled in, sorted "
            "keys, no whitespace, absent optional sections left out) is what is hashed "
            "(sha256) and recorded on chain. See docs/model-spec.md."
        ),
        **generated,
    }
    plain: dict[str, Any] = _plain_text(schema)
    return plain


def schema_bytes() -> bytes:
    """The schema as the file and the gateway serve it: 2-space JSON, ASCII, a final newline."""
    return (json.dumps(model_spec_schema(), indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _plain_text(value: Any) -> Any:
    """Descriptions without reStructuredText's double backquotes (``x`` -> `x`)."""
    if isinstance(value, dict):
        return {
            key: (
                item.replace("``", "`")
                if key == "description" and isinstance(item, str)
                else _plain_text(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_plain_text(item) for item in value]
    return value
