"""Lying committee members report what their behaviour says, from the true scores."""

from __future__ import annotations

import pytest

from ledgerlearn.behaviours import validator_behaviour
from ledgerlearn.behaviours.lying_validator import HIGH_SCORE
from ledgerlearn.core.rules import SCORE_INVALID


def test_lying_validators_report_what_their_behaviour_says() -> None:
    scores = {b"a": 5, b"b": -7, b"c": SCORE_INVALID}
    providers = {b"a": "0xAA", b"b": "0xBB", b"c": "0xCC"}
    assert validator_behaviour("honest").report(scores, providers) == scores
    assert set(validator_behaviour("inflate").report(scores, providers).values()) == {HIGH_SCORE}
    assert set(validator_behaviour("deflate").report(scores, providers).values()) == {SCORE_INVALID}
    colluding = validator_behaviour("collude", ["0xbb"]).report(scores, providers)
    assert colluding == {b"a": SCORE_INVALID, b"b": HIGH_SCORE, b"c": SCORE_INVALID}
    assert validator_behaviour("silent").report(scores, providers) == scores
    assert not validator_behaviour("silent").attests
    with pytest.raises(ValueError, match="unknown validator behaviour 'shy'"):
        validator_behaviour("shy")
