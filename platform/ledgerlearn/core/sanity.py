"""A validator's sanity checks of updates, before any scoring: pure functions on flat vectors.

An update fails when it is

- a free rider: its change from the base model is tiny next to the round's typical change
  (zero update, the base model replayed, the base model plus small noise);
- a near-duplicate of an earlier update of the round (cosine similarity of the changes above
  :data:`DUPLICATE_COSINE`): a copy of another provider's work earns no credit;
- a norm outlier: its change is far larger than the round's typical change (scaling attacks);
- reversed: its change points against the coordinate-wise median of the *other* updates'
  changes, as a sign-flipped update does. The median is taken without the update itself
  (leave-one-out): with it, a flipped update drags the median toward itself, and once a
  model has converged (small, noisy changes) its cosine with the all-update median was
  about -0.03 on MNIST, indistinguishable from an honest non-IID update. Left out, it stays
  clearly negative (-0.24 in the same round, honest updates +0.04 to +0.18). An update is
  reversed when that cosine is below ``-max(REVERSED_COSINE, REVERSED_FRACTION * c)``,
  with ``c`` the round's median leave-one-out cosine: the bar follows how aligned the
  round's updates are, and never comes closer to zero than :data:`REVERSED_COSINE`.

"Typical" is the median change norm over the round's decodable updates, so one attacker
cannot move it much.

A federation round is checked against its base model (:func:`check_round`); a round with
few updates can take earlier changes as its context (:func:`check_round_in_context`). A dag
update has no round of peers: its change is measured from the merge of the parents it names
(:func:`check_changes`), with the changes of the last updates the validator decoded as the
context, plus the lone free-rider floor against the merge's norm. Every function is pure: the
caller keeps the context and passes it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ledgerlearn.core.types import Vector

__all__ = [
    "DUPLICATE_COSINE",
    "FREE_RIDER_RATIO",
    "MIN_RELATIVE_CHANGE",
    "SanityVerdict",
    "check_changes",
    "check_round",
    "check_round_in_context",
    "leave_one_out_cosines",
    "leave_one_out_medians",
]

FREE_RIDER_RATIO = 0.1
"""A change smaller than this times the median change norm marks a free rider."""
MIN_RELATIVE_CHANGE = 1e-3
"""A change smaller than this times the base model's norm marks a free rider, even alone."""
OUTLIER_RATIO = 10.0
"""A change larger than this times the median change norm marks an outlier."""
DUPLICATE_COSINE = 0.999
"""Changes more similar than this are near-duplicates (the later one fails)."""
REVERSED_COSINE = 0.1
"""A change whose cosine with the others' median change is below ``-REVERSED_COSINE`` (or
below a fraction of the round's typical cosine, whichever is further from zero) is reversed."""
REVERSED_FRACTION = 0.5
"""The reversed bar as a fraction of the round's median leave-one-out cosine."""
MIN_REVERSED_ROUND = 3
"""Updates a round needs before the direction check applies (the others' median needs two)."""


@dataclass(frozen=True)
class SanityVerdict:
    """Whether an update passed, and why not."""

    ok: bool
    reason: str = ""


def check_round(base: Vector, updates: Sequence[Vector]) -> list[SanityVerdict]:
    """Verdicts for a round's updates (in submission order) against the base model."""
    if not updates:
        return []
    deltas = np.stack([u.astype(np.float64) - base.astype(np.float64) for u in updates])
    norms = np.linalg.norm(deltas, axis=1)
    typical = float(np.median(norms))
    floor = MIN_RELATIVE_CHANGE * float(np.linalg.norm(base.astype(np.float64)))
    cosines = leave_one_out_cosines(deltas) if len(updates) >= MIN_REVERSED_ROUND else None
    bar = (
        -max(REVERSED_COSINE, REVERSED_FRACTION * float(np.median(cosines)))
        if cosines is not None
        else 0.0
    )
    verdicts: list[SanityVerdict] = []
    for i, norm in enumerate(norms):
        if typical > 0 and norm < FREE_RIDER_RATIO * typical:
            verdicts.append(
                SanityVerdict(False, f"free rider: change norm {norm:.3g} < "
                              f"{FREE_RIDER_RATIO} x median {typical:.3g}")
            )  # fmt: skip
            continue
        if norm == 0.0 or norm < floor:
            verdicts.append(
                SanityVerdict(False, f"free rider: change norm {norm:.3g} < "
                              f"{MIN_RELATIVE_CHANGE} x base norm")
            )  # fmt: skip
            continue
        if typical > 0 and norm > OUTLIER_RATIO * typical:
            verdicts.append(
                SanityVerdict(False, f"norm outlier: change norm {norm:.3g} > "
                              f"{OUTLIER_RATIO} x median {typical:.3g}")
            )  # fmt: skip
            continue
        if cosines is not None and cosines[i] < bar:
            verdicts.append(
                SanityVerdict(False, f"reversed: cosine {cosines[i]:.2f} with the other "
                              f"updates' median change < {bar:.2f}")
            )  # fmt: skip
            continue
        duplicate_of = _near_duplicate(deltas, norms, i)
        if duplicate_of is not None:
            verdicts.append(
                SanityVerdict(False, f"near-duplicate of update #{duplicate_of} of the round")
            )
            continue
        verdicts.append(SanityVerdict(True))
    return verdicts


