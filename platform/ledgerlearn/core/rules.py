"""The contract's rules, mirrored: fixed point, enums, the committee's decision, the hashes.

Each rule here is the Python twin of a piece of Solidity, named where it is defined, and a
conformance test runs it against the contract on both backends (``tests/platform/chain/
test_rules_conformance.py``):

- scores and thresholds are fixed point with 6 decimals; :data:`SCORE_INVALID` (the smallest
  int64) is the score of an update that is unavailable, malformed or otherwise invalid, and it
  never passes (``LedgerState.SCORE_INVALID``, ``UpdateLedger._score``);
- a score passes when it is valid and at least the task's threshold (:func:`passes`);
- after each score, an update is decided once the lower median over the whole committee is
  settled whatever the members still to score report (:func:`decide_on_score`,
  ``UpdateLedger._score``);
- at its scoring deadline (``settleUpdates``), an update with fewer than quorum scores expires
  once the scoring extension is over; otherwise it is accepted when the lower median of the
  scores it received passes (more than half of them pass) and more than ``f`` of them pass, so
  that at least one honest member approved (:func:`decide_at_deadline`);
- a round's accepted updates are chained into one digest in acceptance order
  (:func:`accepted_digest`, ``UpdateLedger._onDecided`` and ``RoundLedger.proposeAggregate``);
- a provider commits to an update before revealing it (:func:`update_commitment`,
  ``UpdateLedger.updateCommitment``);
- a round closed at its attestation deadline keeps the proposal with the most attestations
  only when it has accepted updates and more than ``f`` attestations, else its base model
  (:func:`closes_with_proposal`, ``RoundLedger.closeRound``).

The deadlines are in :mod:`ledgerlearn.core.deadlines`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from enum import IntEnum

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

SCORE_SCALE = 1_000_000
"""Scores and thresholds are fixed point with 6 decimals on chain."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
SCORE_INVALID = INT64_MIN
"""The score a validator gives an update that is unavailable, malformed or otherwise invalid."""

MAX_ABS_THRESHOLD = 1000.0
"""Largest magnitude of a task's threshold: far beyond any metric's range, far inside int64
fixed point (``TaskRegistry.MAX_ABS_THRESHOLD``)."""


def to_fixed(value: float) -> int:
    """A metric value as an on-chain fixed-point score (6 decimals), clamped to int64."""
    if math.isnan(value):
        return SCORE_INVALID
    if math.isinf(value):
        return INT64_MAX if value > 0 else INT64_MIN
    return max(INT64_MIN, min(INT64_MAX, round(value * SCORE_SCALE)))


def threshold_to_fixed(value: float) -> int:
    """A task's threshold as on-chain fixed point (6 decimals).

    Unlike :func:`to_fixed` (scores, where NaN means an invalid update), a threshold must be
    a finite number of magnitude at most :data:`MAX_ABS_THRESHOLD`: :func:`to_fixed` would
    turn NaN into :data:`SCORE_INVALID`, the smallest int64, which every score clears.

    Raises
    ------
    ValueError
        If ``value`` is NaN, infinite or beyond :data:`MAX_ABS_THRESHOLD` in magnitude.
    """
    if not math.isfinite(value) or abs(value) > MAX_ABS_THRESHOLD:
        raise ValueError(
            f"threshold {value!r} must be a finite number within +-{MAX_ABS_THRESHOLD:g}"
        )
    return round(value * SCORE_SCALE)


def from_fixed(value: int) -> float:
    """An on-chain fixed-point score as a float."""
    return value / SCORE_SCALE


class Flow(IntEnum):
    """How a task learns, as the contract stores it (``TaskParams.flow``)."""

    FEDERATION = 0
    DAG = 1

    @property
    def has_rounds(self) -> bool:
        """Whether its tasks learn in rounds: the contract opens round 1 at publication and
        files each update under its round (``TaskRegistry`` decides this by the flow, and the
        index mirrors it). A flow learns either in rounds or through a graph."""
        return self is Flow.FEDERATION

    @property
    def has_graph(self) -> bool:
        """Whether its tasks build a DAG of updates: each update names accepted parents,
        which the contract checks (the flows without rounds)."""
        return not self.has_rounds


class MetricId(IntEnum):
    """The metric the committee scores updates with, as the task stores it (the id of a
    :class:`ledgerlearn.training.Metric`)."""

    ACCURACY = 0
    MACRO_F1 = 1
    NEGATIVE_LOSS = 2


