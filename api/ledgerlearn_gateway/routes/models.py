"""Model weights by CID, verified against the content hash the chain records for it (or, for a
dag task's consensus model, the hash of the gateway's own recomputation)."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path
from fastapi.responses import Response

from ledgerlearn.errors import ContentHashMismatchError, ContentTooLargeError, StorageError
from ledgerlearn_gateway.content import Busy, RecentlyFailed
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.routes.common import CID_PATTERN, GatewayDep
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
async def download_model(
    gateway: GatewayDep,
    cid: Annotated[str, Path(pattern=CID_PATTERN, description="The model's CID.")],
) -> Response:
    """Download a model the ledger names (initial weights, update or proposed aggregate) or a
    dag task's consensus model by CID; its bytes are checked against the sha256 recorded on
    chain (consensus models: the sha256 of the gateway's recomputation) before they are sent."""
    pace = gateway.settings.gateway.unavailable_pace_s
    remembered = gateway.downloads.unavailable(cid)
    if remembered is not None:  # a flood of it costs no lookup, no fetch, little CPU
        await anyio.sleep(pace)
        raise _fetch_error(cid, remembered.error, remembered.retry_after_s, remembered=True)
    # under the index lock, which the sync thread holds while it reads the chain: not on
    # the event loop
    found = await anyio.to_thread.run_sync(_recorded, gateway, cid)
    if found is None:
        raise ApiError(404, f"no model with CID {cid} is recorded on this chain")
    task_id, digest, source = found
    try:
        data = await gateway.downloads.get(cid, digest)
    except Busy as exc:
        raise ApiError(
            503,
            f"too many downloads wait for IPFS; retry in {exc.retry_after_s} s",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    except RecentlyFailed as exc:
        await anyio.sleep(pace)
        raise _fetch_error(cid, exc.error, exc.retry_after_s, remembered=True) from None
    except StorageError as exc:
        retry = max(1, round(gateway.downloads.unavailable_ttl_s))
        raise _fetch_error(cid, exc, retry, remembered=False) from None
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


def _recorded(gateway: Gateway, cid: str) -> tuple[int, bytes, str] | None:
    """The task and content hash the chain (or the gateway's consensus) records for ``cid``."""
    with gateway.lock:
        for task in gateway.index.tasks.values():
            p = task.params
            if p.initial_weights_cid == cid:
                return task.task_id, p.initial_weights_hash, "ledger"
            for update in task.updates.values():
                if update.cid == cid:
                    return task.task_id, update.update, "ledger"
            for record in task.rounds.values():
                for proposal in record.proposals.values():
                    if proposal.cid == cid:
                        return task.task_id, proposal.result_hash, "ledger"
    if gateway.consensus is not None:
        version = gateway.consensus.by_cid(cid)
        if version is not None:
            return version.task_id, version.content_hash, "consensus"
    return None


def _fetch_error(cid: str, exc: StorageError, retry_after_s: int, *, remembered: bool) -> ApiError:
    when = "its last fetch failed" if remembered else "the fetch failed"
    retry = f"; {when}, the gateway tries again after {retry_after_s} s"
    headers = {"Retry-After": str(retry_after_s)}
    if isinstance(exc, ContentHashMismatchError):
        message = f"the content of {cid} does not match its on-chain hash: {exc}{retry}"
        return ApiError(502, message, headers=headers)
    if isinstance(exc, ContentTooLargeError):
        return ApiError(502, f"{exc}{retry}", headers=headers)
    return ApiError(504, f"{cid} could not be fetched from IPFS: {exc}{retry}", headers=headers)
