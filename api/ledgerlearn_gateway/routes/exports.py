"""A task's model card and its model in the formats people deploy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from ledgerlearn.errors import AgentError, ExportError
from ledgerlearn.flows.models import NoModelError
from ledgerlearn.model.export import Format
from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.exports import ExportBusyError
from ledgerlearn_gateway.routes.common import DIGITS_ONLY, GatewayDep, TaskId, task_or_404
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/tasks", tags=["models"], route_class=StrictRoute)

MEDIA_TYPES: dict[str, str] = {
    "safetensors": "application/octet-stream",
    "torchscript": "application/octet-stream",
    "onnx": "application/octet-stream",
}


async def _run(gateway: Any, task_id: int, job: Any, *args: Any) -> Any:
    with gateway.lock:
        task_or_404(gateway, task_id)
    try:
        return await anyio.to_thread.run_sync(job, task_id, *args)
    except ExportBusyError as exc:
        retry = str(gateway.settings.gateway.retry_after_s)
        raise ApiError(503, str(exc), headers={"Retry-After": retry}) from None
    except NoModelError as exc:
        raise ApiError(409, str(exc)) from None
    except AgentError as exc:  # not indexed yet by the export's own reader
        raise ApiError(404, str(exc)) from None
    except ExportError as exc:
        raise ApiError(500, f"the export failed: {exc}") from None


@router.get(
    "/{task_id}/card",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "The task's model card: what was trained, on what, by whom, how "
            "it was decided, and the receipts that let anyone re-verify it (JSON, or "
            "`?format=markdown` for text/markdown).",
            "content": {"application/json": {}, "text/markdown": {}},
        },
        **error_responses(404, 422, 503),
    },
)
async def get_card(
    gateway: GatewayDep,
    task_id: TaskId,
    format: Annotated[Literal["json", "markdown"], Query(description="json or markdown.")] = "json",
) -> Response:
    """The task's model card as the chain stands now (``ledgerlearn model card``)."""
    card = await _run(gateway, task_id, gateway.exports.card)
    if format == "markdown":
        return PlainTextResponse(card.to_markdown(), media_type="text/markdown; charset=utf-8")
    return JSONResponse(card.as_json())


@router.get(
    "/{task_id}/model/export",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The model file (safetensors: the on-chain bytes; torchscript: "
            "model.pt; onnx: model.onnx with a dynamic batch dimension). Headers: "
            "`X-Ledgerlearn-Content-Hash` (sha256 of the safetensors weights, as on chain) and "
            "`X-Ledgerlearn-Source`.",
            "content": {"application/octet-stream": {}},
        },
        **error_responses(404, 409, 422, 503),
    },
)
async def export_model(
    gateway: GatewayDep,
    task_id: TaskId,
    format: Annotated[Format, Query(description="safetensors, torchscript or onnx.")] = "onnx",
    round: Annotated[
        int | None,
        Query(ge=1, le=2**32 - 1, description="A federation round (default: the last finalized)."),
        DIGITS_ONLY,
    ] = None,
) -> FileResponse:
    """The task's model (a round's result, or a dag task's consensus model) in a format people
    deploy (``ledgerlearn model get``); made once per model and format, one at a time."""
    exported = await _run(gateway, task_id, gateway.exports.export, format, round)
    model = exported.model
    name = f"task-{task_id}" + (f"-round-{model.round}" if model.round else "")
    return FileResponse(
        exported.path,
        media_type=MEDIA_TYPES[format],
        filename=f"{name}-{exported.path.name}",
        headers={
            "X-Ledgerlearn-Content-Hash": "0x" + model.content_hash.hex(),
            "X-Ledgerlearn-Source": model.source.encode("ascii", "replace").decode("ascii"),
        },
    )
