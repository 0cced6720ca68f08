"""What a provider and the committee compute around one dag update: the provider's settings,
the merge of the parents it names, the reference it is scored against, publish-if-better."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ledgerlearn.core.aggregate import merge_vectors
from ledgerlearn.core.publish import better
from ledgerlearn.core.rules import ThresholdMode
from ledgerlearn.core.types import Float32Array, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.scoring import Reference
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten, unflatten
from ledgerlearn.training import Metric, evaluate_all, get_metric

HISTORY = 10
"""Changes of the last updates a committee member decoded, kept as the context of its sanity
checks (:func:`~ledgerlearn.core.sanity.check_changes`)."""


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
class PublishVerdict:
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
) -> PublishVerdict:
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
    return PublishVerdict(
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
