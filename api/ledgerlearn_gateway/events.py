"""Contract events for the server-sent-events stream: a fan-out to every subscriber."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from ledgerlearn.chain.events import LedgerEvent

SUBSCRIBER_QUEUE = 10_000
"""Events buffered per subscriber; a subscriber that falls further behind is disconnected."""


def jsonable(value: Any) -> Any:
    """Event values as JSON: bytes as 0x-hex, lists and dicts recursively."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def event_json(event: LedgerEvent) -> dict[str, Any]:
    """One event as the stream sends it."""
    return {
        "id": f"{event.block_number}-{event.log_index}",
        "name": event.name,
        "contract": event.contract,
        "block_number": event.block_number,
        "log_index": event.log_index,
        "tx_hash": "0x" + event.tx_hash.hex(),
        "args": jsonable(event.args),
    }


class EventHub:
    """Hands new events to every subscriber's queue (what came before is in the gateway's
    :class:`~ledgerlearn_gateway.history.EventHistory`).

    :meth:`publish` is called from the gateway's sync thread; subscribers are asyncio queues
    of the server's event loop.
    """

    def __init__(self) -> None:
        self._subscribers: dict[
            asyncio.Queue[dict[str, Any] | None], asyncio.AbstractEventLoop
        ] = {}
        self._lock = threading.Lock()

    def publish(self, events: Iterable[LedgerEvent]) -> None:
        """Fan new events out (in on-chain order)."""
        items = [event_json(e) for e in events]
        if not items:
            return
        with self._lock:
            subscribers = list(self._subscribers.items())
        for queue, loop in subscribers:
            for item in items:
                loop.call_soon_threadsafe(self._offer, queue, item)

    def _offer(self, queue: asyncio.Queue[dict[str, Any] | None], item: dict[str, Any]) -> None:
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:  # too slow: end its stream; it reconnects with Last-Event-ID
            self.unsubscribe(queue)
            queue.get_nowait()
            queue.put_nowait(None)

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        """A queue of the events published from now on."""
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(SUBSCRIBER_QUEUE)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Stop sending to ``queue``."""
        with self._lock:
            self._subscribers.pop(queue, None)

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        with self._lock:
            return len(self._subscribers)
