"""What a publisher declares about a task: ``ITaskRegistry.TaskParams``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledgerlearn.core.rules import Flow, MetricId, ThresholdMode


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
    metric: MetricId = MetricId.ACCURACY
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
            metric=MetricId(params["metric"]),
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
