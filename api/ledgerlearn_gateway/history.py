"""Every contract event the gateway has seen, kept in its SQLite database: the dashboard's
history of a task after the fact, and the event stream's replay when a client reconnects
after more than the hub keeps in memory.

Events are keyed by their position on chain (block, log index), so a gateway that replays
the chain after a restart stores each event once; pages are read newest first by position
(a keyset, stable while new events arrive).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ledgerlearn import strict_json
from ledgerlearn.chain.events import LedgerEvent
from ledgerlearn_gateway.database import Database
from ledgerlearn_gateway.events import event_json

__all__ = ["MAX_PAGE", "EventHistory", "Position"]

Position = tuple[int, int]
"""An event's place on chain: (block number, log index)."""

MAX_PAGE = 500
"""Most events one page (or one replay) holds."""


class EventHistory:
    """The events table of the gateway's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, events: Iterable[LedgerEvent]) -> None:
        """Keep ``events`` (already kept ones are left as they are)."""
        rows = []
        for event in events:
            body = event_json(event)
            task = body["args"].get("task_id")
            rows.append(
                (
                    event.block_number,
                    event.log_index,
                    event.name,
                    task if isinstance(task, int) else None,
                    json.dumps(body, separators=(",", ":")),
                )
            )
        if not rows:
            return
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO events (block, log_index, name, task_id, body) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def before(
        self, position: Position | None, task_id: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` events before ``position`` (all, without it), newest first."""
        block, log_index = position if position is not None else (2**62, 0)
        where = "(block < ? OR (block = ? AND log_index < ?))"
        args: list[Any] = [block, block, log_index]
        if task_id is not None:
            where += " AND task_id = ?"
            args.append(task_id)
        return self._select(where, "DESC", args, limit)

    def after(self, position: Position, task_id: int | None, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` events after ``position``, oldest first."""
        block, log_index = position
        where = "(block > ? OR (block = ? AND log_index > ?))"
        args: list[Any] = [block, block, log_index]
        if task_id is not None:
            where += " AND task_id = ?"
            args.append(task_id)
        return self._select(where, "ASC", args, limit)

    def count(self, task_id: int | None) -> int:
        """How many events are kept (of one task)."""
        with self.db.read() as conn:
            if task_id is None:
                row = conn.execute("SELECT COUNT(*) FROM events").fetchone()
            else:
                row = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE task_id = ?", (task_id,)
                ).fetchone()
        return int(row[0])

    def _select(self, where: str, order: str, args: list[Any], limit: int) -> list[dict[str, Any]]:
        query = (
            f"SELECT body FROM events WHERE {where} "  # noqa: S608 (fixed fragments, bound values)
            f"ORDER BY block {order}, log_index {order} LIMIT ?"
        )
        with self.db.read() as conn:
            rows = conn.execute(query, [*args, min(limit, MAX_PAGE)]).fetchall()
        return [strict_json.loads(body) for (body,) in rows]
