"""What the chain names by a CID: which task's content it is, of what kind, under which hash.

Every content of a task is named on chain with its sha256: the model spec, the initial
weights, one encrypted validation fragment per committee member (``TaskPublished``), the
updates (``UpdateSubmitted``), the proposed aggregates (the proposer's CID, those added to
it, the attesters' own) and each round's base model. A dag task's consensus model is the
gateway's own recomputation, named by the hash of its bytes. :func:`named_content` finds a CID
among them; the routes serve the bytes once they match that hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledgerlearn_gateway.gateway import Gateway

__all__ = ["ContentKind", "NamedContent", "named_content"]

ContentKind = Literal[
    "model spec",
    "initial weights",
    "validation fragment",
    "update",
    "proposed aggregate",
    "round base model",
    "consensus model",
]
"""What a content is to its task."""

MODEL_KINDS: frozenset[ContentKind] = frozenset(
    {"initial weights", "update", "proposed aggregate", "round base model", "consensus model"}
)
"""The kinds that are model weights (safetensors)."""


@dataclass(frozen=True)
class NamedContent:
    """A content the chain (or the gateway's consensus) names."""

    task_id: int
    digest: bytes
    """The sha256 its bytes must have."""
    kind: ContentKind
    member: str | None = None
    """A validation fragment's committee member (the only one who can decrypt it)."""

    @property
    def is_model(self) -> bool:
        """Whether the content is model weights."""
        return self.kind in MODEL_KINDS

    @property
    def source(self) -> str:
        """``ledger`` (the hash is on chain) or ``consensus`` (the gateway's recomputation)."""
        return "consensus" if self.kind == "consensus model" else "ledger"


def named_content(gateway: Gateway, cid: str) -> NamedContent | None:
    """What ``cid`` is, by the first task that names it; None when nothing names it."""
    with gateway.lock:
        for task in gateway.index.tasks.values():
            p = task.params
            if p.model_spec_cid == cid:
                return NamedContent(task.task_id, p.model_spec_hash, "model spec")
            if p.initial_weights_cid == cid:
                return NamedContent(task.task_id, p.initial_weights_hash, "initial weights")
            for index, fragment_cid in enumerate(p.fragment_cids):
                if fragment_cid == cid:
                    return NamedContent(
                        task.task_id,
                        p.fragment_hashes[index],
                        "validation fragment",
                        member=p.committee[index],
                    )
            for update in task.updates.values():
                if update.cid == cid:
                    return NamedContent(task.task_id, update.update, "update")
            for record in task.rounds.values():
                for proposal in record.proposals.values():
                    if cid in proposal.cids:  # the proposer's, added, or an attester's own
                        return NamedContent(
                            task.task_id, proposal.result_hash, "proposed aggregate"
                        )
                if record.base_model_cid == cid:
                    return NamedContent(task.task_id, record.base_model_hash, "round base model")
    if gateway.consensus is not None:
        version = gateway.consensus.by_cid(cid)
        if version is not None:
            return NamedContent(version.task_id, version.content_hash, "consensus model")
    return None
