"""Model weights by CID, verified against the content hash the chain records for it (or, for a
dag task's consensus model, the hash of the gateway's own recomputation). Any other content a
task names (its model spec) is at ``/content/{cid}`` (:mod:`ledgerlearn_gateway.routes.content`)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.routes.common import GatewayDep
from ledgerlearn_gateway.routes.content import CidPath, lookup, serve
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/models", tags=["models"], route_class=StrictRoute)


@router.get(
    "/{cid}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "The safetensors bytes; X-Content-Sha256 is the on-chain hash "
            "(consensus models: the recomputed one; X-Model-Source says which).",
        },
        **error_responses(404, 422, 502, 503, 504),
    },
)
async def download_model(gateway: GatewayDep, cid: CidPath) -> Response:
    """Download a model the ledger names (initial weights, update, proposed aggregate or a
    round's base model) or a dag task's consensus model by CID; its bytes are checked against
    the sha256 recorded on chain (consensus models: the sha256 of the gateway's recomputation)
    before they are sent. Other content (a model spec): `/content/{cid}`."""
    found = await lookup(gateway, cid)
    if not found.is_model:
        raise ApiError(
            404,
            f"{cid} is the {found.kind} of task {found.task_id}, not a model; "
            f"GET /content/{cid} serves what the chain names",
        )
    return await serve(gateway, cid, found)
