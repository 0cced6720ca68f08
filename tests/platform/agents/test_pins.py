"""What a committee member keeps for its tasks (issue 15, section 3), on a real IPFS node: the
pins of a task are released once it closed and the grace period passed, except content an
open task still uses; content the node held before is never released by a task; the record
survives a restart."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ledgerlearn.agents.pins import TaskPins
from ledgerlearn.config import StorageSettings
from ledgerlearn.storage import IpfsNode


@dataclass
class ClosedAt:
    """A stand-in for a task record (named as such): only when it closed matters here."""

    closed_block: int | None


@dataclass
class Index:
    """A stand-in for the ledger index: the tasks' closing blocks."""

    tasks: dict[int, ClosedAt] = field(default_factory=dict)


def test_a_closed_tasks_pins_are_released_after_the_grace_period(tmp_path: Path) -> None:
    node = IpfsNode(StorageSettings(repo_dir=tmp_path / "ipfs")).start()
    try:
        spec, update, other = (node.put(os.urandom(5_000))[0] for _ in range(3))
        own, _ = node.put(b"this member's own content, held before any task")
        pins = TaskPins(node, tmp_path / "pins.json", grace_blocks=10)
        pins.fetched(1, spec, was_here=False)  # the spec: used by tasks 1 and 2
        pins.fetched(2, spec, was_here=False)
        pins.fetched(1, update, was_here=False)
        pins.fetched(1, own, was_here=True)  # not task 1's to release
        pins.fetched(2, other, was_here=False)
        assert pins.kept() == 3
        index = Index({1: ClosedAt(100), 2: ClosedAt(None)})

        def release(head: int) -> list[str]:
            return pins.release(index, head)  # type: ignore[arg-type]

        assert release(109) == []  # within the grace period
        assert all(node.has(cid) for cid in (spec, update, other, own))
        assert release(110) == [update]  # the spec is still task 2's
        assert not node.has(update) and node.has(spec) and node.has(own)
        again = TaskPins(node, tmp_path / "pins.json", grace_blocks=10)  # after a restart
        assert again.tasks == {2: {spec, other}}
        index.tasks[2] = ClosedAt(200)
        assert sorted(again.release(index, 300)) == sorted([spec, other])  # type: ignore[arg-type]
        assert not node.has(spec) and not node.has(other) and node.has(own)
        assert again.kept() == 0 and again.release(index, 400) == []  # type: ignore[arg-type]
    finally:
        node.stop()
