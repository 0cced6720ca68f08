"""Response models of the gateway (pydantic): what each route returns, as OpenAPI documents it.

Content hashes are 0x-prefixed hex (32 bytes); scores are floats (the on-chain fixed point
divided by 10^6) with ``invalid`` marking the score a validator gives an update it could not
fetch, decode or accept as sane.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ledgerlearn.core.task_params import TaskParamsView
from ledgerlearn.flows.policy import FlowName, Policy, ThresholdModeName

StageName = Literal["open", "drawing", "vetting", "rejected", "expired"]
"""A task's stage in words (``core.rules.Stage`` in lower case)."""

T = TypeVar("T")

Hash = str
Address = str


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int = Field(description="Items in the whole list.")
    offset: int
    limit: int


def _policy(name: str) -> str | None:
    """The description of a policy field (one text for the commands, the API and the docs)."""
    return Policy.model_fields[name].description


class TaskSummary(BaseModel):
    """A task as published, and where it stands."""

    task_id: int
    publisher: Address
    flow: FlowName = Field(description=_policy("flow"))
    metric: str = Field(description=_policy("metric"))
    threshold: float = Field(description=_policy("threshold"))
    threshold_mode: ThresholdModeName = Field(description=_policy("threshold_mode"))
    quorum: int = Field(description=_policy("quorum"))
    max_faulty_validators: int = Field(description=_policy("max_faulty_validators"))
    committee: list[Address]
    aggregation_rule: str = Field(description=_policy("aggregation_rule"))
    num_byzantine: int = Field(description=_policy("num_byzantine"))
    max_rounds: int = Field(description=_policy("rounds"))
    round_length: int = Field(description=_policy("round_length"))
    score_window: int = Field(description=_policy("score_window"))
    max_parents: int = Field(description=_policy("max_parents"))
    min_updates: int = Field(description=_policy("min_updates"))
    round_extension: int = Field(description=_policy("round_extension"))
    score_extension: int = Field(description=_policy("score_extension"))
    attest_window: int = Field(description=_policy("attest_window"))
    max_pending: int = Field(description=_policy("max_pending"))
    draw_size: int = Field(description=_policy("draw_size"))
    commit_window: int = Field(description=_policy("commit_window"))
    max_rejections: int = Field(description=_policy("max_rejections"))
    published_block: int
    stage: StageName = Field(
        description="drawing (its committee is drawn), vetting (its committee reviews it), "
        "open (providers join; or closed after it was open), rejected or expired (closed at "
        "vetting: it never opened)."
    )
    opened_block: int | None = Field(description="The block the task opened in (null before).")
    excluded: list[Address] = Field(
        description="Providers excluded after max_rejections rejected updates."
    )
    closed: bool
    current_round: int | None = Field(description="Federation: the latest round; dag: null.")
    providers: int
    updates: int
    accepted: int
    model_spec_cid: str
    initial_weights_cid: str
    initial_weights_hash: Hash


class TaskDetail(TaskSummary):
    """A task with its content addresses and participants."""

    model_spec_hash: Hash
    fragment_cids: list[str]
    provider_accounts: list[Address]
    final_model_hash: Hash | None


class ScoreView(BaseModel):
    """One validator's score of one update."""

    validator: Address
    score: float | None = Field(description="None when the validator scored it invalid.")
    invalid: bool
    passed: bool = Field(description="Whether the score clears the task's threshold.")


class UpdateView(BaseModel):
    """An update, its scores and the committee's decision."""

    task_id: int
    update: Hash = Field(description="Content hash (sha256 of the safetensors bytes).")
    provider: Address
    round: int | None = Field(
        description="Federation: the round; dag: null (``block_number`` says when it was "
        "submitted)."
    )
    cid: str
    num_samples: int
    parents: list[Hash]
    block_number: int
    status: Literal["pending", "accepted", "rejected", "expired"] = Field(
        description="expired: fewer than quorum scores by the end of the scoring extension "
        "(the committee could not judge it; no credit, no blame)."
    )
    decided_block: int | None
    scores: list[ScoreView]
    median_score: float | None


class ProposalView(BaseModel):
    """An aggregate proposed for a round."""

    result_hash: Hash
    cid: str = Field(description="The first proposer's CID (it may point to nothing).")
    cids: list[str] = Field(
        description="Every CID named for the result: the attesters' own first, then those "
        "other participants added, then the first proposer's."
    )
    proposer: Address
    updates: int
    attesters: list[Address]


