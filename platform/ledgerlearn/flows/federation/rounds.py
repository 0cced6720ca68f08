"""A federation round's maths and rules as every participant computes them: the committee's
reference and sanity context, the deterministic aggregate, when proposals open and when a
round is overdue."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.custom_error import ContractCustomError
from ledgerlearn.chain.index import RoundRecord, TaskRecord
from ledgerlearn.core.aggregate import aggregate_vectors
from ledgerlearn.core.rules import Status, ThresholdMode, from_fixed
from ledgerlearn.core.sanity import SanityVerdict, check_round_in_context
from ledgerlearn.core.types import Float32Array, Vector, Weights
from ledgerlearn.flows.ports import Member
from ledgerlearn.flows.scoring import Reference, SanityPolicy
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten, unflatten
from ledgerlearn.model.weights import decode, encode

log = logging.getLogger(__name__)

ATTEST_TOLERANCE = 1e-6
"""Largest difference (relative to the largest magnitude) between a proposed aggregate and a
member's recomputation that the member still attests."""
SELF_PROPOSE_AFTER = 2
"""Fewest blocks a committee member waits, once proposals are open, before it proposes its own
recomputation when no proposal matches it (the keeper usually proposes first); see
:func:`self_propose_after`."""


MIN_PEERS = 3
"""Peer mode compares with the median of at least this many valid updates; with fewer, the
score is taken relative to the global model."""
LONE_MIN_GAIN = 1e-3
"""In peer mode with fewer than :data:`MIN_PEERS` valid updates, an update must beat the global
model's metric by this much (a free rider alone in its round is no better than the model it
copies)."""
HISTORY = 10
"""Changes of the previous round a committee member keeps as the sanity checks' context for a
round with fewer than :data:`MIN_PEERS` decodable updates."""


def round_reference(mode: ThresholdMode, base_metric: float, threshold: int) -> Reference:
    """What a round's valid updates are scored against, given the task's threshold mode.

    Absolute: zero (the score is the metric). Relative: the round's base model's metric.
    Peer: the median of the valid updates' metrics; with fewer than :data:`MIN_PEERS` of
    them, the base model's metric plus :data:`LONE_MIN_GAIN` and the tolerance a negative
    ``threshold`` (fixed point) grants: with one or two accepted updates the aggregate is
    essentially them, so each must beat the global model it would replace.
    """

    def reference(values: Mapping[bytes, float]) -> dict[bytes, float]:
        if mode is ThresholdMode.RELATIVE:
            level = base_metric
        elif mode is ThresholdMode.PEER and len(values) >= MIN_PEERS:
            level = float(np.median(list(values.values())))
        elif mode is ThresholdMode.PEER:
            tolerance = max(0.0, -from_fixed(threshold))
            level = base_metric + tolerance + LONE_MIN_GAIN
        else:
            level = 0.0
        return {u: level for u in values}

    return reference


def round_sanity(base: Vector, context: Sequence[Vector]) -> SanityPolicy:
    """A round's sanity checks against its base model (flat).

    ``context``: the previous round's changes, which count only in a round with fewer than
    :data:`MIN_PEERS` decodable updates (too few to tell what a typical change is: a lone
    free rider is then tiny next to them).
    """

    def check(order: Sequence[bytes], vectors: Sequence[Vector]) -> list[SanityVerdict]:
        shown = context if len(vectors) < MIN_PEERS else ()
        return check_round_in_context(base, vectors, shown)

    return check


def self_propose_after(attest_window: int, member_index: int) -> int:
    """Blocks committee member ``member_index`` waits before proposing its own recomputation: a
    quarter of the attestation window (at least :data:`SELF_PROPOSE_AFTER`), plus its index, so
    that without a keeper one member proposes and the others attest it."""
    return max(SELF_PROPOSE_AFTER, attest_window // 4) + member_index


def aggregate_models(
    spec: ModelSpec,
    models: Sequence[Mapping[str, Float32Array]],
    rule: str,
    num_byzantine: int,
) -> Weights:
    """The aggregate of full models (not deltas) with a robust rule; deterministic.

    Parameters
    ----------
    spec
        The task's model spec (fixes the flattening order).
    models
        The accepted models, in on-chain acceptance order.
    rule, num_byzantine
        The task's aggregation rule and its parameter (see
        :func:`~ledgerlearn.core.aggregate.round_aggregator`).
    """
    vectors = np.stack([flatten(m, spec) for m in models]).astype(np.float32, copy=False)
    return unflatten(aggregate_vectors(vectors, rule, num_byzantine), spec)


def aggregate_round(participant: Member, task: TaskRecord, record: RoundRecord) -> bytes:
    """Recompute a round's aggregate from its accepted updates; returns safetensors bytes."""
    spec = participant.spec(task.task_id)
    if not record.accepted:
        raise ValueError(f"round {record.round} of task {task.task_id} accepted no update")
    models = [participant.fetch_weights(task.task_id, u) for u in record.accepted]
    rule = RULE_NAMES[task.params.aggregation_rule]
    result = aggregate_models(spec, models, rule, task.params.num_byzantine)
    return encode(result, spec=spec)


def proposals_open_since(task: TaskRecord, record: RoundRecord) -> int | None:
    """The block from which the round's aggregate can be proposed (submissions closed and no
    update pending), None while it cannot (as the index stands)."""
    if any(task.updates[u].status is Status.PENDING for u in record.updates):
        return None
    closes = task.round_deadlines(record.round).submissions_close
    decided = [task.updates[u].decided_block or 0 for u in record.updates]
    return max([closes, *decided])


def close_overdue_round(participant: Member, task: TaskRecord, record: RoundRecord) -> bool:
    """Close a round whose attestation deadline passed without a quorum; True when sent.

    With a proposal more than ``f`` members attested (one with the most attestations: at least
    one honest member recomputed it); else the contract keeps the base model. Updates still
    pending must be settled first (the keeper does), and a round with accepted updates is not
    closed before someone proposed its aggregate (members may attest after the deadline; a
    keeper that comes back late proposes first). Several participants closing the same round
    cause no double effect: the contract finalizes it once, the later call reverts.
    """
    if record.result_hash is not None or task.closed:
        return False
    if record.accepted and not record.proposals:
        return False  # propose first: members may still attest after the deadline
    deadlines = task.round_deadlines(record.round)
    if participant.head + 1 < deadlines.attestation_close:
        return False
    if any(task.updates[u].status is Status.PENDING for u in record.updates):
        return False
    leading = max(record.proposals.values(), key=lambda q: len(q.attesters), default=None)
    result = leading.result_hash if leading is not None else record.base_model_hash
    try:
        participant.client.close_round(task.task_id, record.round, result)
    except ContractCustomError as exc:  # another participant closed it first
        log.info("task %d round %d: not closed here (%s)", task.task_id, record.round, exc)
        return False
    log.info(
        "task %d round %d: attestation deadline passed without a quorum; round closed "
        "(leading proposal: %d attestations)",
        task.task_id,
        record.round,
        len(leading.attesters) if leading is not None else 0,
    )
    return True


def matches(spec: ModelSpec, proposed: bytes, recomputed: bytes) -> bool:
    """Whether a proposed aggregate equals a recomputation within :data:`ATTEST_TOLERANCE`."""
    if proposed == recomputed:
        return True
    a = flatten(decode(proposed, spec), spec).astype(np.float64)
    b = flatten(decode(recomputed, spec), spec).astype(np.float64)
    scale = max(float(np.abs(b).max()), 1e-12)
    return bool(np.abs(a - b).max() <= ATTEST_TOLERANCE * scale)