class ThresholdMode(IntEnum):
    """What a score is measured against (see ``ITaskRegistry``)."""

    ABSOLUTE = 0
    RELATIVE = 1  # minus the current global model's metric
    PEER = 2  # minus the median metric of the round's valid updates


class Stage(IntEnum):
    """Where a task is in its life (mirrors ``ITaskRegistry.Stage``; closing is the separate
    ``closed`` flag)."""

    OPEN = 0  # accepting providers (or closed after it was open)
    DRAWING = 1  # its committee is being drawn from the validators' pool
    VETTING = 2  # its committee reviews it; the publisher posts the fragments
    REJECTED = 3  # the committee rejected it: closed, never opened
    EXPIRED = 4  # nobody decided in time, or no committee could be drawn: closed, never opened

    @property
    def before_opening(self) -> bool:
        """Whether the task is still being drawn or vetted."""
        return self in (Stage.DRAWING, Stage.VETTING)


MAX_COMMITTEE = 24
"""Most members a committee has (the contract keeps 24-bit masks of scorers and passers)."""


class Status(IntEnum):
    """Decision state of an update."""

    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    REJECTED = 3
    EXPIRED = 4  # fewer than quorum scores by the end of the scoring extension: no credit, no blame

    @property
    def decided(self) -> bool:
        """Whether the update left the pending state (accepted, rejected or expired)."""
        return self not in (Status.NONE, Status.PENDING)


# -- the committee's decision ----------------------------------------------------------------


def passes(score: int, threshold: int) -> bool:
    """Whether a score clears the task's threshold: an invalid score never does."""
    return score != SCORE_INVALID and score >= threshold


def lower_median(scores: Iterable[int]) -> int | None:
    """The lower median of fixed-point scores (an invalid score is the lowest); None without
    scores. It passes exactly when more than half of the scores pass."""
    ordered = sorted(scores)
    if not ordered:
        return None
    return ordered[(len(ordered) - 1) // 2]


def decide_on_score(pass_count: int, score_count: int, committee_size: int) -> Status:
    """The status of an update right after a score, before its deadline: accepted once a
    majority of the whole committee passed it, rejected once too many failed it for a majority
    to be possible, else still pending.

    Accepted means accepted unless the provider lost PROVIDER_ROLE since it submitted (the
    contract then rejects it).
    """
    majority = committee_size // 2 + 1
    if pass_count >= majority:
        return Status.ACCEPTED
    if score_count - pass_count > committee_size - majority:
        return Status.REJECTED
    return Status.PENDING


def decide_at_deadline(
    pass_count: int, score_count: int, quorum: int, max_faulty_validators: int
) -> Status:
    """The status an update is settled with once it can be (see
    :meth:`~ledgerlearn.core.deadlines.ScoringDeadlines.settleable`): expired with fewer than
    quorum scores; else accepted when more than half of its scores and more than ``f`` of
    them passed, rejected otherwise (accepted as in :func:`decide_on_score`)."""
    if score_count < quorum:
        return Status.EXPIRED
    accepted = pass_count >= score_count // 2 + 1 and pass_count > max_faulty_validators
    return Status.ACCEPTED if accepted else Status.REJECTED


def closes_with_proposal(
    accepted_count: int, leading_attestations: int, max_faulty_validators: int
) -> bool:
    """Whether a round closed at its attestation deadline takes its leading proposal (else it
    keeps its base model): it must have accepted updates and more than ``f`` attestations, so
    that at least one honest member recomputed it."""
    return accepted_count > 0 and leading_attestations > max_faulty_validators


# -- hashes ----------------------------------------------------------------------------------


def accepted_digest(accepted: Sequence[bytes]) -> bytes:
    """The digest a round keeps of its accepted updates, in acceptance order:
    ``d = keccak256(abi.encode(d, update))`` from ``d = 0``."""
    digest = bytes(32)
    for update in accepted:
        digest = keccak(abi_encode(["bytes32", "bytes32"], [digest, update]))
    return digest


def update_commitment(task_id: int, provider: str, update: bytes, salt: bytes) -> bytes:
    """The commitment ``provider`` makes before revealing ``update`` with ``salt``:
    ``keccak256(abi.encode(taskId, provider, update, salt))``."""
    encoded = abi_encode(
        ["uint256", "address", "bytes32", "bytes32"], [task_id, provider, update, salt]
    )
    return keccak(encoded)
