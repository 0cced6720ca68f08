"""The publisher: puts a task's content on IPFS and publishes the task on chain.

It takes a model spec, initial weights (or a seed to create them), a metric, a validation set,
the committee and the policy. The validation set is split into one stratified fragment per
committee member, each encrypted to that member's registered public key (ECIES on secp256k1)
so only that member can read it; the spec, the weights and the fragments go to IPFS, their
sha256 on chain. No code is shipped: the spec is a JSON allowlist of layers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledgerlearn.agents.participant import AgentError, Participant
from ledgerlearn.aggregation import RULE_IDS, get
from ledgerlearn.chain.types import Flow, Metric, TaskParams, ThresholdMode, to_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.data.fragments import encrypt_fragment, split_fragments
from ledgerlearn.model import ModelSpec, build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.weights import encode
from ledgerlearn.training import get_metric

log = logging.getLogger(__name__)


class Policy(BaseModel):
    """How the committee decides and how updates are aggregated (declared at publication)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: Literal["federation", "dag"] = "federation"
    metric: Literal["accuracy", "macro_f1", "negative_loss"] = "accuracy"
    threshold: float = Field(
        -0.25,
        description="A score clears the policy when score >= threshold. 'relative': the score "
        "is the metric minus the global model's; 'peer': minus the median of the round's "
        "valid updates' (the default: robust to non-IID data).",
    )
    threshold_mode: Literal["absolute", "relative", "peer"] = "peer"
    quorum: int = Field(3, ge=1, le=32)
    max_faulty_validators: int = Field(1, ge=0, le=31)
    aggregation_rule: str = "median"
    num_byzantine: int = Field(0, ge=0)
    rounds: int = Field(3, ge=1)
    round_length: int = Field(20, ge=1, description="Blocks a round accepts updates.")
    score_window: int = Field(20, ge=1, description="Blocks the committee has to score after.")
    max_parents: int = Field(2, ge=1, le=8)
    min_updates: int = Field(
        0,
        ge=0,
        description="Federation: a round's submissions stay open (up to round_extension more "
        "blocks) until this many updates arrived, rejected ones included (0: no wait). Slow "
        "honest providers then still make the round.",
    )
    round_extension: int = Field(
        0, ge=0, description="Federation: most blocks a round waits for min_updates."
    )
    score_extension: int = Field(
        20,
        ge=0,
        description="Blocks an update short of a quorum can still be scored after the scoring "
        "window; after them it expires (no credit, no blame), it is not rejected.",
    )
    attest_window: int = Field(
        20,
        ge=1,
        description="Federation: blocks the committee has to attest the round's aggregate "
        "after scoring; then any participant closes the round without a quorum.",
    )
    max_pending: int = Field(
        4, ge=1, description="Dag: most undecided updates one provider may have at once."
    )

    @model_validator(mode="after")
    def _known_rule(self) -> Policy:
        if self.aggregation_rule not in RULE_IDS:
            raise ValueError(
                f"aggregation_rule {self.aggregation_rule!r} is unknown; "
                f"expected one of {', '.join(sorted(RULE_IDS))}"
            )
        if self.min_updates > 0 and self.round_extension == 0:
            raise ValueError(
                f"min_updates={self.min_updates} needs round_extension > 0: the most blocks "
                "a round waits for them"
            )
        return self

    def params_fields(self) -> dict[str, object]:
        """The :class:`~ledgerlearn.chain.types.TaskParams` fields this policy sets."""
        return {
            "quorum": self.quorum,
            "max_faulty_validators": self.max_faulty_validators,
            "threshold": to_fixed(self.threshold),
            "flow": Flow.FEDERATION if self.flow == "federation" else Flow.DAG,
            "metric": Metric(get_metric(self.metric).metric_id),
            "threshold_mode": ThresholdMode[self.threshold_mode.upper()],
            "aggregation_rule": RULE_IDS[self.aggregation_rule],
            "num_byzantine": self.num_byzantine,
            "round_length": self.round_length,
            "score_window": self.score_window,
            "max_rounds": self.rounds,
            "max_parents": self.max_parents,
            "min_updates": self.min_updates,
            "round_extension": self.round_extension,
            "score_extension": self.score_extension,
            "attest_window": self.attest_window,
            "max_pending": self.max_pending,
        }

    def typed_data_fields(self) -> dict[str, int]:
        """The same fields as they appear in the EIP-712 ``TaskParams`` message (camelCase)."""
        return {_camel(name): int(value) for name, value in self.params_fields().items()}  # type: ignore[call-overload]

    def check_committee(self, size: int, providers: int | None = None) -> None:
        """Refuse a policy that cannot be safe and live with ``size`` members (f < k <= n - f),
        and a rule configured beyond its breakdown point for ``providers`` updates."""
        k, f = self.quorum, self.max_faulty_validators
        if not f < k <= size - f:
            raise AgentError(
                f"unsafe committee policy: quorum k={k}, tolerated liars f={f}, committee n={size}"
                " must satisfy f < k <= n - f"
            )
        if providers is not None:
            rule = get(self.aggregation_rule, num_byzantine=self.num_byzantine)
            rule.check_num_updates(providers)


@dataclass(frozen=True)
class PublishedTask:
    """What was published."""

    task_id: int
    params: TaskParams


class Publisher:
    """Publishes tasks for one participant holding PUBLISHER_ROLE."""

    def __init__(self, participant: Participant) -> None:
        self.participant = participant

    def prepare(
        self,
        spec: ModelSpec,
        validation: Dataset,
        committee: list[str],
        policy: Policy,
        *,
        initial_weights: dict[str, object] | None = None,
        seed: int = 0,
        expected_providers: int | None = None,
    ) -> TaskParams:
        """Put the task's content on IPFS and return the parameters to publish or sign."""
        policy.check_committee(len(committee), expected_providers)
        validation.check_matches(spec)
        get_metric(policy.metric)
        if initial_weights is None:
            initial_weights = dict(state_dict_to_arrays(build(spec, seed=seed)))
        store = self.participant.store
        spec_cid, spec_hash = store.put(spec.to_json())
        weights_cid, weights_hash = store.put(encode(initial_weights, spec=spec))  # type: ignore[arg-type]
        fragments = split_fragments(validation, len(committee), seed=seed)
        cids, hashes = [], []
        for member, fragment in zip(committee, fragments, strict=True):
            key = self.participant.client.member(member).encryption_key
            if not key:
                raise AgentError(
                    f"committee member {member} has not registered an encryption key: "
                    "its validator must run once (registerMember) before publication"
                )
            cid, digest = store.put(encrypt_fragment(fragment, key))
            cids.append(cid)
            hashes.append(digest)
        return TaskParams(
            model_spec_hash=spec_hash,
            model_spec_cid=spec_cid,
            initial_weights_hash=weights_hash,
            initial_weights_cid=weights_cid,
            committee=tuple(committee),
            fragment_hashes=tuple(hashes),
            fragment_cids=tuple(cids),
            **policy.params_fields(),  # type: ignore[arg-type]
        )

    def publish(self, params: TaskParams) -> PublishedTask:
        """Publish prepared parameters on chain (this participant is the publisher)."""
        task_id = self.participant.client.publish_task(params)
        log.info("published task %d", task_id)
        return PublishedTask(task_id, params)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
