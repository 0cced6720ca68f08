"""Model weights by CID, verified against the content hash the chain records for it (or, for a
dag task's consensus model, the hash of the gateway's own recomputation)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.errors import ApiError, error_responses
from api.routes.common import CID_PATTERN, gateway_of
from ledgerlearn.errors import ContentHashMismatchError, ContentTooLargeError, StorageError

router = APIRouter(prefix="/models", tags=["models"])


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
        **error_responses(404, 422, 502, 504),
    },
)
async def download_model(
    request: Request,
    cid: Annotated[str, Path(pattern=CID_PATTERN, description="The model's CID.")],
) -> Response:
    """Download a model the ledger names (initial weights, update or proposed aggregate) or a
    dag task's consensus model by CID; its bytes are checked against the sha256 recorded on
    chain (consensus models: the sha256 of the gateway's recomputation) before they are sent."""
    gateway = gateway_of(request)
    found: tuple[int, bytes] | None = None
    source = "ledger"
    with gateway.lock:
        for task in gateway.index.tasks.values():
            p = task.params
            if p.initial_weights_cid == cid:
                found = (task.task_id, p.initial_weights_hash)
            for update in task.updates.values():
                if update.cid == cid:
                    found = (task.task_id, update.update)
            for record in task.rounds.values():
                for proposal in record.proposals.values():
                    if proposal.cid == cid:
                        found = (task.task_id, proposal.result_hash)
            if found is not None:
                break
    if found is None and gateway.consensus is not None:
        version = gateway.consensus.by_cid(cid)
        if version is not None:
            found, source = (version.task_id, version.content_hash), "consensus"
    if found is None:
        raise ApiError(404, f"no model with CID {cid} is recorded on this chain")
    task_id, digest = found
    timeout = gateway.settings.gateway.fetch_timeout_s
    try:
        data = await anyio.to_thread.run_sync(
            gateway.node.get, cid, digest, gateway.settings.storage.max_get_bytes, timeout
        )
    except ContentHashMismatchError as exc:
        raise ApiError(
            502, f"the content of {cid} does not match its on-chain hash: {exc}"
        ) from exc
    except ContentTooLargeError as exc:
        raise ApiError(502, str(exc)) from exc
    except StorageError as exc:
        raise ApiError(504, f"{cid} could not be fetched from IPFS in {timeout} s: {exc}") from exc
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "X-Content-Sha256": "0x" + digest.hex(),
            "X-Task-Id": str(task_id),
            "X-Model-Source": source,
            "Content-Disposition": f'attachment; filename="{cid}.safetensors"',
        },
    )