class RoundView(BaseModel):
    """A federation round."""

    task_id: int
    round: int
    status: Literal["open", "waiting", "scoring", "aggregating", "finalized"] = Field(
        description="waiting: the submission window is held open for min_updates."
    )
    start_block: int
    submissions_close_block: int = Field(
        description="While the round waits for min_updates: the latest it can close."
    )
    scoring_close_block: int
    extended_scoring_close_block: int = Field(
        description="Updates short of a quorum can be scored until this block."
    )
    attestation_close_block: int = Field(
        description="After this block the round is closed without a quorum of attestations."
    )
    base_model_hash: Hash
    base_model_cid: str
    submitted: int
    accepted: int
    rejected: int
    expired: int
    pending: int
    proposals: list[ProposalView]
    result_hash: Hash | None
    result_cid: str | None
    finalized_block: int | None
    closed_at_deadline: bool = Field(
        description="Finalized by closeRound after the attestation deadline, without a quorum."
    )
    kept_base_model: bool = Field(
        description="... and no proposal had more than f attestations: the base model was kept."
    )
    metric: float | None = Field(
        description="The result's metric on the gateway's held-out set, when it has one."
    )


class RoundDetail(RoundView):
    """A round with its updates."""

    updates: list[UpdateView]


class DagNode(BaseModel):
    """A model in a dag task: the initial weights (root) or an update."""

    id: Hash
    kind: Literal["root", "update"]
    provider: Address | None
    status: Literal["pending", "accepted", "rejected"]
    block_number: int
    cid: str
    median_score: float | None


class DagEdge(BaseModel):
    """``child`` names ``parent`` (it was built on it)."""

    parent: Hash
    child: Hash


class DagView(BaseModel):
    """The graph of a dag task: nodes, edges and tips."""

    task_id: int
    nodes: list[DagNode]
    edges: list[DagEdge]
    tips: list[Hash] = Field(
        description="Accepted models (or the root) that no accepted update names as a parent."
    )


class MemberView(BaseModel):
    """A consortium member: its roles and what it registered."""

    account: Address
    roles: list[str]
    peer_address: str | None
    encryption_key: str | None
    registered: bool


class GlobalModel(BaseModel):
    """The current global model of a task: the last finalized round's result (federation) or
    the consensus model (dag)."""

    task_id: int
    flow: FlowName
    round: int | None = Field(description="Federation: the round it is the result of.")
    block: int | None = Field(
        None, description="Dag: the block the consensus model was computed at."
    )
    content_hash: Hash
    cid: str
    source: str = Field(description="Which model this is, in words.")
    tips: list[Hash] | None = Field(
        None, description="Dag: the tips the consensus model aggregates, best first."
    )
    download: str = Field(description="Path to download its weights (verified).")


class MetricPoint(BaseModel):
    """One point of a task's curve."""

    round: int = Field(
        description="Federation: the round (0: the initial weights); dag: the block the "
        "consensus model was computed at (0: the initial weights)."
    )
    value: float
    content_hash: Hash | None


class MetricCurve(BaseModel):
    """The metric of a task's global model per round."""

    task_id: int
    metric: str
    source: Literal["gateway", "committee", "none"]
    axis: Literal["round", "block"] = Field(description="What the points' ``round`` counts.")
    description: str = Field(description="What the values are, in words.")
    points: list[MetricPoint]


class ComponentHealth(BaseModel):
    """One dependency of the gateway."""

    ok: bool
    detail: dict[str, Any]
    error: str | None = None


class Health(BaseModel):
    """What the gateway depends on, and how it is."""

    status: Literal["ok", "degraded"]
    chain: ComponentHealth
    ipfs: ComponentHealth
    index: ComponentHealth
    relayer: ComponentHealth
    orchestration: ComponentHealth


class Publication(BaseModel):
    """A publication prepared by the gateway and its way onto the chain."""

    id: str
    publisher: Address
    status: Literal["prepared", "submitted", "published", "failed", "expired"]
    params: TaskParamsView
    typed_data: dict[str, Any] = Field(
        description="The EIP-712 typed data the publisher signs (eth_signTypedData_v4), bytes "
        "as 0x-hex."
    )
    deadline: int = Field(description="Unix time after which the signature is refused.")
    tx_hash: str | None
    task_id: int | None
    error: str | None


class SignatureIn(BaseModel):
    """The publisher's EIP-712 signature of a prepared publication."""

    model_config = ConfigDict(extra="forbid")

    signature: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$", description="65 bytes, 0x-hex (r, s, v)."
    )


