"""A dag task's receipts and its part of the model card, from the index.

The receipts are the DAG the chain records (every accepted update with its parents, provider,
committee score and the block it was accepted in, in acceptance order) and how the consensus
model was computed from it (the tips it aggregates, the rule, the block the DAG was read at):
``ledgerlearn dag consensus --task N --at-block B`` recomputes the same bytes.
"""

from __future__ import annotations

from typing import Any

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.flows.card import CardSection, Evaluate, committee_median, hexed
from ledgerlearn.flows.dag.consensus import DEFAULT_TOP_K, HORIZON_WINDOWS
from ledgerlearn.flows.models import TaskModel

__all__ = ["dag_receipts", "dag_section"]


def dag_receipts(task: TaskRecord, model: TaskModel | None) -> dict[str, Any]:
    """The accepted updates in acceptance order, and the consensus model's recipe."""
    block = model.block if model is not None else None
    accepted = [
        {
            "hash": hexed(u),
            "cid": task.updates[u].cid,
            "provider": task.updates[u].provider,
            "parents": [hexed(p) for p in task.updates[u].parents],
            "committee_score": committee_median(task.updates[u]),
            "accepted_block": task.updates[u].decided_block,
        }
        for u in task.accepted_as_of(block)
    ]
    consensus = None
    if model is not None:
        consensus = {
            "block": model.block,
            "top_k": DEFAULT_TOP_K,
            "horizon_blocks": HORIZON_WINDOWS * task.params.score_window,
            "rule": RULE_NAMES.get(task.params.aggregation_rule, str(task.params.aggregation_rule)),
            "num_byzantine": task.params.num_byzantine,
            "tips": [hexed(t) for t in model.parts],
            "content_hash": hexed(model.content_hash),
        }
    return {
        "root": {"hash": hexed(task.root), "cid": task.params.initial_weights_cid},
        "accepted_updates": accepted,
        "consensus": consensus,
    }


def dag_section(
    task: TaskRecord, model: TaskModel | None, evaluate: Evaluate | None
) -> CardSection:
    """The accepted updates of a dag task for its card, the consensus model (with
    ``evaluate``, its metric), the receipts and the commands that re-verify them."""
    receipts = dag_receipts(task, model)
    rows = [
        [
            u["hash"][:14],
            u["provider"],
            ", ".join(p[:14] for p in u["parents"]),
            u["committee_score"],
            u["accepted_block"],
        ]
        for u in receipts["accepted_updates"]
    ]
    lines = [f"- Root (the initial weights): `{receipts['root']['hash']}`."]
    lines += [
        f"- `{u['hash']}` (`{u['cid']}`) by `{u['provider']}` on "
        + ", ".join(f"`{p}`" for p in u["parents"])
        + f", accepted at block {u['accepted_block']}"
        for u in receipts["accepted_updates"]
    ]
    notes = []
    commands = []
    consensus = receipts["consensus"]
    if consensus is not None and model is not None:
        metric = evaluate(model.content_hash) if evaluate is not None else None
        measured = (
            f"; test {task.params.metric.name.lower()} {metric:.4f}" if metric is not None else ""
        )
        notes.append(
            f"Consensus model `{consensus['content_hash']}`: {consensus['rule']} of "
            f"{len(consensus['tips'])} tip(s) as of block {consensus['block']}{measured}."
        )
        lines.append(
            f"- Consensus as of block {consensus['block']}: {consensus['rule']} of the tips "
            + ", ".join(f"`{t}`" for t in consensus["tips"])
            + f" → `{consensus['content_hash']}`."
        )
        commands = [
            f"ledgerlearn dag consensus --task {task.task_id} --at-block {consensus['block']}"
            f"  # content hash {consensus['content_hash']}",
            f"ledgerlearn model verify {task.task_id} --at-block {consensus['block']}",
        ]
    return CardSection(
        title="Accepted updates",
        columns=["update", "provider", "parents", "committee score", "accepted at block"],
        rows=rows,
        receipts=receipts,
        receipt_lines=lines,
        commands=commands,
        notes=notes,
    )
