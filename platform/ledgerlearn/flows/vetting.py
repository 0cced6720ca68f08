"""A validator's review of a task before it opens: the vetting policy applied to its spec.

:func:`review` reads what the task carries — the model's size (parameters) and compute
(multiply-accumulates per sample), its architecture (layer types) and its declared purpose
(data kind and description) — against a :class:`~ledgerlearn.config.VettingPolicy` and says
approve, reject or "a person decides", with the reason that goes on chain with the vote.
Pure: no chain, no storage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ledgerlearn.config import VettingPolicy
from ledgerlearn.model import ModelSpec

__all__ = ["MAX_REASON_BYTES", "Review", "review"]

MAX_REASON_BYTES = 280
"""Longest reason a vote carries on chain (the vetting contract refuses longer ones)."""

Decision = Literal["approve", "reject", "human"]


@dataclass(frozen=True)
class Review:
    """What a member's vetting policy says of a task."""

    decision: Decision
    reason: str  # the vote's reason on chain (<= MAX_REASON_BYTES), or why a person decides

    @property
    def automatic(self) -> bool:
        """Whether the policy decides (approve or reject) without a person."""
        return self.decision != "human"


def review(spec: ModelSpec, policy: VettingPolicy) -> Review:
    """Apply ``policy`` to a task's model spec.

    Every limit is checked; the first one broken is the reason of a rejection. A spec within
    every limit is approved, unless its purpose names a word a person must read (or it has no
    purpose and the policy requires one), or the policy does not vote by itself.
    """
    problems: list[str] = []
    parameters = spec.num_parameters()
    macs = spec.macs_per_sample()
    if parameters > policy.max_parameters:
        problems.append(f"{parameters:,} parameters, above the limit of {policy.max_parameters:,}")
    if macs > policy.max_macs:
        problems.append(f"{macs:,} MACs per sample, above the limit of {policy.max_macs:,}")
    layers = sorted({layer.type for layer in spec.layers})
    banned = [name for name in layers if name not in policy.allowed_layers]
    if banned:
        problems.append(f"layer types not allowed: {', '.join(banned)}")
    purpose = spec.purpose
    if purpose is not None and purpose.data_kind not in policy.allowed_data_kinds:
        problems.append(f"data kind {purpose.data_kind!r} is not one the consortium trains on")
    if problems:
        return Review("reject", _bounded("; ".join(problems)))
    if purpose is None:
        if policy.require_purpose:
            return Review("human", "the model declares no purpose (data kind, description)")
    else:
        words = _flagged(purpose.description, policy.needs_a_human)
        if words:
            return Review("human", f"the purpose names {', '.join(words)}: a person decides")
    if not policy.auto:
        return Review("human", "this member's policy leaves every decision to a person")
    kind = f", data kind {purpose.data_kind}" if purpose is not None else ""
    return Review(
        "approve",
        _bounded(
            f"within limits: {parameters:,} parameters, {macs:,} MACs per sample, layers "
            f"{', '.join(layers)}{kind}"
        ),
    )


def _flagged(text: str, words: list[str]) -> list[str]:
    """The policy's words found in ``text`` as whole words (case-insensitive)."""
    lowered = text.lower()
    return [w for w in words if re.search(rf"\b{re.escape(w.lower())}", lowered)]


def _bounded(reason: str) -> str:
    """``reason`` cut to MAX_REASON_BYTES bytes of UTF-8 (on a character boundary)."""
    data = reason.encode()
    if len(data) <= MAX_REASON_BYTES:
        return reason
    return data[: MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."