class VoteIn(BaseModel):
    """A drawn member's vetting vote, signed by the member for the gateway to relay."""

    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(
        min_length=1, max_length=280, description="Why (on chain; at most 280 bytes)."
    )
    deadline: int = Field(
        ge=0, lt=2**63, description="Unix time after which the signature is void."
    )

    @field_validator("reason")
    @classmethod
    def _reason_bytes(cls, reason: str) -> str:
        size = len(reason.encode())
        if size > 280:
            raise ValueError(f"{size} bytes in UTF-8, at most 280")
        return reason

    signature: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="The member's EIP-712 signature of Vote(uint256 taskId,bool approve,"
        "string reason,address member,uint256 deadline) in the domain ('ledgerlearn vetting', "
        "'1', the chain id, the vetting contract of /info): 65 bytes, 0x-hex.",
    )


class ChainEvent(BaseModel):
    """A contract event as the stream sends it (``data`` of each server-sent event)."""

    id: str
    name: str
    contract: str
    block_number: int
    log_index: int
    tx_hash: str
    args: dict[str, Any]


class EventPage(BaseModel):
    """Contract events, newest first."""

    items: list[ChainEvent]
    next_before: str | None = Field(
        description="Give it as `before` for the next (older) page; null: this is the oldest."
    )


class GatewayInfo(BaseModel):
    """The EIP-712 domain of signed requests, the gateway's id and its limits."""

    chain_id: int
    gateway_id: str = Field(description="The audience every signed request names.")
    ledger: Address = Field(description="The LearningLedger (verifyingContract).")
    consortium: Address
    vetting: Address | None = Field(
        description="The TaskVetting contract (verifyingContract of relayed votes); none in a "
        "laboratory deployment."
    )
    relayer: Address | None = Field(description="The gateway's own account (pays relays).")
    signature_window_s: int
    max_upload_bytes: int
    max_content_bytes: int = Field(
        description="Largest content any member fetches: a publication whose spec, weights "
        "or validation fragment is larger is refused."
    )
    max_validation_values: int = Field(
        description="Most feature values (samples x features) of a validation set."
    )
    open_reads: bool


# --- governance (a consortium deployment) ---------------------------------------------------


class CouncilActionView(BaseModel):
    """One call a proposal makes when executed."""

    target: Address
    summary: str = Field(description="What it does, in words.")


class CouncilProposalView(BaseModel):
    """A council proposal and where it stands."""

    proposal_id: int
    proposer: Address | None
    description: str
    state: Literal[
        "pending", "active", "canceled", "defeated", "succeeded", "queued", "expired", "executed"
    ]
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int = Field(description="For votes it needs: a strict majority of the members.")
    snapshot_block: int
    deadline_block: int = Field(description="The last block of the vote.")
    eta: int = Field(description="Unix time from which it can be executed (0 until queued).")
    actions: list[CouncilActionView]


class CouncilView(BaseModel):
    """The council of a consortium deployment."""

    members: list[Address] = Field(description="The member organisations (one vote each).")
    voting_delay_blocks: int
    voting_period_blocks: int
    timelock_delay_s: int
    council: Address
    timelock: Address = Field(description="The Consortium's admin: what the council decides.")
    membership: Address
    proposals: int


class VoteView(BaseModel):
    """A drawn member's vetting vote."""

    member: Address
    approve: bool
    reason: str
    block: int


class VettingView(BaseModel):
    """A task's committee draw and vetting."""

    task_id: int
    stage: StageName
    draw_size: int
    seeds_committed: list[Address]
    seeds_revealed: list[Address]
    withheld: list[Address] = Field(description="Committed a seed and never revealed it.")
    seed: str | None = Field(description="The draw's seed, once drawn.")
    eligible: list[Address] = Field(description="The pool members the draw chose from.")
    committee: list[Address]
    drawn_block: int | None
    votes: list[VoteView]
    outcome: StageName | None


class ProviderReputationView(BaseModel):
    """What a provider's updates earned."""

    account: Address
    accepted: int
    rejected: int
    expired: int
    acceptance: float | None
    median_verdict: float | None = Field(description="Median of the committee's verdicts.")
    excluded_from: list[int]


class ValidatorReputationView(BaseModel):
    """How a committee member judged."""

    account: Address
    scored: int
    agreed: int
    agreement: float | None
    missed: int
    late: int
    unrevealed: int
    votes: int


class ReputationView(BaseModel):
    """Reputation derived from the chain's events."""

    providers: list[ProviderReputationView]
    validators: list[ValidatorReputationView]


class RewardShareView(BaseModel):
    """One account's share of a task's reward."""

    account: Address
    withdrawn: int
    owed: int = Field(description="What it may withdraw now.")


class RewardView(BaseModel):
    """A task's escrowed reward."""

    task_id: int
    token: Address
    amount: int
    provider_share_bps: int
    max_disagreement_bps: int = Field(
        description="A validator scoring against the decision more often than this (basis "
        "points of its counted scores) forfeits its share to the other members."
    )
    paid: int
    refunded: int
    shares: list[RewardShareView]
