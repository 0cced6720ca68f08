"""A federation task's receipts and its part of the model card, from the index.

A round's receipt is what anyone needs to recompute its result from the chain: the base model,
the accepted updates in acceptance order (the order of the on-chain digest, which a proposal
must match, and of the aggregate), the rule and its parameter, the result with the CIDs the
members serve it from, who attested it, and the blocks.
"""

from __future__ import annotations

from typing import Any

from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.rules import Status, ThresholdMode, accepted_digest
from ledgerlearn.flows.card import CardSection, Evaluate, hexed, median_of_accepted
from ledgerlearn.flows.federation.results import finalized_rounds
from ledgerlearn.flows.models import TaskModel

__all__ = ["SCORES", "round_receipts", "rounds_section"]

SCORES = {
    ThresholdMode.ABSOLUTE: "the update's metric on the member's validation fragment",
    ThresholdMode.RELATIVE: "the update's metric minus the round's base model's",
    ThresholdMode.PEER: "the update's metric minus the median metric of the round's valid "
    "updates (so a round's median is near 0)",
}
"""What a committee member's score of an update is, by the task's threshold mode."""


def round_receipts(task: TaskRecord) -> list[dict[str, Any]]:
    """One receipt per finalized round, in order (see the module)."""
    rule = RULE_NAMES.get(task.params.aggregation_rule, str(task.params.aggregation_rule))
    out = []
    for record in finalized_rounds(task):
        result = record.result_hash
        assert result is not None
        proposal = record.proposals.get(result)
        out.append(
            {
                "round": record.round,
                "base_model": {
                    "hash": hexed(record.base_model_hash),
                    "cid": record.base_model_cid,
                },
                "accepted_updates": [
                    {
                        "hash": hexed(u),
                        "cid": task.updates[u].cid,
                        "provider": task.updates[u].provider,
                    }
                    for u in record.accepted
                ],
                "accepted_digest": hexed(accepted_digest(record.accepted)),
                "rule": rule,
                "num_byzantine": task.params.num_byzantine,
                "result": {
                    "hash": hexed(result),
                    "cids": task.cids_of(result) or [record.base_model_cid],
                },
                "kept_base_model": record.kept_base_model,
                "closed_at_deadline": record.closed_at_deadline,
                "attesters": list(proposal.attesters) if proposal is not None else [],
                "start_block": record.start_block,
                "finalized_block": record.finalized_block,
            }
        )
    return out


def rounds_section(
    task: TaskRecord, model: TaskModel | None, evaluate: Evaluate | None
) -> CardSection:
    """The rounds of a federation task for its card: per round the updates and decisions, the
    committee's median score of the accepted ones and, with ``evaluate``, its result's metric
    (round 0: the initial weights); the receipts and the commands that re-verify them."""
    metric = task.params.metric.name.lower()
    columns = [
        "round",
        "submitted",
        "accepted",
        "rejected",
        "expired",
        "committee median",
        f"test {metric}",
        "result",
        "finalized at block",
    ]
    initial = task.params.initial_weights_hash
    rows: list[list[Any]] = [
        [0, None, None, None, None, None, _metric(evaluate, initial), hexed(initial)[:14], None]
    ]
    for number, record in sorted(task.rounds.items()):
        statuses = [task.updates[u].status for u in record.updates]
        result = record.result_hash
        rows.append(
            [
                number,
                len(statuses),
                statuses.count(Status.ACCEPTED),
                statuses.count(Status.REJECTED),
                statuses.count(Status.EXPIRED),
                median_of_accepted(task, record.accepted),
                _metric(evaluate, result) if result is not None else None,
                hexed(result)[:14] if result is not None else "(open)",
                record.finalized_block,
            ]
        )
    receipts = round_receipts(task)
    lines = []
    for r in receipts:
        updates = r["accepted_updates"]
        kept = " (kept its base model)" if r["kept_base_model"] else ""
        lines.append(
            f"- **Round {r['round']}**: base `{r['base_model']['hash']}` + "
            f"{len(updates)} accepted update(s) (digest `{r['accepted_digest']}`) → "
            f"{r['rule']} → result `{r['result']['hash']}`{kept} at CID "
            f"`{r['result']['cids'][0]}`, attested by {len(r['attesters'])}, finalized at "
            f"block {r['finalized_block']}."
        )
        lines += [f"  - `{u['hash']}` (`{u['cid']}`) by `{u['provider']}`" for u in updates]
    task_id = task.task_id
    commands = [f"ledgerlearn model verify {task_id}"]
    if model is not None:
        commands += [
            f"ledgerlearn model get {task_id} --round {model.round} --format safetensors "
            f"--out model-{task_id}",
            f"sha256sum model-{task_id}/model.safetensors  # {model.content_hash.hex()}",
        ]
    notes = [
        "The committee median is the median, over a round's accepted updates, of each "
        f"update's lower median score; a score is {SCORES[task.params.threshold_mode]}."
    ]
    return CardSection(
        title="Rounds",
        columns=columns,
        rows=rows,
        receipts={"rounds": receipts},
        receipt_lines=lines or ["- No round finalized yet."],
        commands=commands,
        notes=notes,
    )


def _metric(evaluate: Evaluate | None, digest: bytes) -> float | None:
    return evaluate(digest) if evaluate is not None else None
