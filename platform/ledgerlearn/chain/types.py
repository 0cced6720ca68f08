"""The stored states the contracts return: tasks, updates, rounds and members."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledgerlearn.core.rules import Flow, MetricId, Stage, Status, ThresholdMode


@dataclass(frozen=True)
class TaskInfo:
    """The stored state of a task (mirrors ``ITaskRegistry.TaskInfo``)."""

    task_id: int
    publisher: str
    flow: Flow
    metric: MetricId
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
    stage: Stage = Stage.OPEN
    commit_window: int = 0
    max_rejections: int = 0
    approved: bool = False
    fragments_posted: bool = False

    @property
    def is_open(self) -> bool:
        """Whether providers may join and submit: past vetting and not closed."""
        return self.stage is Stage.OPEN and not self.closed


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
