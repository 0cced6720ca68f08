"""A task's model card: what was trained, by whom, how it was decided, and the receipts that
let anyone re-verify it — all read from the chain's events (the index) and the task's spec.

What every flow has is here (:func:`model_card`): the spec, the policy, the committee, the
providers that joined and contributed, the committee's decisions; the flow adds its own part
(:class:`CardSection`, from :meth:`~ledgerlearn.flows.base.FlowStrategy.card_section`): a
federation task's rounds with each round's receipt, a dag task's accepted updates and the
consensus model. :meth:`ModelCard.as_json` is ``card.json``, :meth:`ModelCard.to_markdown`
``card.md``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledgerlearn.chain.index import TaskRecord, UpdateRecord
from ledgerlearn.core.rules import SCORE_INVALID, Status, from_fixed
from ledgerlearn.flows.models import TaskModel
from ledgerlearn.flows.policy import policy_fields
from ledgerlearn.model import ModelSpec

__all__ = [
    "CardSection",
    "Evaluate",
    "ModelCard",
    "committee_median",
    "hexed",
    "median_of_accepted",
    "model_card",
]

Evaluate = Callable[[bytes], float | None]
"""The task's metric of a model of the task, by content hash, on a test set the caller chose
(None: not evaluated)."""


def hexed(digest: bytes) -> str:
    """A hash as the card writes it: ``0x`` and 64 hex digits."""
    return "0x" + digest.hex()


def committee_median(update: UpdateRecord) -> float | None:
    """The committee's verdict on an update as a number: the lower median of its scores (what
    the contract settles on); None without scores or when that median is an invalid score."""
    low = update.committee_score
    return None if low is None or low == SCORE_INVALID else from_fixed(low)


def median_of_accepted(task: TaskRecord, updates: Sequence[bytes]) -> float | None:
    """The median over the accepted ``updates`` of their committee medians (None: none)."""
    values = [
        m
        for u in updates
        if task.updates[u].status is Status.ACCEPTED
        and (m := committee_median(task.updates[u])) is not None
    ]
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class CardSection:
    """What a task's flow adds to its card."""

    title: str
    """The table's heading ("Rounds", "Accepted updates")."""
    columns: list[str]
    rows: list[list[Any]]
    """The table: one row per round, or per accepted update."""
    receipts: dict[str, Any]
    """What anyone needs to recompute the task's models from the chain (hashes, CIDs, order,
    rule, blocks), as JSON."""
    receipt_lines: list[str]
    """The receipts for a person (markdown list items)."""
    commands: list[str]
    """Commands that re-verify the task's model (without ``--rpc`` and ``-d``)."""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ModelCard:
    """A task's model card (see the module)."""

    task: dict[str, Any]
    trained: dict[str, Any]
    policy: dict[str, Any]
    committee: dict[str, Any]
    providers: dict[str, Any]
    updates: dict[str, int]
    model: dict[str, Any] | None
    """The task's model (:class:`~ledgerlearn.flows.models.TaskModel` without its bytes);
    None while it has none."""
    no_model: str | None
    """Why it has none."""
    section: CardSection
    evaluated_on: str | None = None

    def as_json(self) -> dict[str, Any]:
        """``card.json``."""
        s = self.section
        return {
            "task": self.task,
            "trained": self.trained,
            "policy": self.policy,
            "committee": self.committee,
            "providers": self.providers,
            "updates": self.updates,
            "model": self.model,
            "no_model": self.no_model,
            "evaluated_on": self.evaluated_on,
            "history": {
                "title": s.title,
                "columns": s.columns,
                "rows": s.rows,
                "notes": s.notes,
            },
            "receipts": s.receipts,
            "reverify": s.commands,
        }

    def to_markdown(self) -> str:
        """``card.md``."""
        t, s = self.task, self.section
        state = (
            f"closed at block {t['closed_block']}"
            if t["closed"]
            else f"still open (this card is as of block {t['as_of_block']})"
        )
        out = [
            f"# Model card: task {t['id']} ({t['flow']})",
            "",
            f"Published by `{t['publisher']}` at block {t['published_block']}; {state}.",
            "",
            "## What was trained",
            "",
        ]
        tr = self.trained
        out += [
            f"- A model of {tr['layers']} layers and {tr['parameters']:,} parameters: input "
            f"{_shape(tr['input_shape'])}, {tr['num_classes']} classes, logits out.",
            *[f"  - {i}: `{layer}`" for i, layer in enumerate(tr["layer_specs"])],
            f"- Its spec: sha256 `{tr['spec_hash']}`, CID `{tr['spec_cid']}`.",
            f"- Initial weights: sha256 `{tr['initial_weights_hash']}`, "
            f"CID `{tr['initial_weights_cid']}`.",
            f"- Judged by the committee on {tr['metric']} on its members' validation fragments "
            f"({tr['fragments']} fragments, one per member, encrypted to it).",
            "",
            "## The model",
            "",
        ]
        if self.model is not None:
            m = self.model
            out += [
                f"- {m['source']}.",
                f"- sha256 `{m['content_hash']}` ({m['bytes']:,} bytes of safetensors).",
            ]
            if m["cids"]:
                out.append(f"- Served at CID `{m['cids'][0]}`" + _more(m["cids"]) + ".")
            out.append(f"- Take it out: `ledgerlearn model get {t['id']} --format all --out DIR`.")
        else:
            out.append(f"- None yet: {self.no_model}.")
        out += ["", "## Policy", "", "| field | value |", "|---|---|"]
        out += [f"| {name} | {value} |" for name, value in self.policy.items()]
        c = self.committee
        out += [
            "",
            "## Committee",
            "",
            f"{len(c['members'])} members; an update needs k = {c['quorum']} scores at its "
            f"deadline and a round k attestations; up to f = {c['tolerated_liars']} members may "
            "lie. Accepted once a majority of the committee clear the threshold; at the "
            "deadline, with at least k scores, the lower median counts and more than f must "
            "clear it.",
            "",
            *[f"- `{member}`" for member in c["members"]],
            "",
            "## Providers and their updates",
            "",
        ]
        p, u = self.providers, self.updates
        out += [
            f"{len(p['joined'])} providers joined, {len(p['contributing'])} sent updates, "
            f"{len(p['accepted'])} had at least one accepted.",
            "",
            "| submitted | accepted | rejected | expired | pending |",
            "|---|---|---|---|---|",
            f"| {u['submitted']} | {u['accepted']} | {u['rejected']} | {u['expired']} | "
            f"{u['pending']} |",
            "",
            "| provider | submitted | accepted | rejected | expired |",
            "|---|---|---|---|---|",
            *[
                f"| `{row['provider']}` | {row['submitted']} | {row['accepted']} | "
                f"{row['rejected']} | {row['expired']} |"
                for row in p["per_provider"]
            ],
            "",
            f"## {s.title}",
            "",
        ]
        if self.evaluated_on:
            out += [f"Metric evaluated here on {self.evaluated_on}.", ""]
        out += [
            "| " + " | ".join(s.columns) + " |",
            "|" + "---|" * len(s.columns),
            *["| " + " | ".join(_cell(v) for v in row) + " |" for row in s.rows],
        ]
        out += [*(["", *s.notes] if s.notes else [])]
        out += ["", "## Receipts", "", *s.receipt_lines, ""]
        out += [
            "## Re-verify",
            "",
            "Against the same chain (add `--rpc URL -d deployment.json`):",
            "",
            "```console",
            *[f"$ {command}" for command in s.commands],
            "```",
            "",
            "The receipts in JSON are in `card.json` (`receipts`).",
            "",
        ]
        return "\n".join(out)

    def dumps(self) -> str:
        """``card.json``'s text."""
        return json.dumps(self.as_json(), indent=2, sort_keys=False) + "\n"


