"""Contract events as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from ledgerlearn_gateway.errors import error_responses
from ledgerlearn_gateway.models import ChainEvent
from ledgerlearn_gateway.routes.common import DIGITS_ONLY, GatewayDep
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(tags=["events"], route_class=StrictRoute)
HEARTBEAT_S = 15.0
EVENT_ID_PATTERN = r"^[0-9]{1,12}-[0-9]{1,6}$"
"""An event id: block-logIndex."""


def _position(text: str | None) -> tuple[int, int] | None:
    """(block, log index) of an event id already checked against :data:`EVENT_ID_PATTERN`."""
    if not text:
        return None
    block, _, log_index = text.partition("-")
    return int(block), int(log_index)


def _frame(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: {event['name']}\ndata: {json.dumps(event)}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/event-stream: one event per contract event (`event:` its "
            "name, `id:` block-logIndex, `data:` a ChainEvent as JSON).",
            "content": {"text/event-stream": {"schema": ChainEvent.model_json_schema()}},
        },
        **error_responses(422),
    },
)
async def stream_events(
    gateway: GatewayDep,
    since: Annotated[
        str | None,
        Query(pattern=EVENT_ID_PATTERN, description="Replay kept events after this id."),
    ] = None,
    task_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Only this task's events."), DIGITS_ONLY
    ] = None,
    last_event_id: Annotated[
        str | None, Header(pattern=EVENT_ID_PATTERN, include_in_schema=False)
    ] = None,
) -> StreamingResponse:
    """The consortium's contract events as they are mined (server-sent events). A client
    that reconnects with ``Last-Event-ID`` (or ``since``) gets the kept events it missed."""
    hub = gateway.hub
    queue, backlog = hub.subscribe(_position(since or last_event_id))

    def wanted(event: dict[str, Any]) -> bool:
        return task_id is None or event["args"].get("task_id") == task_id

    async def frames() -> AsyncIterator[str]:
        try:
            yield ": ledgerlearn events\n\n"
            for old in backlog:
                if wanted(old):
                    yield _frame(old)
            while True:
                try:
                    new: dict[str, Any] | None = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if new is None:  # fell too far behind: the client reconnects
                    return
                if wanted(new):
                    yield _frame(new)
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
