"""Publish-if-better's decision on the held-out figures."""

from __future__ import annotations

from ledgerlearn.core.publish import better


def test_a_higher_metric_wins_and_a_tie_goes_to_the_lower_loss() -> None:
    assert better(0.9, 0.8, candidate_loss=9.0, reference_loss=1.0)
    assert not better(0.8, 0.9, candidate_loss=0.1, reference_loss=1.0)
    assert better(0.8, 0.8, candidate_loss=0.5, reference_loss=0.6)
    assert not better(0.8, 0.8, candidate_loss=0.6, reference_loss=0.6)  # no improvement
    assert not better(0.8, 0.8, candidate_loss=0.7, reference_loss=0.6)


def test_a_margin_asks_for_at_least_that_gain_and_ignores_the_loss() -> None:
    assert better(0.75, 0.5, candidate_loss=9.0, reference_loss=1.0, min_improvement=0.25)
    assert not better(0.74, 0.5, candidate_loss=0.0, reference_loss=1.0, min_improvement=0.25)
    assert not better(0.8, 0.8, candidate_loss=0.0, reference_loss=1.0, min_improvement=0.01)
