"""Dag flow (tangle gossip): asynchronous updates that name the updates they built on.

There are no rounds. A provider, at its own pace, selects parents among the tips by a
score-biased random walk (:mod:`~ledgerlearn.core.tip_selection`), merges them with the
task's robust aggregation rule (:func:`merge_models`, optionally dampening stale parents),
trains from the merge, and publishes the result only if it beats the merge on the provider's
own held-out data (:func:`beats`, publish-if-better). The committee scores every update
against the merge of the parents it names; accepted updates become possible parents. Good
branches get built on, poorly scored ones die out.

The **consensus model** (:func:`consensus_model`) is the robust aggregate of the top K tips by
quality (committee scores, :class:`~ledgerlearn.core.dag_graph.DagGraph`), in a fixed order:
anyone with the chain's events and the tips' content recomputes the same bytes and so the
same content hash.

The :class:`DagKeeper` (the publisher's agent runs it) settles updates still pending at their
scoring deadline and closes the task when its planned duration is over.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.aggregate import merge_vectors
from ledgerlearn.core.dag_graph import DagGraph
from ledgerlearn.core.publish import better
from ledgerlearn.core.rules import Flow, Status, ThresholdMode, from_fixed
from ledgerlearn.core.types import Float32Array, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.errors import AgentError
from ledgerlearn.flows.base import FlowStrategy, Keeper
from ledgerlearn.flows.ports import Member
from ledgerlearn.flows.scoring import Reference
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten, unflatten
from ledgerlearn.model.weights import encode
from ledgerlearn.storage.content import sha256_digest
from ledgerlearn.training import Metric, evaluate_all, get_metric

__all__ = [
    "ConsensusModel",
    "DagFlow",
    "DagKeeper",
    "DagSettings",
    "Verdict",
    "beats",
    "consensus_model",
    "graph_of",
    "merge_models",
    "parents_reference",
    "task_consensus",
]

log = logging.getLogger(__name__)

DEFAULT_TOP_K = 5
"""Tips the consensus model aggregates by default."""
HORIZON_WINDOWS = 3
"""The consensus model's default horizon, in score windows: a tip accepted longer ago than
that before the DAG's last acceptance is stale and left out (unless no tip is recent)."""
HISTORY = 10
"""Changes of the last updates a committee member decoded, kept as the context of its sanity
checks (:func:`~ledgerlearn.core.sanity.check_changes`)."""
DEFAULT_MARGIN: float | None = None
"""By default the consensus model keeps every recent tip among the top K: the robust rule
deals with a poor one, and several tips aggregated beat the best one alone (each carries its
provider's local skew). A margin (metric units) leaves out tips that much below the best."""


