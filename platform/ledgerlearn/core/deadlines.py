"""When each step of a task is due: the contract's deadline rules, computed from the events.

One place for the arithmetic the contract does in ``LedgerState._roundDeadlines`` and
``UpdateLedger._scoreDeadline`` (``tests/platform/chain/test_deadlines.py`` checks both against
the contract's ``roundDeadlines`` and ``scoreDeadline`` views):

- a federation round accepts updates for ``round_length`` blocks from its start; with
  ``min_updates`` set and fewer updates submitted by then, the window stays open until the block
  after the ``min_updates``-th submission, at most ``round_extension`` blocks longer;
- scoring closes ``score_window`` blocks after submissions (dag: after the update's own
  submission block); an update with fewer than quorum scores can still be scored, and cannot be
  settled, for ``score_extension`` blocks more; after that it expires;
- attestations of a round's aggregate are due ``attest_window`` blocks after the end of the
  scoring extension; then any participant may close the round (``closeRound``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledgerlearn.core.task_params import TaskParams


@dataclass(frozen=True)
class RoundDeadlines:
    """The blocks from which each step of a federation round is over."""

    base_close: int
    """First block that refuses submissions when the round does not wait: ``round_length``
    blocks after its start."""
    submissions_close: int
    """First block that refuses submissions (while the round waits for ``min_updates``, the
    latest it can be)."""
    scoring_close: int
    """First block that refuses scores of an update that has its quorum (settling opens)."""
    extended_close: int
    """First block that refuses scores of an update still short of a quorum (it then expires)."""
    attestation_close: int
    """First block at which the round may be closed without a quorum of attestations."""
    waiting: bool
    """True while the window is held open for ``min_updates`` (it may still shrink)."""


@dataclass(frozen=True)
class ScoringDeadlines:
    """When one update can no longer be scored."""

    opened: int
    """The block its scoring window counts from (dag: its submission block; federation: its
    round's submissions close)."""
    close: int
    """First block that refuses its scores once it has a quorum; settling opens here."""
    extended_close: int
    """First block that refuses its scores when it is still short of a quorum."""

    @property
    def half_window(self) -> int:
        """First block at which half of the scoring window has passed."""
        return self.opened + (self.close - self.opened) // 2

    def scoring_open(self, block: int, score_count: int, quorum: int) -> bool:
        """Whether a score mined in ``block`` is still accepted."""
        if block < self.close:
            return True
        return score_count < quorum and block < self.extended_close

    def settleable(self, block: int, score_count: int, quorum: int) -> bool:
        """Whether the update can be settled in ``block`` (decided, or expired when short of a
        quorum)."""
        if block < self.close:
            return False
        return score_count >= quorum or block >= self.extended_close


def round_deadlines(
    params: TaskParams, start_block: int, submission_blocks: Sequence[int]
) -> RoundDeadlines:
    """The deadlines of a federation round that started at ``start_block`` and received
    submissions in ``submission_blocks`` (submission order)."""
    base = start_block + params.round_length
    submissions = base
    waiting = False
    if params.min_updates > 0:
        latest = base + params.round_extension
        if len(submission_blocks) < params.min_updates:
            submissions = latest
            waiting = latest > base
        else:
            full = submission_blocks[params.min_updates - 1] + 1
            if full > base:
                submissions = min(full, latest)
    scoring = submissions + params.score_window
    extended = scoring + params.score_extension
    return RoundDeadlines(
        base_close=base,
        submissions_close=submissions,
        scoring_close=scoring,
        extended_close=extended,
        attestation_close=extended + params.attest_window,
        waiting=waiting,
    )


def dag_scoring_deadlines(params: TaskParams, submitted_block: int) -> ScoringDeadlines:
    """When a dag update submitted in ``submitted_block`` can no longer be scored."""
    close = submitted_block + params.score_window
    return ScoringDeadlines(
        opened=submitted_block, close=close, extended_close=close + params.score_extension
    )


def round_scoring_deadlines(deadlines: RoundDeadlines) -> ScoringDeadlines:
    """When the updates of a federation round with these deadlines can no longer be scored."""
    return ScoringDeadlines(
        opened=deadlines.submissions_close,
        close=deadlines.scoring_close,
        extended_close=deadlines.extended_close,
    )
