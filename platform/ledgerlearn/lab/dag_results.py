"""What a dag run produced, read back from the chain's events and IPFS.

The DAG itself (every update with its parents, the committee's decision and score, its
quality), the tips when the task closed, and the consensus model's test metric over time:
the consensus model is recomputed as the DAG stood after each change of its top-K tips
(:func:`~ledgerlearn.flows.dag.consensus.task_consensus` with a block), so the curve is what any
participant would have computed then.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ledgerlearn.agents.participant import Participant
from ledgerlearn.core.rules import SCORE_INVALID, Flow, Status, from_fixed
from ledgerlearn.data import Dataset
from ledgerlearn.flows.dag.consensus import DEFAULT_MARGIN, DEFAULT_TOP_K, graph_of, task_consensus
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.lab.results import RunResult, update_row
from ledgerlearn.training import METRICS_BY_ID, evaluate

__all__ = ["MAX_CURVE_POINTS", "CurvePoint", "DagHistory", "DagNode", "collect_dag", "dag_of"]

MAX_CURVE_POINTS = 60
"""Most points of the consensus curve (evenly spread over the changes of the top tips)."""


@dataclass(frozen=True)
class DagNode:
    """One update of the DAG."""

    update: str  # content hash, hex
    provider: str
    behaviour: str
    status: str
    parents: list[str]  # content hashes, hex (the root is the initial weights)
    submitted_block: int
    decided_block: int | None
    score: float | None  # committee score (lower median); None: no score or invalid
    quality: float | None  # accepted updates: quality (core.dag_graph)


@dataclass(frozen=True)
class CurvePoint:
    """The consensus model as of one block."""

    block: int
    seconds: float  # since publication, at the run's block time
    metric: float  # test metric
    content_hash: str
    tips: list[str]


@dataclass
class DagHistory:
    """The DAG of a run, its tips and the consensus model over time."""

    flow: ClassVar[Flow] = Flow.DAG
    root: str
    published_block: int
    closed_block: int | None
    block_time_s: float
    top_k: int
    nodes: list[DagNode] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)  # when the task closed, best first
    consensus: list[CurvePoint] = field(default_factory=list)
    dropped: int | None = None
    """Models providers trained but did not publish (publish-if-better); None: not known
    (each provider process knows its own)."""

    @property
    def final(self) -> CurvePoint | None:
        """The consensus model when the task closed."""
        return self.consensus[-1] if self.consensus else None

    @property
    def final_metric(self) -> float | None:
        """Test metric of the final consensus model."""
        return self.final.metric if self.final is not None else None

    def json_fields(self) -> dict[str, Any]:
        """``dag``: the whole history."""
        return {"dag": dataclasses.asdict(self)}


def dag_of(result: RunResult) -> DagHistory:
    """The DAG of a dag run.

    Raises
    ------
    ValueError
        If ``result`` is not a dag run.
    """
    if not isinstance(result.history, DagHistory):
        raise ValueError(f"task {result.task_id} is not a dag run (no DAG in the result)")
    return result.history


def collect_dag(
    participant: Participant,
    task_id: int,
    test: Dataset,
    names: dict[str, str],
    behaviours: dict[str, str],
    *,
    top_k: int = DEFAULT_TOP_K,
    margin: float | None = DEFAULT_MARGIN,
    block_time_s: float = 1.0,
    max_points: int = MAX_CURVE_POINTS,
    dropped: int | None = None,
) -> RunResult:
    """Read a dag task's history and evaluate the consensus model over time on ``test``.

    Parameters
    ----------
    participant
        Any participant (read access to the chain and IPFS), synced.
    names, behaviours
        Display name and behaviour of each account (providers and validators).
    top_k, margin
        Tips the consensus model aggregates, and how far below the best one they may be.
    block_time_s
        Seconds per block, for the time axis.
    dropped
        Models the providers trained but did not publish, if the caller knows.
    """
    task = participant.task(task_id)
    strategy = FLOWS[task.flow]
    if not strategy.has_graph:
        raise ValueError(f"task {task_id} is a {strategy.name} task: it has no DAG")
    spec = participant.spec(task_id)
    metric = METRICS_BY_ID[int(task.params.metric)]
    initial = participant.fetch_weights(task_id, task.root)
    initial_metric = evaluate(spec, initial, test, metric)
    end = task.closed_block if task.closed_block is not None else participant.head
    graph = graph_of(task, end)
    history = DagHistory(
        root="0x" + task.root.hex(),
        published_block=task.published_block,
        closed_block=task.closed_block,
        block_time_s=block_time_s,
        top_k=top_k,
        dropped=dropped,
    )
    result = RunResult(task_id, metric.name, initial_metric, history)
    result.published_block = task.published_block
    for u in task.updates.values():
        score = u.committee_score
        row = update_row(u, names, behaviours, round=u.submitted_block)
        result.updates.append(row)
        history.nodes.append(
            DagNode(
                update=row.update,
                provider=row.provider,
                behaviour=row.behaviour,
                status=row.status,
                parents=["0x" + p.hex() for p in u.parents],
                submitted_block=u.submitted_block,
                decided_block=u.decided_block,
                score=None if score is None or score == SCORE_INVALID else from_fixed(score),
                quality=graph.quality.get(u.update) if u.status is Status.ACCEPTED else None,
            )
        )
    history.tips = ["0x" + t.hex() for t in graph.ranked_tips()]
    blocks = _curve_blocks(
        task.published_block,
        end,
        [task.updates[u].decided_block or end for u in task.accepted_as_of(end)],
        max_points,
    )
    seen: dict[bytes, float] = {}
    for block in blocks:
        model = task_consensus(participant, task_id, top_k, block, margin=margin)
        if model.content_hash not in seen:
            seen[model.content_hash] = evaluate(spec, model.weights, test, metric)
        history.consensus.append(
            CurvePoint(
                block=block,
                seconds=(block - task.published_block) * block_time_s,
                metric=seen[model.content_hash],
                content_hash="0x" + model.content_hash.hex(),
                tips=["0x" + t.hex() for t in model.tips],
            )
        )
    return result


def _curve_blocks(start: int, end: int, decided: list[int], max_points: int) -> list[int]:
    """The publication block, the blocks where the DAG changed (at most ``max_points``,
    evenly spread) and the end."""
    changes = sorted(set(decided))
    if len(changes) > max_points:
        step = len(changes) / max_points
        changes = [changes[int(i * step)] for i in range(max_points)]
    return sorted({start, *changes, end})
