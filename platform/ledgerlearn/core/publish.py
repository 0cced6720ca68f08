"""Publish-if-better: whether a dag provider's trained model is worth publishing.

A provider trains from the merge of its parents and publishes the result only if it beats
the merge on the provider's own held-out data. The evaluation is the flow's
(:func:`~ledgerlearn.flows.dag.updates.beats`); the decision on its figures is here.
"""

from __future__ import annotations

__all__ = ["better"]


def better(
    candidate: float,
    reference: float,
    *,
    candidate_loss: float,
    reference_loss: float,
    min_improvement: float = 0.0,
) -> bool:
    """Whether a model with metric ``candidate`` beats one with metric ``reference``.

    Better means a metric higher by at least ``min_improvement`` when that is positive;
    with ``min_improvement`` 0, a higher metric, or an equal one (small held-out sets make
    ties common) with a lower loss.
    """
    gain = candidate - reference
    if min_improvement > 0:
        return gain >= min_improvement
    return gain > 0 or (gain == 0 and candidate_loss < reference_loss)
