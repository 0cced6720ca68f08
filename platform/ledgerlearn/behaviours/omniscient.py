"""Omniscient provider behaviours: they read the round's submitted updates.

"Omniscient" here means what the ledger shows, nothing more: the updates other providers
already submitted in the round (their CIDs are in the events, their content on IPFS) and the
task's public aggregation rule. Such an attacker waits until the others have submitted (or
the window is about to close), estimates the honest updates' statistics from them (with its
own honestly trained update when fewer than two are visible), and submits
``base + attack vector``, the vector from a :mod:`vector attack <ledgerlearn.core.attacks>`.
Each attacker adds a negligible, seeded perturbation so that colluders' identical vectors
keep distinct content hashes (the ledger refuses a duplicate).
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.behaviours.provider import SafetensorsBehaviour
from ledgerlearn.core.attacks import VectorAttack
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model.flatten import flatten

__all__ = ["LATE_BLOCKS", "Omniscient", "OmniscientAttack"]

LATE_BLOCKS = 6
"""An omniscient attacker waiting for the others submits at the latest this many blocks
before the window closes: a commitment and its reveal take two blocks, and an agent that
steps every few blocks (the simulation's idle steps are 4) must not step over the moment."""


class Omniscient(SafetensorsBehaviour):
    """Base of behaviours computed from the round's visible updates.

    Parameters
    ----------
    num_attackers
        How many providers collude (all submit the same vector); the attacker waits for the
        other ``providers - num_attackers`` to submit.
    seed
        Seeds the perturbation that keeps colluders' content hashes distinct.
    """

    name = "omniscient"

    def __init__(self, *, num_attackers: int = 1, seed: int = 0) -> None:
        if num_attackers < 1:
            raise ValueError(f"num_attackers must be at least 1, got {num_attackers}")
        self.num_attackers = num_attackers
        self._rng = np.random.default_rng(seed)

    def ready(self, view: ProviderView) -> bool:
        """Wait for the honest providers' updates, or until the window is about to close."""
        honest = view.providers - self.num_attackers
        return view.submitted >= honest or view.blocks_left <= LATE_BLOCKS


class OmniscientAttack(Omniscient):
    """Submits ``base + attack(visible deltas)``, slightly perturbed."""

    def __init__(self, attack: VectorAttack, *, num_attackers: int = 1, seed: int = 0) -> None:
        super().__init__(num_attackers=num_attackers, seed=seed)
        self.attack = attack
        self.name = attack.name

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """``base + attack(visible deltas and own honest delta)``, slightly perturbed."""
        visible = view.deltas().astype(np.float64)
        if len(visible) >= 2:  # colluders see the same updates: they compute one vector
            honest = visible
        else:  # too little on the ledger: estimate with its own honest update too
            own = flatten(train(data), view.spec) - view.base_vector()
            honest = np.vstack([visible, own[None, :]]).astype(np.float64)
        vector = self.attack(
            honest,
            num_attackers=self.num_attackers,
            providers=view.providers,
            rule=view.rule,
            num_byzantine=view.num_byzantine,
            rng=self._rng,
        )[0]
        scale = float(np.abs(vector).max()) or 1.0
        vector = vector + self._rng.normal(0.0, 1e-6 * scale, vector.shape)
        return view.model(vector)
