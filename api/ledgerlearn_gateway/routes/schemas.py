"""The JSON Schemas of the documents the consortium exchanges, at stable URLs, open to all.

``GET /schemas/model-spec.v1.json``: the model spec's schema (:mod:`ledgerlearn.model.schema`,
generated from the pydantic models that define a spec; ``docs/schemas/`` holds the same
bytes), served as ``application/schema+json`` without a signature, even when the gateway's
reads are closed.
"""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import Response

from ledgerlearn.model.schema import SCHEMA_FILE, schema_bytes
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/schemas", tags=["schemas"], route_class=StrictRoute)

SCHEMA_MEDIA_TYPE = "application/schema+json"


@cache
def _model_spec_schema() -> bytes:
    return schema_bytes()


@router.get(
    f"/{SCHEMA_FILE}",
    response_class=Response,
    responses={
        200: {
            "content": {SCHEMA_MEDIA_TYPE: {"schema": {"type": "object"}}},
            "description": "The JSON Schema (draft 2020-12) of a model spec, version 1.",
        }
    },
)
def model_spec_schema() -> Response:
    """The JSON Schema of a model spec (version 1), generated from the models that define
    it. It gives the fields and their types; the code also checks that the shapes chain,
    and the caps."""
    return Response(
        _model_spec_schema(),
        media_type=SCHEMA_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=3600"},
    )
