"""What a committee member keeps serving for each task, and until when (issue 15, section 3).

The publisher's node is the first holder of a task's model spec, initial weights and
validation fragments, and a provider's node the first holder of its update; either may go
away. So a committee member pins what the task needs as it fetches it — the spec, the initial
weights and every base model it builds on, its own fragment, every update it scores, every
round's aggregate it fetches or proposes — and serves it to the others (providers fetch a
round's base model from whoever has it). :class:`TaskPins` records which task each pin is for
(one file, rewritten atomically) and releases a task's pins once it closed and
``grace_blocks`` more blocks passed (a late reader, the gateway exporting the final model, a
member catching up after a partition still find them); content another open task still uses
stays pinned. Content that was on this node before it was fetched for a task (its own, or on
a node shared by a simulation's agents) is never unpinned by it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ledgerlearn import strict_json
from ledgerlearn.chain.index import LedgerIndex
from ledgerlearn.errors import StorageError
from ledgerlearn.flows.ports import ContentStore

__all__ = ["PIN_GRACE_BLOCKS", "TaskPins"]

log = logging.getLogger(__name__)

PIN_GRACE_BLOCKS = 600
"""Blocks a closed task's content stays pinned (10 minutes at a block a second)."""


class TaskPins:
    """The CIDs pinned for each task; released after the task closed plus a grace period."""

    def __init__(
        self, store: ContentStore, path: Path | None, grace_blocks: int = PIN_GRACE_BLOCKS
    ) -> None:
        self.store = store
        self.path = path
        self.grace_blocks = grace_blocks
        self.tasks: dict[int, set[str]] = {}
        self.released = 0
        """Pins released so far by this process."""
        if path is not None and path.exists():
            saved = strict_json.load_file(path)
            self.tasks = {int(t): set(cids) for t, cids in saved.items()}

    def fetched(self, task_id: int, cid: str, was_here: bool) -> None:
        """``cid`` was fetched with ``pin=True`` for ``task_id``; ``was_here``: this node had
        it before (then it is not this task's to release)."""
        if was_here or cid in self.tasks.get(task_id, set()):
            return
        self.tasks.setdefault(task_id, set()).add(cid)
        self._save()

    def kept(self) -> int:
        """How many CIDs are pinned for a task."""
        return len(set().union(*self.tasks.values())) if self.tasks else 0

    def release(self, index: LedgerIndex, head: int) -> list[str]:
        """Unpin the content of tasks closed at least ``grace_blocks`` before ``head`` that no
        other kept task uses; returns the CIDs unpinned."""
        done = [
            t
            for t, record in index.tasks.items()
            if t in self.tasks
            and record.closed_block is not None
            and head - record.closed_block >= self.grace_blocks
        ]
        if not done:
            return []
        freed = set().union(*(self.tasks.pop(t) for t in done))
        freed -= set().union(*self.tasks.values()) if self.tasks else set()
        unpinned = []
        for cid in sorted(freed):
            try:
                self.store.unpin(cid)
                unpinned.append(cid)
            except StorageError as exc:  # kept pinned; said, and not tried again
                log.warning("could not unpin %s after its task closed: %s", cid, exc)
        self.released += len(unpinned)
        self._save()
        log.info(
            "released %d pins of closed task(s) %s (closed %d+ blocks ago)",
            len(unpinned),
            ", ".join(map(str, done)),
            self.grace_blocks,
        )
        return unpinned

    def _save(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {str(t): sorted(cids) for t, cids in sorted(self.tasks.items())}
            strict_json.write_file(self.path, data)