def check_round_in_context(
    base: Vector, updates: Sequence[Vector], context: Sequence[Vector]
) -> list[SanityVerdict]:
    """Verdicts for a round's updates, with earlier changes as context.

    ``context`` holds changes of earlier updates (each from its own base model): they count
    toward what is typical (a lone free rider is then tiny next to them) and toward the
    copies a near-duplicate may repeat, but get no verdict. With no context this is
    :func:`check_round`.
    """
    shown = [base + change for change in context]
    return check_round(base, [*shown, *updates])[len(shown) :]


def check_changes(
    merges: Sequence[Vector], updates: Sequence[Vector], context: Sequence[Vector]
) -> tuple[list[SanityVerdict], list[Vector]]:
    """Verdicts for dag updates, each against its parents' merge, and the updates' changes.

    The round checks run on the changes (``update - merge``, all flat), after the changes in
    ``context`` (the last updates the validator decoded: all of them, as a federation
    round's checks use all of the round's decodable updates; keeping only the ones that
    passed froze the context on the large changes of early training, and every later,
    smaller, honest change then looked like a free rider's). A change smaller than
    :data:`MIN_RELATIVE_CHANGE` times its merge's norm also marks a free rider. The caller
    adds the returned changes to its context (the dag flow keeps the last
    :data:`~ledgerlearn.flows.dag.updates.HISTORY`).

    Raises
    ------
    ValueError
        If ``merges`` and ``updates`` differ in length.
    """
    if len(merges) != len(updates):
        raise ValueError(f"{len(updates)} updates but {len(merges)} merges")
    if not updates:
        return [], []
    changes = [
        u.astype(np.float32) - m.astype(np.float32) for u, m in zip(updates, merges, strict=True)
    ]
    earlier = list(context)
    zero = np.zeros_like(changes[0])
    verdicts = check_round(zero, [*earlier, *changes])[len(earlier) :]
    out: list[SanityVerdict] = []
    for change, merge, verdict in zip(changes, merges, verdicts, strict=True):
        norm = float(np.linalg.norm(change.astype(np.float64)))
        floor = MIN_RELATIVE_CHANGE * float(np.linalg.norm(merge.astype(np.float64)))
        if verdict.ok and (norm == 0.0 or norm < floor):
            verdict = SanityVerdict(
                False, f"free rider: change norm {norm:.3g} < {MIN_RELATIVE_CHANGE} x "
                "the parents' merge norm"
            )  # fmt: skip
        out.append(verdict)
    return out, changes


def leave_one_out_medians(deltas: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Row ``i``: the coordinate-wise median of every row of ``deltas`` but row ``i``.

    One partial sort of the columns instead of ``n`` medians: removing a value ``v`` from
    sorted values ``s`` leaves a median made of the middle elements of ``s``, which ones
    depending only on where ``v`` sits (ties give the same values whichever copy is removed).

    Parameters
    ----------
    deltas
        ``(n, d)`` changes, ``n >= 2``.
    """
    n = deltas.shape[0]
    if n < 2:
        raise ValueError(f"a leave-one-out median needs at least 2 rows, got {n}")
    if n == 2:
        return deltas[::-1].copy()
    h = n // 2
    kth = [h - 1, h] if n % 2 == 0 else [h - 1, h, h + 1]
    s = np.partition(deltas, kth, axis=0)
    out: npt.NDArray[np.float64]
    if n % 2 == 0:  # n - 1 values left, odd: the median is s[h - 1] or s[h]
        out = np.where(deltas >= s[h], s[h - 1], s[h])
        return out
    # n - 1 values left, even: the mean of two of s[h - 1], s[h], s[h + 1]
    low, mid, high = s[h - 1], s[h], s[h + 1]
    out = np.where(deltas < mid, 0.5 * (mid + high), 0.5 * (low + mid))
    out = np.where(deltas == mid, 0.5 * (low + high), out)
    return out


def leave_one_out_cosines(deltas: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Cosine of each row with the coordinate-wise median of the other rows (0 for a zero
    vector on either side)."""
    medians = leave_one_out_medians(deltas)
    dots = np.einsum("ij,ij->i", deltas, medians)
    norms = np.linalg.norm(deltas, axis=1) * np.linalg.norm(medians, axis=1)
    out = np.zeros(deltas.shape[0], dtype=np.float64)
    np.divide(dots, norms, out=out, where=norms > 0)
    return out


def _near_duplicate(
    deltas: npt.NDArray[np.float64], norms: npt.NDArray[np.float64], i: int
) -> int | None:
    for j in range(i):
        if norms[j] == 0.0:
            continue
        cosine = float(deltas[i] @ deltas[j]) / float(norms[i] * norms[j])
        if cosine > DUPLICATE_COSINE:
            return j
    return None
