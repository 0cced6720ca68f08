"""A validator's sanity checks on hand-made rounds."""

from __future__ import annotations

import numpy as np

from ledgerlearn.core.sanity import check_round, check_round_in_context, leave_one_out_medians


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


def test_a_lone_free_rider_is_tiny_next_to_the_context_of_earlier_changes() -> None:
    """Alone in its round, a free rider's small change is the typical one; with the changes
    of the previous round as context (from their own base) it is caught."""
    rng = np.random.default_rng(4)
    earlier_base, earlier = honest_round(rng)
    context = [u - earlier_base for u in earlier]
    base = rng.normal(size=earlier_base.size).astype(np.float32)
    lazy = (base + 1e-2 * rng.normal(size=base.size)).astype(np.float32)
    assert check_round(base, [lazy])[0].ok
    (verdict,) = check_round_in_context(base, [lazy], context)
    assert verdict.reason.startswith("free rider"), verdict
    assert check_round_in_context(base, [lazy], []) == check_round(base, [lazy])


def test_leave_one_out_medians_match_the_naive_computation() -> None:
    rng = np.random.default_rng(2)
    for n in (2, 3, 4, 5, 10, 11):
        # rounded values: plenty of ties between rows
        deltas = np.round(rng.normal(size=(n, 300)), 1)
        expected = np.stack([np.median(np.delete(deltas, i, axis=0), axis=0) for i in range(n)])
        np.testing.assert_array_equal(leave_one_out_medians(deltas), expected)


def test_a_flipped_update_is_caught_when_the_round_is_noisy() -> None:
    # Late in training: honest changes share only a small common direction; the flipped copy
    # of one of them drags the all-update median toward itself, not the others' median.
    rng = np.random.default_rng(3)
    d = 2000
    base = rng.normal(size=d).astype(np.float32)
    common = rng.normal(size=d)
    updates = [(base + 0.3 * common + rng.normal(size=d)).astype(np.float32) for _ in range(9)]
    flipped = (base - (updates[0] - base)).astype(np.float32)
    verdicts = check_round(base, [*updates, flipped])
    assert all(v.ok for v in verdicts[:9]), [v.reason for v in verdicts[:9]]
    assert verdicts[9].reason.startswith("reversed"), verdicts[9]
