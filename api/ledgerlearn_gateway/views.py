"""Response models built from the index (call under the gateway's lock).

Pure functions of a :class:`~ledgerlearn.chain.index.TaskRecord` and the chain head: the same
events give the same views in every gateway.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Literal

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed, passes
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.training import METRICS_BY_ID
from ledgerlearn_gateway.consensus import ConsensusVersion
from ledgerlearn_gateway.models import (
    DagEdge,
    DagNode,
    DagView,
    MetricCurve,
    MetricPoint,
    ProposalView,
    RoundDetail,
    RoundView,
    ScoreView,
    TaskDetail,
    TaskSummary,
    UpdateView,
)


def hexed(digest: bytes) -> str:
    """A content hash as 0x-hex."""
    return "0x" + digest.hex()


def _status(status: Status) -> str:
    return "pending" if status in (Status.PENDING, Status.NONE) else status.name.lower()


def _metric_name(task: TaskRecord) -> str:
    metric = METRICS_BY_ID.get(int(task.params.metric))
    return metric.name if metric is not None else f"metric {int(task.params.metric)}"


def task_summary(task: TaskRecord) -> TaskSummary:
    """What a task list shows."""
    p = task.params
    accepted = sum(u.status is Status.ACCEPTED for u in task.updates.values())
    return TaskSummary(
        task_id=task.task_id,
        publisher=task.publisher,
        flow=FLOWS[p.flow].name,
        metric=_metric_name(task),
        threshold=from_fixed(p.threshold),
        threshold_mode=p.threshold_mode.name.lower(),
        quorum=p.quorum,
        max_faulty_validators=p.max_faulty_validators,
        committee=list(p.committee),
        aggregation_rule=RULE_NAMES.get(p.aggregation_rule, str(p.aggregation_rule)),
        num_byzantine=p.num_byzantine,
        max_rounds=p.max_rounds,
        round_length=p.round_length,
        score_window=p.score_window,
        max_parents=p.max_parents,
        min_updates=p.min_updates,
        round_extension=p.round_extension,
        score_extension=p.score_extension,
        attest_window=p.attest_window,
        max_pending=p.max_pending,
        draw_size=p.draw_size,
        commit_window=p.commit_window,
        max_rejections=p.max_rejections,
        published_block=task.published_block,
        stage=task.stage.name.lower(),
        opened_block=task.opened_block,
        excluded=list(task.excluded),
        closed=task.closed,
        current_round=max(task.rounds) if task.rounds else None,
        providers=len(task.providers),
        updates=len(task.updates),
        accepted=accepted,
        model_spec_cid=p.model_spec_cid,
        initial_weights_cid=p.initial_weights_cid,
        initial_weights_hash=hexed(p.initial_weights_hash),
    )


def task_detail(task: TaskRecord) -> TaskDetail:
    """One task with its content addresses and participants."""
    p = task.params
    return TaskDetail(
        **task_summary(task).model_dump(),
        model_spec_hash=hexed(p.model_spec_hash),
        fragment_cids=list(p.fragment_cids),
        provider_accounts=list(task.providers),
        final_model_hash=hexed(task.final_model_hash) if task.final_model_hash else None,
    )


def _median(update: UpdateRecord) -> float | None:
    """The lower median of an update's scores (the committee's verdict); None without scores
    or when that median is an invalid score."""
    low = update.committee_score
    return None if low is None or low == SCORE_INVALID else from_fixed(low)


def update_view(task: TaskRecord, update: UpdateRecord) -> UpdateView:
    """An update with every validator's score and the decision."""
    threshold = task.params.threshold
    return UpdateView(
        task_id=task.task_id,
        update=hexed(update.update),
        provider=update.provider,
        round=update.round,
        cid=update.cid,
        num_samples=update.num_samples,
        parents=[hexed(p) for p in update.parents],
        block_number=update.block_number,
        status=_status(update.status),
        decided_block=update.decided_block,
        scores=[
            ScoreView(
                validator=v,
                score=None if s == SCORE_INVALID else from_fixed(s),
                invalid=s == SCORE_INVALID,
                passed=passes(s, threshold),
            )
            for v, s in update.scores.items()
        ],
        median_score=_median(update),
    )


def round_view(
    task: TaskRecord, record: RoundRecord, head: int, metric: float | None = None
) -> RoundView:
    """A federation round and where it stands at block ``head``."""
    deadlines = task.round_deadlines(record.round)
    statuses = [task.updates[u].status for u in record.updates]
    status: Literal["open", "waiting", "scoring", "aggregating", "finalized"]
    if record.result_hash is not None:
        status = "finalized"
    elif head < deadlines.submissions_close:
        status = "waiting" if deadlines.waiting and head >= deadlines.base_close else "open"
    elif Status.PENDING in statuses and head < deadlines.extended_close:
        status = "scoring"
    else:
        status = "aggregating"
    return RoundView(
        task_id=task.task_id,
        round=record.round,
        status=status,
        start_block=record.start_block,
        submissions_close_block=deadlines.submissions_close,
        scoring_close_block=deadlines.scoring_close,
        extended_scoring_close_block=deadlines.extended_close,
        attestation_close_block=deadlines.attestation_close,
        base_model_hash=hexed(record.base_model_hash),
        base_model_cid=record.base_model_cid,
        submitted=len(record.updates),
        accepted=statuses.count(Status.ACCEPTED),
        rejected=statuses.count(Status.REJECTED),
        expired=statuses.count(Status.EXPIRED),
        pending=statuses.count(Status.PENDING),
        proposals=[
            ProposalView(
                result_hash=hexed(pr.result_hash),
                cid=pr.cid,
                cids=pr.cids,
                proposer=pr.proposer,
                updates=len(pr.updates),
                attesters=list(pr.attesters),
            )
            for pr in record.proposals.values()
        ],
        result_hash=hexed(record.result_hash) if record.result_hash else None,
        result_cid=task.cid_of(record.result_hash) if record.result_hash else None,
        finalized_block=record.finalized_block,
        closed_at_deadline=record.closed_at_deadline,
        kept_base_model=record.kept_base_model,
        metric=metric,
    )


