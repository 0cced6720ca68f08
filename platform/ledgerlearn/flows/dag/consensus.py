"""The consensus model of a dag task: the robust aggregate of its best tips, the same bytes for
everyone who reads the same chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.dag_graph import DagGraph
from ledgerlearn.core.rules import ThresholdMode, from_fixed
from ledgerlearn.core.types import Float32Array, Weights
from ledgerlearn.errors import AgentError
from ledgerlearn.flows.dag.updates import merge_models
from ledgerlearn.flows.models import NoModelError, TaskModel
from ledgerlearn.flows.ports import Member
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import encode
from ledgerlearn.storage.content import sha256_digest

DEFAULT_TOP_K = 5
"""Tips the consensus model aggregates by default."""
HORIZON_WINDOWS = 3
"""The consensus model's default horizon, in score windows: a tip accepted longer ago than
that before the DAG's last acceptance is stale and left out (unless no tip is recent)."""
DEFAULT_MARGIN: float | None = None
"""By default the consensus model keeps every recent tip among the top K: the robust rule
deals with a poor one, and several tips aggregated beat the best one alone (each carries its
provider's local skew). A margin (metric units) leaves out tips that much below the best."""


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
    if not task.flow.has_graph:
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


def consensus_task_model(member: Member, task: TaskRecord, block: int | None = None) -> TaskModel:
    """A dag task's model: its consensus model as the DAG stood at ``block`` (None: the
    member's latest block), with the defaults of :func:`task_consensus` (anyone gets the
    same bytes: ``ledgerlearn dag consensus --task N --at-block B``).

    Raises
    ------
    NoModelError
        Nothing was accepted by ``block``: the task has learned nothing yet.
    StorageError, WeightsError
        A tip's content is unavailable or does not match the task's spec.
    """
    at = member.head if block is None else block
    accepted = task.accepted_as_of(at)
    if not accepted:
        state = "closed" if task.closed else "still open"
        raise NoModelError(
            f"task {task.task_id} has no accepted update by block {at} (it is {state}): "
            "no model to take out yet"
        )
    model = task_consensus(member, task.task_id, block=at)
    rule = RULE_NAMES.get(task.params.aggregation_rule, str(task.params.aggregation_rule))
    return TaskModel(
        task_id=task.task_id,
        content=model.content,
        content_hash=model.content_hash,
        source=(
            f"consensus model: {rule} of the best {len(model.tips)} tip(s) of "
            f"{len(accepted)} accepted updates, as the DAG stood at block {at}"
        ),
        block=at,
        parts=tuple(model.tips),
    )
