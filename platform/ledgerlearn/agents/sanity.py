"""A validator's sanity checks of a round's updates, before any scoring.

Pure functions on flat vectors. An update fails when it is

- a free rider: its change from the base model is tiny next to the round's typical change
  (zero update, the base model replayed, the base model plus small noise);
- a near-duplicate of an earlier update of the round (cosine similarity of the changes above
  :data:`DUPLICATE_COSINE`): a copy of another provider's work earns no credit;
- a norm outlier: its change is far larger than the round's typical change (scaling attacks);
- reversed: its change points against the round's coordinate-wise median change (cosine
  below :data:`REVERSED_COSINE`), as a sign-flipped update does; honest changes on non-IID
  data may be nearly orthogonal to it, rarely opposite.

"Typical" is the median change norm over the round's decodable updates, so one attacker
cannot move it much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FREE_RIDER_RATIO = 0.1
"""A change smaller than this times the median change norm marks a free rider."""
MIN_RELATIVE_CHANGE = 1e-3
"""A change smaller than this times the base model's norm marks a free rider, even alone."""
OUTLIER_RATIO = 10.0
"""A change larger than this times the median change norm marks an outlier."""
DUPLICATE_COSINE = 0.999
"""Changes more similar than this are near-duplicates (the later one fails)."""
REVERSED_COSINE = -0.2
"""A change whose cosine with the round's median change is below this is reversed."""


@dataclass(frozen=True)
class SanityVerdict:
    """Whether an update passed, and why not."""

    ok: bool
    reason: str = ""


def check_round(
    base: npt.NDArray[np.float32], updates: Sequence[npt.NDArray[np.float32]]
) -> list[SanityVerdict]:
    """Verdicts for a round's updates (in submission order) against the base model."""
    if not updates:
        return []
    deltas = np.stack([u.astype(np.float64) - base.astype(np.float64) for u in updates])
    norms = np.linalg.norm(deltas, axis=1)
    typical = float(np.median(norms))
    floor = MIN_RELATIVE_CHANGE * float(np.linalg.norm(base.astype(np.float64)))
    direction = np.median(deltas, axis=0)
    direction_norm = float(np.linalg.norm(direction))
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
        if len(updates) >= 3 and direction_norm > 0:
            cosine = float(deltas[i] @ direction) / (float(norm) * direction_norm)
            if cosine < REVERSED_COSINE:
                verdicts.append(
                    SanityVerdict(False, f"reversed: cosine {cosine:.2f} with the round's "
                                  f"median change < {REVERSED_COSINE}")
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
