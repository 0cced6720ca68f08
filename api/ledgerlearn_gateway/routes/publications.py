"""Publications prepared by ``POST /tasks``: their status, and the publisher's signature."""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from ledgerlearn_gateway.auth import (
    ROLE_EXTRA,
    address_scheme,
    nonce_scheme,
    signature_scheme,
    signer_of,
    timestamp_scheme,
)
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.models import Publication, SignatureIn
from ledgerlearn_gateway.publications import Publications
from ledgerlearn_gateway.routes.common import GatewayDep
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/publications", tags=["tasks"], route_class=StrictRoute)
PublicationId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="From POST /tasks.")]


def _publications(gateway: GatewayDep) -> Publications:
    publications = gateway.publications
    if publications is None:
        raise ApiError(503, "this gateway has no relayer key: it cannot relay publications")
    return publications


PublicationsDep = Annotated[Publications, Depends(_publications)]
"""The gateway's publications (503 when it has no relayer key)."""


@router.get(
    "/{publication_id}", response_model=Publication, responses=error_responses(404, 422, 503)
)
def get_publication(publications: PublicationsDep, publication_id: PublicationId) -> Publication:
    """A prepared publication and how far it got (prepared, submitted, published, failed,
    expired)."""
    publication: Publication = publications.get(publication_id)
    return publication


@router.post(
    "/{publication_id}/signature",
    response_model=Publication,
    status_code=201,
    openapi_extra={ROLE_EXTRA: "PUBLISHER"},
    dependencies=[
        Depends(address_scheme),
        Depends(timestamp_scheme),
        Depends(nonce_scheme),
        Depends(signature_scheme),
    ],
    responses={
        202: {"model": Publication, "description": "relayed, its block not there yet"},
        **error_responses(401, 403, 404, 409, 413, 422, 503),
    },
)
async def submit_signature(
    request: Request,
    publications: PublicationsDep,
    publication_id: PublicationId,
    body: SignatureIn,
) -> JSONResponse:
    """Submit the publisher's signature of a prepared publication (step 3 of 3): the gateway
    relays ``publishTaskFor`` with its own key. 201 with the task id once mined; 202 while its
    block has not come (poll ``GET /publications/{id}``). Signed by the publisher."""
    signer = signer_of(request)
    publication: Publication = await anyio.to_thread.run_sync(
        publications.submit, publication_id, signer, body.signature
    )
    status = 201 if publication.status == "published" else 202
    return JSONResponse(publication.model_dump(mode="json"), status_code=status)