def model_card(
    task: TaskRecord,
    spec: ModelSpec,
    section: CardSection,
    model: TaskModel | None,
    *,
    no_model: str | None = None,
    as_of_block: int,
    evaluated_on: str | None = None,
) -> ModelCard:
    """The card of ``task`` as its index stands (the counts are the index's).

    Parameters
    ----------
    task
        The task, indexed.
    spec
        Its model spec (checked against the on-chain hash by whoever fetched it).
    section
        Its flow's part.
    model
        Its model, or None (``no_model`` says why).
    as_of_block
        The block the index was read at.
    evaluated_on
        The test set the section's metrics were evaluated on, if any.
    """
    p = task.params
    updates = list(task.updates.values())
    statuses = {s: sum(u.status is s for u in updates) for s in Status}
    per_provider = []
    for provider in task.providers:
        mine = [u for u in updates if u.provider == provider]
        per_provider.append(
            {
                "provider": provider,
                "submitted": len(mine),
                "accepted": sum(u.status is Status.ACCEPTED for u in mine),
                "rejected": sum(u.status is Status.REJECTED for u in mine),
                "expired": sum(u.status is Status.EXPIRED for u in mine),
            }
        )
    return ModelCard(
        task={
            "id": task.task_id,
            "flow": p.flow.name.lower(),
            "publisher": task.publisher,
            "published_block": task.published_block,
            "closed": task.closed,
            "closed_block": task.closed_block,
            "final_model_hash": hexed(task.final_model_hash) if task.final_model_hash else None,
            "as_of_block": as_of_block,
        },
        trained={
            "input_shape": list(spec.input_shape),
            "num_classes": spec.num_classes,
            "layers": len(spec.layers),
            "layer_specs": [_layer(layer.model_dump(mode="json")) for layer in spec.layers],
            "parameters": spec.num_parameters(),
            "spec_hash": hexed(p.model_spec_hash),
            "spec_cid": p.model_spec_cid,
            "initial_weights_hash": hexed(p.initial_weights_hash),
            "initial_weights_cid": p.initial_weights_cid,
            "metric": p.metric.name.lower(),
            "fragments": len(p.fragment_cids),
        },
        policy=policy_fields(p),
        committee={
            "members": list(p.committee),
            "quorum": p.quorum,
            "tolerated_liars": p.max_faulty_validators,
        },
        providers={
            "joined": list(task.providers),
            "contributing": [r["provider"] for r in per_provider if r["submitted"]],
            "accepted": [r["provider"] for r in per_provider if r["accepted"]],
            "per_provider": per_provider,
        },
        updates={
            "submitted": len(updates),
            "accepted": statuses[Status.ACCEPTED],
            "rejected": statuses[Status.REJECTED],
            "expired": statuses[Status.EXPIRED],
            "pending": statuses[Status.PENDING],
        },
        model=model.as_json() if model is not None else None,
        no_model=None if model is not None else (no_model or "no model yet"),
        section=section,
        evaluated_on=evaluated_on,
    )


def _layer(fields: dict[str, Any]) -> str:
    kind = fields.pop("type")
    inner = ", ".join(f"{name}={_value(value)}" for name, value in sorted(fields.items()))
    return f"{kind}({inner})"


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return json.dumps(value)


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _more(items: Sequence[str]) -> str:
    return f" (and {len(items) - 1} more)" if len(items) > 1 else ""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
