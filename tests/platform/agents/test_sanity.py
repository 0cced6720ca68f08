"""A validator's sanity checks on hand-made rounds."""

from __future__ import annotations

import numpy as np

from ledgerlearn.agents.sanity import check_round


def honest_round(
    rng: np.random.Generator, n: int = 6, d: int = 50
) -> tuple[np.ndarray, list[np.ndarray]]:
    base = rng.normal(size=d).astype(np.float32)
    common = rng.normal(size=d)
    updates = [
        (base + 0.5 * common + 0.3 * rng.normal(size=d)).astype(np.float32) for _ in range(n)
    ]
    return base, updates


def test_honest_round_passes() -> None:
    base, updates = honest_round(np.random.default_rng(0))
    assert all(v.ok for v in check_round(base, updates))


def test_free_rider_duplicate_outlier_and_reversed_fail() -> None:
    rng = np.random.default_rng(1)
    base, updates = honest_round(rng)
    free_rider = (base + 1e-5 * rng.normal(size=base.size)).astype(np.float32)
    replay = base.copy()
    copy = (updates[0] + 1e-7).astype(np.float32)
    scaled = (base + 20 * (updates[1] - base)).astype(np.float32)
    flipped = (base - (updates[2] - base)).astype(np.float32)
    verdicts = check_round(base, [*updates, free_rider, replay, copy, scaled, flipped])
    assert all(v.ok for v in verdicts[:6])
    reasons = [v.reason for v in verdicts[6:]]
    assert reasons[0].startswith("free rider") and reasons[1].startswith("free rider")
    assert reasons[2] == "near-duplicate of update #0 of the round"
    assert reasons[3].startswith("norm outlier")
    assert reasons[4].startswith("reversed")


def test_empty_round() -> None:
    assert check_round(np.zeros(3, dtype=np.float32), []) == []
