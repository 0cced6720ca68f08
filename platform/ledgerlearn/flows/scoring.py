"""The committee's scoring pipeline, once for both flows.

A committee member scores updates from what it holds: each update's content (the verified
bytes, or the error its fetch ended with), the task's spec and metric, and its own validation
fragment. :func:`score_updates` then, for every update,

1. decodes it against the spec (safetensors only; wrong names, shapes, dtypes or non-finite
   values fail): content that could not be fetched is ``"unavailable: ..."``, content that
   fails to decode (or failed its size cap or hash) is ``"invalid: ..."``;
2. runs the flow's sanity checks on the decodable updates, flat, in order (free riders,
   near-duplicates, norm outliers, reversed changes: :mod:`~ledgerlearn.core.sanity`);
   a failed check's reason is the update's;
3. evaluates the rest on the fragment (an error there is ``"invalid: ..."`` too);
4. subtracts each one's reference, which the flow gives from all the metrics at once (a
   federation round: zero, the base model's metric or the peers' median; a dag update: its
   parents' merge's metric), as the contract's fixed point.

Every failed update scores :data:`~ledgerlearn.chain.types.SCORE_INVALID`, with its reason and
the kind of failure (:data:`FAILURES`). The function
fetches nothing and sends nothing: the agent fetches (each flow decides when missing content
is given up) and sends, so the pipeline is tested without a chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledgerlearn.core.rules import SCORE_INVALID, Status, to_fixed
from ledgerlearn.core.sanity import SanityVerdict
from ledgerlearn.core.types import Vector, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.errors import ContentUnavailableError, LedgerlearnError
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten
from ledgerlearn.model.weights import decode, default_max_bytes
from ledgerlearn.training import Metric, evaluate

__all__ = [
    "DROPPED",
    "FAILURES",
    "Reference",
    "SanityPolicy",
    "ScoreRecord",
    "Scored",
    "Scoring",
    "dropped_reason",
    "score_updates",
]

FAILURES = ("unavailable", "fetch", "decode", "checks", "evaluation")
"""Why an update scored invalid: ``unavailable``, not fetched before the deadline; ``fetch``,
fetched but too large or not matching its hash; ``decode``, not a safetensors file of the
task's model (or not finite); ``checks``, a sanity check flagged it; ``evaluation``, evaluating
it on the fragment failed."""

DROPPED = ("decided", "late", "closed")
"""Why a score a member computed was not sent: ``decided``, the others decided the update
first (a quorum was reached without it); ``late``, the update's scoring window closed first;
``closed``, the task closed first."""


def dropped_reason(status: Status) -> str:
    """Why a score computed for an update of an open task, now in ``status``, is not sent:
    ``decided`` once it is no longer pending, else ``late``."""
    return "late" if status is Status.PENDING else "decided"


Reference = Callable[[Mapping[bytes, float]], Mapping[bytes, float]]
"""The valid updates' metrics (in order) -> the reference each one's score is taken from."""
SanityPolicy = Callable[[Sequence[bytes], Sequence[Vector]], Sequence[SanityVerdict]]
"""The decodable updates and their flat vectors (in order) -> a verdict for each."""


@dataclass(frozen=True)
class Scored:
    """An update's score (fixed point; :data:`~ledgerlearn.chain.types.SCORE_INVALID` when it
    failed), why it failed and the kind of failure (:data:`FAILURES`; both empty when it did
    not)."""

    score: int
    reason: str = ""
    failure: str = ""


@dataclass(frozen=True)
class ScoreRecord:
    """A score a committee member computed for an update of a task, with the reason and the
    kind of failure (:data:`FAILURES`) when the update failed."""

    task_id: int
    update: bytes
    score: int
    reason: str
    failure: str = ""


@dataclass(frozen=True)
class Scoring:
    """What :func:`score_updates` found."""

    scores: dict[bytes, Scored]
    """Every update given, in the order given."""
    vectors: dict[bytes, Vector]
    """The decodable updates, flat, in order: what the sanity checks saw."""


def score_updates(
    spec: ModelSpec,
    fragment: Dataset,
    metric: Metric,
    reference: Reference,
    contents: Mapping[bytes, bytes | LedgerlearnError],
    sanity: SanityPolicy | None,
) -> Scoring:
    """Scores of updates on a committee member's fragment.

    Parameters
    ----------
    spec, metric
        The task's model spec and metric.
    fragment
        This member's validation fragment.
    reference
        Each valid update's reference from all the valid updates' metrics.
    contents
        Update hash -> its content, or the error that fetching it ended with; in the order
        the flow scores them (submission order in a round, deadline order in a dag batch).
    sanity
        The flow's sanity checks; None: none (decoding is still enforced).
    """
    cap = default_max_bytes(spec)
    failed: dict[bytes, Scored] = {}
    decoded: dict[bytes, Weights] = {}
    for u, data in contents.items():
        if isinstance(data, ContentUnavailableError):
            failed[u] = Scored(SCORE_INVALID, f"unavailable: {data}", "unavailable")
            continue
        if isinstance(data, LedgerlearnError):
            failed[u] = Scored(SCORE_INVALID, f"invalid: {data}", "fetch")
            continue
        try:
            decoded[u] = dict(decode(data, spec, cap))
        except LedgerlearnError as exc:
            failed[u] = Scored(SCORE_INVALID, f"invalid: {exc}", "decode")
    order = list(decoded)
    vectors = {u: flatten(decoded[u], spec) for u in order}
    verdicts = sanity(order, [vectors[u] for u in order]) if sanity is not None else None
    values: dict[bytes, float] = {}
    for i, u in enumerate(order):
        if verdicts is not None and not verdicts[i].ok:
            failed[u] = Scored(SCORE_INVALID, verdicts[i].reason, "checks")
            continue
        try:
            values[u] = evaluate(spec, decoded[u], fragment, metric)
        except LedgerlearnError as exc:
            failed[u] = Scored(SCORE_INVALID, f"invalid: {exc}", "evaluation")
    references = reference(values)
    passed = {u: Scored(to_fixed(value - references[u])) for u, value in values.items()}
    scores = {u: failed[u] if u in failed else passed[u] for u in contents}
    return Scoring(scores, vectors)
