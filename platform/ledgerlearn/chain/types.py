"""Typed values exchanged with the contracts: enums, parameters and stored states."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

SCORE_SCALE = 1_000_000
"""Scores and thresholds are fixed point with 6 decimals on chain."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
SCORE_INVALID = INT64_MIN
"""The score a validator gives an update that is unavailable, malformed or otherwise invalid."""


def to_fixed(value: float) -> int:
    """A metric value as an on-chain fixed-point score (6 decimals), clamped to int64."""
    if math.isnan(value):
        return SCORE_INVALID
    if math.isinf(value):
        return INT64_MAX if value > 0 else INT64_MIN
    return max(INT64_MIN, min(INT64_MAX, round(value * SCORE_SCALE)))


MAX_ABS_THRESHOLD = 1000.0
"""Largest magnitude of a task's threshold: far beyond any metric's range, far inside int64
fixed point."""


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
    """How a task learns."""

    FEDERATION = 0
    DAG = 1


class Metric(IntEnum):
    """Metric the committee scores updates with."""

    ACCURACY = 0
    MACRO_F1 = 1
    NEGATIVE_LOSS = 2


class ThresholdMode(IntEnum):
    """What a score is measured against (see ``ITaskRegistry``)."""

    ABSOLUTE = 0
    RELATIVE = 1  # minus the current global model's metric
    PEER = 2  # minus the median metric of the round's valid updates


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


@dataclass(frozen=True)
class TaskParams:
    """What a publisher declares about a task (mirrors ``ITaskRegistry.TaskParams``)."""

    model_spec_hash: bytes
    model_spec_cid: str
    initial_weights_hash: bytes
    initial_weights_cid: str
    committee: tuple[str, ...]
    fragment_hashes: tuple[bytes, ...]
    fragment_cids: tuple[str, ...]
    quorum: int
    max_faulty_validators: int
    threshold: int
    flow: Flow = Flow.FEDERATION
    metric: Metric = Metric.ACCURACY
    threshold_mode: ThresholdMode = ThresholdMode.ABSOLUTE
    aggregation_rule: int = 0
    num_byzantine: int = 0
    round_length: int = 20
    score_window: int = 20
    max_rounds: int = 1
    max_parents: int = 2
    min_updates: int = 0
    round_extension: int = 0
    score_extension: int = 0
    attest_window: int = 20
    max_pending: int = 4

    @classmethod
    def from_event(cls, params: dict[str, Any]) -> TaskParams:
        """The parameters as decoded from a ``TaskPublished`` event (snake_case keys)."""
        return cls(
            model_spec_hash=params["model_spec_hash"],
            model_spec_cid=params["model_spec_cid"],
            initial_weights_hash=params["initial_weights_hash"],
            initial_weights_cid=params["initial_weights_cid"],
            committee=tuple(params["committee"]),
            fragment_hashes=tuple(params["fragment_hashes"]),
            fragment_cids=tuple(params["fragment_cids"]),
            quorum=params["quorum"],
            max_faulty_validators=params["max_faulty_validators"],
            threshold=params["threshold"],
            flow=Flow(params["flow"]),
            metric=Metric(params["metric"]),
            threshold_mode=ThresholdMode(params["threshold_mode"]),
            aggregation_rule=params["aggregation_rule"],
            num_byzantine=params["num_byzantine"],
            round_length=params["round_length"],
            score_window=params["score_window"],
            max_rounds=params["max_rounds"],
            max_parents=params["max_parents"],
            min_updates=params["min_updates"],
            round_extension=params["round_extension"],
            score_extension=params["score_extension"],
            attest_window=params["attest_window"],
            max_pending=params["max_pending"],
        )

    def as_tuple(self) -> tuple[object, ...]:
        """The ABI tuple, field order of the Solidity struct."""
        return (
            self.model_spec_hash,
            self.model_spec_cid,
            self.initial_weights_hash,
            self.initial_weights_cid,
            int(self.flow),
            int(self.metric),
            int(self.threshold_mode),
            self.threshold,
            self.quorum,
            self.max_faulty_validators,
            self.aggregation_rule,
            self.num_byzantine,
            self.round_length,
            self.score_window,
            self.max_rounds,
            self.max_parents,
            self.min_updates,
            self.round_extension,
            self.score_extension,
            self.attest_window,
            self.max_pending,
            list(self.committee),
            list(self.fragment_hashes),
            list(self.fragment_cids),
        )

    def typed_data_message(self) -> dict[str, object]:
        """The EIP-712 ``TaskParams`` message."""
        return {
            "modelSpecHash": self.model_spec_hash,
            "modelSpecCid": self.model_spec_cid,
            "initialWeightsHash": self.initial_weights_hash,
            "initialWeightsCid": self.initial_weights_cid,
            "flow": int(self.flow),
            "metric": int(self.metric),
            "thresholdMode": int(self.threshold_mode),
            "threshold": self.threshold,
            "quorum": self.quorum,
            "maxFaultyValidators": self.max_faulty_validators,
            "aggregationRule": self.aggregation_rule,
            "numByzantine": self.num_byzantine,
            "roundLength": self.round_length,
            "scoreWindow": self.score_window,
            "maxRounds": self.max_rounds,
            "maxParents": self.max_parents,
            "minUpdates": self.min_updates,
            "roundExtension": self.round_extension,
            "scoreExtension": self.score_extension,
            "attestWindow": self.attest_window,
            "maxPending": self.max_pending,
            "committee": list(self.committee),
            "fragmentHashes": list(self.fragment_hashes),
            "fragmentCids": list(self.fragment_cids),
        }


