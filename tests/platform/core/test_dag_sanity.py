"""Sanity checks of dag updates: each change is measured from its own parents' merge, with
the recent decoded changes as context (kept by the caller: the checks are pure)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from ledgerlearn.core.sanity import SanityVerdict, check_changes
from ledgerlearn.core.types import Vector


class Context:
    """A validator's rolling context for one dag task, as the caller keeps it."""

    def __init__(self, history: int = 10) -> None:
        self.changes: deque[Vector] = deque(maxlen=history)

    def check(self, merges: Sequence[Vector], updates: Sequence[Vector]) -> list[SanityVerdict]:
        verdicts, changes = check_changes(merges, updates, self.changes)
        self.changes.extend(changes)
        return verdicts


def honest(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    direction = np.linspace(1.0, 2.0, base.size).astype(np.float32)  # the common descent
    return base + 0.1 * direction + rng.normal(0, 0.05, base.size).astype(np.float32)


def test_honest_updates_from_different_merges_pass_and_fill_the_context() -> None:
    rng = np.random.default_rng(0)
    sanity = Context(history=5)
    merges = [rng.normal(0, 1, 200).astype(np.float32) for _ in range(4)]
    verdicts = sanity.check(merges, [honest(rng, m) for m in merges])
    assert all(v.ok for v in verdicts), verdicts
    assert len(sanity.changes) == 4


def test_free_riders_outliers_copies_and_reversed_changes_fail() -> None:
    rng = np.random.default_rng(1)
    sanity = Context()
    merges = [rng.normal(0, 1, 200).astype(np.float32) for _ in range(6)]
    sanity.check(merges, [honest(rng, m) for m in merges])  # context: six honest changes
    base = rng.normal(0, 1, 200).astype(np.float32)
    copied = honest(rng, base)
    other = rng.normal(0, 1, 200).astype(np.float32)
    candidates = {
        "replay": base.copy(),
        "noise": base + rng.normal(0, 1e-5, 200).astype(np.float32),
        "scaled": base + 50 * (honest(rng, base) - base),
        "reversed": base - (honest(rng, base) - base),
        "copy": other + (copied - base) + 1e-6,  # someone's change moved onto other parents
        "original": copied,
    }
    names = ["original", "replay", "noise", "scaled", "reversed", "copy"]
    merges_of = {n: (other if n == "copy" else base) for n in names}
    verdicts = dict(
        zip(
            names,
            sanity.check([merges_of[n] for n in names], [candidates[n] for n in names]),
            strict=True,
        )
    )
    assert verdicts["original"].ok
    assert "free rider" in verdicts["replay"].reason
    assert "free rider" in verdicts["noise"].reason
    assert "outlier" in verdicts["scaled"].reason
    assert "reversed" in verdicts["reversed"].reason
    assert "near-duplicate" in verdicts["copy"].reason


def test_a_lone_free_rider_is_caught_without_context() -> None:
    base = np.ones(100, dtype=np.float32)
    (verdict,) = Context().check([base], [base + 1e-6])
    assert not verdict.ok and "parents' merge" in verdict.reason


def test_changes_that_shrink_as_training_converges_are_not_taken_for_free_riders() -> None:
    """Early changes are large, converged ones far smaller. Right after the drop the small
    ones look like free riders next to the context; the context then follows them (it holds
    every decoded change, not only those that passed) and they pass again."""
    rng = np.random.default_rng(2)
    sanity = Context(history=6)

    def batch(scale: float) -> list[bool]:
        merges = [rng.normal(0, 1, 200).astype(np.float32) for _ in range(2)]
        updates = [m + scale * (honest(rng, m) - m) for m in merges]
        return [v.ok for v in sanity.check(merges, updates)]

    assert all(ok for _ in range(3) for ok in batch(1.0))
    first = batch(0.05)
    assert not any(first)  # 20 times smaller than the whole context
    later = [batch(0.05) for _ in range(4)]
    assert all(later[-1]) and all(later[-2]), later


def test_the_checks_are_pure_the_context_is_the_callers() -> None:
    """The same inputs give the same verdicts and changes; nothing is remembered between
    calls, so a context passed in is all the checks see."""
    rng = np.random.default_rng(3)
    merges = [rng.normal(0, 1, 50).astype(np.float32) for _ in range(3)]
    updates = [honest(rng, m) for m in merges]
    first = check_changes(merges, updates, [])
    again = check_changes(merges, updates, [])
    assert first[0] == again[0]
    assert all(np.array_equal(a, b) for a, b in zip(first[1], again[1], strict=True))
    assert all(np.array_equal(c, u - m) for c, u, m in zip(first[1], updates, merges, strict=True))
    large = [100 * c for c in first[1]]  # a context of far larger changes: now free riders
    verdicts, _ = check_changes(merges, updates, large)
    assert all("free rider" in v.reason for v in verdicts), verdicts
    assert check_changes([], [], large) == ([], [])