class DagSettings(BaseModel):
    """How a provider takes part in a dag task (its own choice, not the task's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parents: int = Field(2, ge=1, le=8, description="Parents per update (the task caps it).")
    alpha: float = Field(
        20.0,
        ge=0,
        allow_inf_nan=False,
        description="Bias of the tip-selection walk toward well-scored children (0: uniform).",
    )
    publish_if_better: bool = Field(
        True,
        description="Publish only a model that beats the parents' merge on the provider's "
        "own held-out split.",
    )
    held_out_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of the local data kept out of training to decide."
    )
    rotate_held_out: bool = Field(
        True,
        description="Draw a fresh held-out split for every attempt, so that over its attempts a "
        "provider trains on all its data (False: one fixed split, never trained on).",
    )
    min_improvement: float = Field(
        0.0, ge=0, description="By how much the metric must beat the merge (ties: the loss)."
    )
    staleness_beta: float | None = Field(
        None,
        ge=0,
        description="Kardam-style dampening of stale parents: a parent s DAG levels behind the "
        "freshest one is pulled toward it by exp(-beta * s); None: off.",
    )
    patience_blocks: int = Field(
        3,
        ge=0,
        description="After a model that did not beat its parents: wait for a new accepted "
        "update or this many blocks before trying again.",
    )


# --- merging ------------------------------------------------------------------------------


def merge_models(
    spec: ModelSpec,
    models: Sequence[Mapping[str, Float32Array]],
    rule: str,
    num_byzantine: int,
    *,
    staleness: Sequence[int] | None = None,
    beta: float | None = None,
) -> Weights:
    """The parents' merge: the task's robust rule over the parents, in the order named.

    The rule tolerates as many Byzantine inputs as the number of parents allows; one parent
    is its own merge. With ``staleness`` and ``beta``, stale parents are dampened first; the
    committee always scores against the plain merge of the parents named on chain (see
    :func:`~ledgerlearn.core.aggregate.merge_vectors`).
    """
    if not models:
        raise ValueError("a merge needs at least one parent")
    vectors = np.stack([flatten(m, spec) for m in models]).astype(np.float32, copy=False)
    merged = merge_vectors(vectors, rule, num_byzantine, staleness=staleness, beta=beta)
    return unflatten(merged, spec)


def parents_reference(mode: ThresholdMode, merge_metric: Callable[[bytes], float]) -> Reference:
    """What a dag update is scored against: the metric of its parents' merge on the member's
    fragment (``merge_metric`` of the update) in the relative and peer modes (in a dag task
    an update's peers are its parents), zero in absolute mode."""
    relative = mode is not ThresholdMode.ABSOLUTE

    def reference(values: Mapping[bytes, float]) -> dict[bytes, float]:
        return {u: merge_metric(u) if relative else 0.0 for u in values}

    return reference


# --- publish-if-better ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a trained model beats its parents' merge on held-out data, and the figures."""

    better: bool
    candidate: float
    reference: float
    candidate_loss: float
    reference_loss: float


def beats(
    spec: ModelSpec,
    candidate: Mapping[str, Float32Array],
    reference: Mapping[str, Float32Array],
    held_out: Dataset,
    metric: str | int | Metric,
    min_improvement: float = 0.0,
) -> Verdict:
    """Whether ``candidate`` beats ``reference`` on ``held_out`` by the task's metric.

    Better means a metric higher by at least ``min_improvement``; with ``min_improvement``
    0 and an equal metric (small held-out sets make ties common), a lower loss decides
    (:func:`~ledgerlearn.core.publish.better`).
    """
    chosen = get_metric(metric)
    names = [chosen.name, "negative_loss"]
    mine = evaluate_all(spec, dict(candidate), held_out, names)
    theirs = evaluate_all(spec, dict(reference), held_out, names)
    candidate_loss, reference_loss = -mine["negative_loss"], -theirs["negative_loss"]
    return Verdict(
        better(
            mine[chosen.name],
            theirs[chosen.name],
            candidate_loss=candidate_loss,
            reference_loss=reference_loss,
            min_improvement=min_improvement,
        ),
        mine[chosen.name],
        theirs[chosen.name],
        candidate_loss,
        reference_loss,
    )


# --- consensus ------------------------------------------------------------------------------


def graph_of(task: TaskRecord, block: int | None = None) -> DagGraph:
    """The DAG of ``task`` as it stood at ``block`` (None: now), from the event index."""
    order = tuple(task.accepted_as_of(block))
    parents = {u: tuple(task.updates[u].parents) for u in order}
    scores: dict[bytes, float] = {}
    for u in order:
        score = task.updates[u].committee_score
        scores[u] = from_fixed(score) if score is not None else 0.0
    cumulative = task.params.threshold_mode is not ThresholdMode.ABSOLUTE
    decided = {u: task.updates[u].decided_block or 0 for u in order}
    return DagGraph(task.root, parents, scores, order, cumulative, decided)


@dataclass(frozen=True)
class ConsensusModel:
    """The consensus model of a dag task at some block."""

    content: bytes
    """safetensors bytes of the model."""
    content_hash: bytes
    """sha256 of ``content``."""
    tips: list[bytes]
    """The tips aggregated, best first (the root while nothing was accepted)."""
    block: int | None
    """The block the DAG was read at (None: the latest)."""
    weights: Weights
    quality: float
    """Mean quality of the aggregated tips (metric units, see
    :class:`~ledgerlearn.core.dag_graph.DagGraph`)."""


def consensus_model(
    spec: ModelSpec,
    graph: DagGraph,
    load: Callable[[bytes], Mapping[str, Float32Array]],
    rule: str,
    num_byzantine: int,
    top_k: int = DEFAULT_TOP_K,
    *,
    horizon: int | None = None,
    margin: float | None = DEFAULT_MARGIN,
    block: int | None = None,
) -> ConsensusModel:
    """The robust aggregate of the ``top_k`` best tips of ``graph``, deterministically.

    Tips are ranked by quality, ties in acceptance order, the stale ones and those more
    than ``margin`` below the best left out (:meth:`DagGraph.ranked_tips`), and aggregated
    in that order with the task's rule at the largest ``num_byzantine`` the count allows;
    the result is encoded canonically, so every process gets the same content hash.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    tips = graph.ranked_tips(horizon, margin)[:top_k]
    weights = merge_models(spec, [load(t) for t in tips], rule, num_byzantine)
    content = encode(weights, spec=spec)
    quality = sum(graph.quality[t] for t in tips) / len(tips)
    return ConsensusModel(content, sha256_digest(content), tips, block, weights, quality)


def task_consensus(
    participant: Member,
    task_id: int,
    top_k: int = DEFAULT_TOP_K,
    block: int | None = None,
    *,
    horizon: int | None = None,
    margin: float | None = DEFAULT_MARGIN,
) -> ConsensusModel:
    """The consensus model of a dag task from a participant's index and IPFS node, as the
    DAG stood at ``block`` (None: now); ``horizon`` in blocks (default
    :data:`HORIZON_WINDOWS` score windows), ``margin`` in metric units.

    Raises
    ------
    AgentError
        The task is unknown or not a dag task.
    StorageError, WeightsError
        A tip's content is unavailable or does not match the task's spec.
    """
    task = participant.task(task_id)
    if task.flow is not Flow.DAG:
        raise AgentError(f"task {task_id} is a {task.flow.name.lower()} task, not a dag task")
    graph = graph_of(task, block)
    spec = participant.spec(task_id)
    return consensus_model(
        spec,
        graph,
        lambda h: participant.fetch_weights(task_id, h),
        RULE_NAMES[task.params.aggregation_rule],
        task.params.num_byzantine,
        top_k,
        horizon=HORIZON_WINDOWS * task.params.score_window if horizon is None else horizon,
        margin=margin,
        block=block,
    )


# --- the keeper -----------------------------------------------------------------------------


class DagKeeper:
    """Keeps a dag task going for its publisher: settles late updates, closes on time.

    Parameters
    ----------
    participant
        The publisher's agent (only the publisher may close the task).
    task_id
        The dag task.
    close_at
        Block from which the task is closed (None: the keeper never closes it).
    """

    def __init__(self, participant: Member, task_id: int, close_at: int | None) -> None:
        self.participant = participant
        self.task_id = task_id
        self.close_at = close_at

    def step(self) -> bool:
        """Settle what is due, close when due; True when a transaction was sent."""
        p = self.participant
        task = p.task(self.task_id)
        if task.closed:
            return False
        next_block = p.head + 1
        if self.close_at is not None and next_block >= self.close_at:
            with p.stopwatch.measure("chain"):
                p.client.close_task(self.task_id)
            log.info("task %d: closed at block %d", self.task_id, next_block)
            return True
        quorum = task.params.quorum
        due = [
            u.update
            for u in task.updates.values()
            if u.status is Status.PENDING
            and task.scoring_deadlines(u.update).settleable(next_block, len(u.scores), quorum)
        ]
        if not due:
            return False
        with p.stopwatch.measure("chain"):
            p.client.settle_updates(self.task_id, due)
        log.info("task %d: settled %d late updates", self.task_id, len(due))
        return True


class DagFlow(FlowStrategy):
    """An asynchronous DAG of updates, each naming its parents, scored one by one."""

    flow = Flow.DAG
    name = "dag"
    has_rounds = False
    has_graph = True
    ends_itself = False

    def keeper(self, member: Member, task_id: int, *, close_at: int | None = None) -> Keeper:
        """A :class:`DagKeeper`: settles late updates, and closes the task from ``close_at``
        (only the publisher may)."""
        return DagKeeper(member, task_id, close_at)

    def closed_line(self, task: TaskRecord) -> str:
        return (
            f"task {task.task_id} closed with {len(task.accepted)} accepted updates and "
            f"{len(task.tips())} tips; its consensus model: "
            f"`ledgerlearn dag consensus --task {task.task_id}`"
        )