TASK_PARAMS_EIP712_FIELDS = [
    {"name": "modelSpecHash", "type": "bytes32"},
    {"name": "modelSpecCid", "type": "string"},
    {"name": "initialWeightsHash", "type": "bytes32"},
    {"name": "initialWeightsCid", "type": "string"},
    {"name": "flow", "type": "uint8"},
    {"name": "metric", "type": "uint8"},
    {"name": "thresholdMode", "type": "uint8"},
    {"name": "threshold", "type": "int64"},
    {"name": "quorum", "type": "uint8"},
    {"name": "maxFaultyValidators", "type": "uint8"},
    {"name": "aggregationRule", "type": "uint8"},
    {"name": "numByzantine", "type": "uint16"},
    {"name": "roundLength", "type": "uint32"},
    {"name": "scoreWindow", "type": "uint32"},
    {"name": "maxRounds", "type": "uint32"},
    {"name": "maxParents", "type": "uint8"},
    {"name": "minUpdates", "type": "uint16"},
    {"name": "roundExtension", "type": "uint32"},
    {"name": "scoreExtension", "type": "uint32"},
    {"name": "attestWindow", "type": "uint32"},
    {"name": "maxPending", "type": "uint16"},
    {"name": "committee", "type": "address[]"},
    {"name": "fragmentHashes", "type": "bytes32[]"},
    {"name": "fragmentCids", "type": "string[]"},
]


@dataclass(frozen=True)
class TaskInfo:
    """The stored state of a task (mirrors ``ITaskRegistry.TaskInfo``)."""

    task_id: int
    publisher: str
    flow: Flow
    metric: Metric
    threshold_mode: ThresholdMode
    quorum: int
    max_faulty_validators: int
    committee_size: int
    aggregation_rule: int
    max_parents: int
    num_byzantine: int
    closed: bool
    threshold: int
    round_length: int
    score_window: int
    max_rounds: int
    current_round: int
    published_block: int
    model_spec_hash: bytes
    initial_weights_hash: bytes
    global_model_hash: bytes
    min_updates: int = 0
    round_extension: int = 0
    score_extension: int = 0
    attest_window: int = 0
    max_pending: int = 0


@dataclass(frozen=True)
class UpdateInfo:
    """The stored state of an update (mirrors ``IUpdateLedger.UpdateInfo``)."""

    task_id: int
    update: bytes
    provider: str
    round: int
    status: Status
    pass_count: int
    score_count: int
    scored_mask: int


@dataclass(frozen=True)
class RoundInfo:
    """The stored state of a federation round (mirrors ``IRoundLedger.RoundInfo``)."""

    task_id: int
    round: int
    start_block: int
    pending_count: int
    accepted_count: int
    attested_mask: int
    finalized: bool
    base_model_hash: bytes
    accepted_digest: bytes
    result_hash: bytes
    submitted_count: int = 0
    leading_attestations: int = 0


@dataclass(frozen=True)
class Member:
    """What a member registered about itself."""

    account: str
    peer_address: str
    encryption_key: bytes
    registered_block: int
    roles: frozenset[str] = field(default_factory=frozenset)