def round_detail(
    task: TaskRecord, record: RoundRecord, head: int, metric: float | None = None
) -> RoundDetail:
    """A round with its updates in submission order."""
    return RoundDetail(
        **round_view(task, record, head, metric).model_dump(),
        updates=[update_view(task, task.updates[u]) for u in record.updates],
    )


def dag_view(task: TaskRecord) -> DagView:
    """Nodes (root and updates), edges (parent -> child) and tips of a dag task."""
    root = task.params.initial_weights_hash
    nodes = [
        DagNode(
            id=hexed(root),
            kind="root",
            provider=None,
            status="accepted",
            block_number=task.published_block,
            cid=task.params.initial_weights_cid,
            median_score=None,
        )
    ]
    edges: list[DagEdge] = []
    approved: set[bytes] = set()
    for u in sorted(task.updates.values(), key=lambda r: r.block_number):
        nodes.append(
            DagNode(
                id=hexed(u.update),
                kind="update",
                provider=u.provider,
                status=_status(u.status),
                block_number=u.block_number,
                cid=u.cid,
                median_score=_median(u),
            )
        )
        for parent in u.parents:
            edges.append(DagEdge(parent=hexed(parent), child=hexed(u.update)))
            if u.status is Status.ACCEPTED:
                approved.add(parent)
    accepted = [root] + [
        u.update
        for u in sorted(task.updates.values(), key=lambda r: r.block_number)
        if u.status is Status.ACCEPTED
    ]
    tips = [hexed(h) for h in accepted if h not in approved]
    return DagView(task_id=task.task_id, nodes=nodes, edges=edges, tips=tips)


@dataclass(frozen=True)
class CurveModel:
    """A model on a task's learning curve."""

    at: int
    """Where on the curve: its round (0: the initial weights), or the block it was computed at
    (a consensus model)."""
    content_hash: bytes
    cid: str
    """Its CID ("" when the index does not know it)."""


def curve_models(task: TaskRecord, consensus: list[ConsensusVersion]) -> list[CurveModel]:
    """The models of a task's learning curve, in order: its initial weights, then each
    finalized round's result (a flow with rounds) or each of the ``consensus`` models the
    gateway computed (a flow with a graph)."""
    p = task.params
    models = [CurveModel(0, p.initial_weights_hash, p.initial_weights_cid)]
    if FLOWS[task.flow].has_graph:
        models += [CurveModel(v.block, v.content_hash, v.cid) for v in consensus]
    else:
        models += [
            CurveModel(n, r.result_hash, task.cid_of(r.result_hash) or "")
            for n, r in sorted(task.rounds.items())
            if r.result_hash
        ]
    return models


def metric_curve(
    task: TaskRecord,
    evaluated: dict[tuple[int, bytes], float],
    held_out: str | None,
    unfit: str | None,
    consensus: list[ConsensusVersion] | None = None,
) -> MetricCurve:
    """The curve of a task: the gateway's own evaluation of each round's global model (a
    flow with rounds) or of each consensus model it computed (a flow with a graph, by block)
    when it has a held-out set that fits; else the committee's scores."""
    metric = _metric_name(task)
    by_block = FLOWS[task.flow].has_graph  # its global models are the consensus models
    versions = consensus or []
    axis: Literal["round", "block"] = "block" if by_block else "round"
    if held_out is not None and unfit is None:
        if by_block:
            what = "each consensus model (by the block it was computed at)"
        else:
            what = "each round's global model"
        points = []
        for model in curve_models(task, versions):
            value = evaluated.get((task.task_id, model.content_hash))
            if value is not None:
                points.append(
                    MetricPoint(round=model.at, value=value, content_hash=hexed(model.content_hash))
                )
        return MetricCurve(
            task_id=task.task_id,
            metric=metric,
            source="gateway",
            axis=axis,
            description=f"{metric} of {what} on {held_out}",
            points=points,
        )
    why = f" ({unfit})" if unfit else " (the gateway has no held-out set)"
    mode = task.params.threshold_mode.name.lower()
    points = []
    if by_block:
        for v in versions:
            points.append(
                MetricPoint(round=v.block, value=v.quality, content_hash=hexed(v.content_hash))
            )
        level = "" if mode == "absolute" else " gained over the initial model"
        return MetricCurve(
            task_id=task.task_id,
            metric=metric,
            source="committee" if points else "none",
            axis=axis,
            description=f"committee scores: estimated {metric}{level} of the tips each "
            f"consensus model aggregates, by block{why}",
            points=points,
        )
    meaning = {
        "absolute": f"{metric} of the accepted updates on the committee's validation fragments",
        "relative": f"{metric} gain of the accepted updates over the round's global model",
        "peer": f"{metric} of the accepted updates relative to the median of their round",
    }[mode]
    for number, record in sorted(task.rounds.items()):
        medians = [m for u in record.accepted if (m := _median(task.updates[u])) is not None]
        if medians:
            points.append(
                MetricPoint(round=number, value=statistics.median(medians), content_hash=None)
            )
    return MetricCurve(
        task_id=task.task_id,
        metric=metric,
        source="committee" if points else "none",
        axis=axis,
        description=f"committee scores: median over accepted updates of the {meaning}{why}",
        points=points,
    )
