"""Contract events as server-sent events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from ledgerlearn_gateway.errors import error_responses
from ledgerlearn_gateway.history import MAX_PAGE, Position
from ledgerlearn_gateway.models import ChainEvent, EventPage
from ledgerlearn_gateway.routes.common import DIGITS_ONLY, GatewayDep, Limit
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(tags=["events"], route_class=StrictRoute)
HEARTBEAT_S = 15.0
EVENT_ID_PATTERN = r"^[0-9]{1,12}-[0-9]{1,6}$"
"""An event id: block-logIndex."""


TaskFilter = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="Only this task's events."), DIGITS_ONLY
]


def _position(text: str | None) -> Position | None:
    """(block, log index) of an event id already checked against :data:`EVENT_ID_PATTERN`."""
    if not text:
        return None
    block, _, log_index = text.partition("-")
    return int(block), int(log_index)


def _frame(event: dict[str, Any]) -> str:
    return f"id: {event['id']}\nevent: {event['name']}\ndata: {json.dumps(event)}\n\n"


def _at(event: dict[str, Any]) -> Position:
    return event["block_number"], event["log_index"]


@router.get("/events/history", response_model=EventPage, responses=error_responses(422))
async def event_history(
    gateway: GatewayDep,
    task_id: TaskFilter = None,
    before: Annotated[
        str | None,
        Query(pattern=EVENT_ID_PATTERN, description="Events before this id (the next page)."),
    ] = None,
    limit: Limit = 100,
) -> EventPage:
    """The contract events the gateway has seen, newest first, a page at a time: what
    happened before a client started listening to ``/events`` (open it with ``since`` = the
    newest id here: no gap, no event twice)."""
    items = await anyio.to_thread.run_sync(
        gateway.history.before, _position(before), task_id, limit
    )
    more = len(items) == limit and bool(
        await anyio.to_thread.run_sync(gateway.history.before, _at(items[-1]), task_id, 1)
    )
    return EventPage(
        items=[ChainEvent(**item) for item in items],
        next_before=items[-1]["id"] if more else None,
    )


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
    task_id: TaskFilter = None,
    last_event_id: Annotated[
        str | None, Header(pattern=EVENT_ID_PATTERN, include_in_schema=False)
    ] = None,
) -> StreamingResponse:
    """The consortium's contract events as they are mined (server-sent events). A client
    that reconnects with ``Last-Event-ID`` (or ``since``) first gets every event it missed,
    from the gateway's history."""
    hub = gateway.hub
    queue = hub.subscribe()  # before the history is read: nothing falls in between
    start = _position(since or last_event_id)

    def wanted(event: dict[str, Any]) -> bool:
        return task_id is None or event["args"].get("task_id") == task_id

    async def frames() -> AsyncIterator[str]:
        sent = start  # where the last event sent stands (None: only new events are sent)
        try:
            yield ": ledgerlearn events\n\n"
            while sent is not None:  # the history after `since`, a page at a time
                page = await anyio.to_thread.run_sync(
                    gateway.history.after, sent, task_id, MAX_PAGE
                )
                for old in page:
                    yield _frame(old)
                if page:
                    sent = _at(page[-1])
                if len(page) < MAX_PAGE:
                    break
            while True:
                try:
                    new: dict[str, Any] | None = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": heartbeat\n\n"
                    continue
                if new is None:  # fell too far behind: the client reconnects
                    return
                if wanted(new) and (sent is None or _at(new) > sent):
                    sent = _at(new)
                    yield _frame(new)
        finally:
            hub.unsubscribe(queue)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
