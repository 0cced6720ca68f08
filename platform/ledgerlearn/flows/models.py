"""Which model of a task a person takes out and uses, and how anyone re-verifies it.

A task's flow decides which model is its result (its strategy answers
:meth:`~ledgerlearn.flows.base.FlowStrategy.model`): a federation task's is a finalized
round's result, by default the last one (what the gateway's ``/tasks/{id}/model`` serves); a
dag task's is its consensus model, the robust aggregate of its best tips as the DAG stood at a
block (what ``ledgerlearn dag consensus`` computes). Either way the answer is the model's
bytes, checked against the hash the chain records or recomputed from bytes that are, and where
it came from. :meth:`~ledgerlearn.flows.base.FlowStrategy.verify` recomputes a task's models
from the updates the chain names, as its committee did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledgerlearn.errors import AgentError

__all__ = ["NoModelError", "TaskModel", "Verification"]


class NoModelError(AgentError):
    """The task has no such model (yet): a round not finalized, nothing accepted so far."""


@dataclass(frozen=True)
class TaskModel:
    """A model of a task, with where it came from."""

    task_id: int
    content: bytes
    """Its safetensors bytes (verified against :attr:`content_hash`)."""
    content_hash: bytes
    """sha256 of :attr:`content`."""
    source: str
    """Where it came from, for a person ("result of round 3 of 3, finalized at block 212")."""
    cids: tuple[str, ...] = ()
    """Where the members serve it (none for a model computed here: a dag consensus model)."""
    round: int | None = None
    """The federation round whose result it is."""
    block: int | None = None
    """The block it was finalized in (federation) or the DAG was read at (dag)."""
    parts: tuple[bytes, ...] = ()
    """The models it aggregates when computed here (a dag consensus model's tips)."""

    def as_json(self) -> dict[str, Any]:
        """Everything but the bytes, hashes as 0x-hex."""
        return {
            "task": self.task_id,
            "content_hash": "0x" + self.content_hash.hex(),
            "bytes": len(self.content),
            "source": self.source,
            "cids": list(self.cids),
            "round": self.round,
            "block": self.block,
            "parts": ["0x" + p.hex() for p in self.parts],
        }


@dataclass(frozen=True)
class Verification:
    """One model of a task recomputed from what the chain names."""

    what: str
    """Which model ("round 2's result")."""
    recorded: bytes | None
    """The content hash the chain records for it (None: the chain records none, as for a dag
    consensus model; the recomputed hash is then the answer)."""
    recomputed: bytes
    """The content hash of the recomputation."""
    ok: bool
    """Whether the recomputation confirms the record."""
    how: str
    """What was recomputed, or why it could not be ("median of 3 accepted updates";
    "identical bytes"; "within the committee's tolerance")."""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "recorded": None if self.recorded is None else "0x" + self.recorded.hex(),
            "recomputed": "0x" + self.recomputed.hex(),
            "ok": self.ok,
            "how": self.how,
            **self.extra,
        }
