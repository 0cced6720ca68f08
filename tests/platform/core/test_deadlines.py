"""The deadline rules of ``core/deadlines.py`` on hand-made cases (against the contract:
``tests/platform/chain/test_deadlines.py``)."""

from __future__ import annotations

import pytest

from ledgerlearn.core.deadlines import (
    ScoringDeadlines,
    dag_scoring_deadlines,
    round_deadlines,
    round_scoring_deadlines,
)
from ledgerlearn.core.task_params import TaskParams


@pytest.mark.parametrize(
    ("block", "scores", "open_", "settleable"),
    [
        (9, 0, True, False),  # before the deadline: open whatever the scores
        (10, 3, False, True),  # at the deadline with a quorum: closed, settleable
        (10, 2, True, False),  # short of a quorum: still open, not settleable
        (13, 2, True, False),
        (14, 2, False, True),  # the extension ended: expires when settled
    ],
)
def test_scoring_deadline_rules(block: int, scores: int, open_: bool, settleable: bool) -> None:
    d = ScoringDeadlines(opened=3, close=10, extended_close=14)
    assert d.scoring_open(block, scores, quorum=3) is open_
    assert d.settleable(block, scores, quorum=3) is settleable


def _params(**overrides: int) -> TaskParams:
    fields: dict[str, int] = dict(
        round_length=10,
        score_window=5,
        min_updates=3,
        round_extension=20,
        score_extension=2,
        attest_window=4,
    )
    fields.update(overrides)
    return TaskParams(
        model_spec_hash=b"",
        model_spec_cid="",
        initial_weights_hash=b"",
        initial_weights_cid="",
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        quorum=3,
        max_faulty_validators=1,
        threshold=0,
        **fields,  # type: ignore[arg-type]
    )


def test_round_deadlines_pure_cases() -> None:
    params = _params()
    # reached early: closes at round_length
    assert round_deadlines(params, 100, [101, 102, 103]).submissions_close == 110
    # reached in the extension at block 115: closes the block after
    d = round_deadlines(params, 100, [101, 102, 115, 116])
    assert (d.submissions_close, d.scoring_close, d.extended_close, d.attestation_close) == (
        116,
        121,
        123,
        127,
    )
    assert d.base_close == 110 and not d.waiting
    # never reached: the whole extension
    assert round_deadlines(params, 100, [101]).submissions_close == 130
    assert round_deadlines(params, 100, [101]).waiting
    assert round_deadlines(params, 100, [101]).base_close == 110
    # without min_updates the window never moves
    plain = round_deadlines(_params(min_updates=0, round_extension=0), 100, [])
    assert plain.base_close == plain.submissions_close == 110 and not plain.waiting


def test_scoring_deadlines_of_both_flows() -> None:
    params = _params(score_window=7)
    assert dag_scoring_deadlines(params, 50) == ScoringDeadlines(
        opened=50, close=57, extended_close=59
    )
    assert dag_scoring_deadlines(params, 50).half_window == 53  # 50 + 7 // 2
    rounds = round_deadlines(params, 100, [101, 102, 115])
    scoring = round_scoring_deadlines(rounds)
    assert (scoring.opened, scoring.close, scoring.extended_close) == (116, 123, 125)
    assert scoring.half_window == 119
