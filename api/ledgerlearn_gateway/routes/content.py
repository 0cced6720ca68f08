"""Every content the chain names, by CID, checked against the hash recorded for it.

``GET /content/{cid}`` serves a task's model spec (JSON), initial weights, updates, proposed
aggregates, rounds' base models and dag consensus models (safetensors), each only once its
bytes match the sha256 the chain records (a consensus model: the hash of the gateway's
recomputation). Validation fragments are named on chain too, but each is ciphertext for one
committee member: 403. ``/models/{cid}`` (:mod:`ledgerlearn_gateway.routes.models`) is the
same for models only; both fetch through :class:`~ledgerlearn_gateway.content.ContentFetches`.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Path
from fastapi.responses import Response

from ledgerlearn.errors import ContentHashMismatchError, ContentTooLargeError, StorageError
from ledgerlearn_gateway.content import Busy, RecentlyFailed
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.named import NamedContent, named_content
from ledgerlearn_gateway.routes.common import CID_PATTERN, GatewayDep
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/content", tags=["models"], route_class=StrictRoute)

CidPath = Annotated[str, Path(pattern=CID_PATTERN, description="The content's CID.")]


@router.get(
    "/{cid}",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The bytes, as the chain names them: a model spec as JSON, models "
            "as safetensors. X-Content-Sha256 is the on-chain hash (consensus models: the "
            "recomputed one), X-Content-Kind what the content is to task X-Task-Id.",
        },
        **error_responses(403, 404, 422, 502, 503, 504),
    },
)
async def download_content(gateway: GatewayDep, cid: CidPath) -> Response:
    """Download any content a task names by CID: its model spec, initial weights, updates,
    proposed aggregates, base models and dag consensus models; the bytes are checked against
    the sha256 recorded on chain before they are sent. Validation fragments: 403 (each is
    encrypted for one committee member)."""
    found = await lookup(gateway, cid)
    if found.kind == "validation fragment":
        raise ApiError(
            403,
            f"{cid} is a validation fragment of task {found.task_id}: ciphertext only committee "
            f"member {found.member} can read; it is not served",
        )
    return await serve(gateway, cid, found)


async def lookup(gateway: Gateway, cid: str) -> NamedContent:
    """What the chain names by ``cid`` (404 when nothing does). A CID whose fetch failed
    recently is answered with that failure at once, without a lookup."""
    remembered = gateway.downloads.unavailable(cid)
    if remembered is not None:  # a flood of it costs no lookup, no fetch, little CPU
        await anyio.sleep(gateway.settings.gateway.unavailable_pace_s)
        raise _fetch_error(cid, remembered.error, remembered.retry_after_s, remembered=True)
    # under the index lock, which the sync thread holds while it reads the chain: not on
    # the event loop
    found = await anyio.to_thread.run_sync(named_content, gateway, cid)
    if found is None:
        raise ApiError(404, f"no content with CID {cid} is recorded on this chain")
    return found


async def fetch(gateway: Gateway, cid: str, digest: bytes) -> bytes:
    """The bytes of ``cid`` once they match ``digest`` (503 when too many fetches wait, 502
    when the bytes do not match, 504 when no peer serves them)."""
    try:
        return await gateway.downloads.get(cid, digest)
    except Busy as exc:
        raise ApiError(
            503,
            f"too many downloads wait for IPFS; retry in {exc.retry_after_s} s",
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    except RecentlyFailed as exc:
        await anyio.sleep(gateway.settings.gateway.unavailable_pace_s)
        raise _fetch_error(cid, exc.error, exc.retry_after_s, remembered=True) from None
    except StorageError as exc:
        retry = max(1, round(gateway.downloads.unavailable_ttl_s))
        raise _fetch_error(cid, exc, retry, remembered=False) from None


async def serve(gateway: Gateway, cid: str, found: NamedContent) -> Response:
    """The response carrying the checked bytes of ``cid``."""
    data = await fetch(gateway, cid, found.digest)
    spec = found.kind == "model spec"
    headers = {
        "X-Content-Sha256": "0x" + found.digest.hex(),
        "X-Task-Id": str(found.task_id),
        "X-Content-Kind": found.kind,
        "Content-Disposition": f'attachment; filename="{cid}.{"json" if spec else "safetensors"}"',
    }
    if found.is_model:
        headers["X-Model-Source"] = found.source
    return Response(
        data,
        media_type="application/json" if spec else "application/octet-stream",
        headers=headers,
    )


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
