"""Lying committee members: behaviours that change the scores a validator reports.

A validator computes its true scores, then its behaviour decides what it reports (honest
code never branches). ``inflate``: every update gets a high passing score; ``deflate``:
every update is reported invalid; ``collude``: updates of partner providers are inflated and
everyone else's deflated (providers and validators colluding); ``silent``: scores truthfully
but never attests an aggregate (a member absent when rounds close: with too few attesters the
round is closed at its attestation deadline). The committee's decision needs a majority of its
members, so up to ``f < m/2`` liars cannot flip it. The registry
(:func:`~ledgerlearn.behaviours.registry.validator_behaviour`) names them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from ledgerlearn.core.rules import SCORE_INVALID, to_fixed

HIGH_SCORE = to_fixed(1.0)
"""What an inflating validator reports (a metric gain of 1.0 clears any threshold)."""


class ValidatorBehaviour(Protocol):
    """Maps a validator's true scores to the ones it reports, and says whether it attests."""

    name: str
    attests: bool

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """Scores to submit, keyed by update; ``providers`` gives each update's provider."""
        ...


class HonestValidator:
    """Reports the true scores."""

    name = "honest"
    attests = True

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """The true scores."""
        return dict(scores)


class Inflate:
    """Reports every update as clearly good."""

    name = "inflate"
    attests = True

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """A high score for everything."""
        return dict.fromkeys(scores, HIGH_SCORE)


class Deflate:
    """Reports every update as invalid."""

    name = "deflate"
    attests = True

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """The invalid score for everything."""
        return dict.fromkeys(scores, SCORE_INVALID)


class Collude:
    """Inflates the partners' updates, deflates everyone else's."""

    name = "collude"
    attests = True

    def __init__(self, partners: Collection[str]) -> None:
        self.partners = {p.lower() for p in partners}

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """High for partners, invalid for the others."""
        return {
            u: HIGH_SCORE if providers[u].lower() in self.partners else SCORE_INVALID
            for u in scores
        }


class Silent(HonestValidator):
    """Scores truthfully, never attests an aggregate."""

    name = "silent"
    attests = False
