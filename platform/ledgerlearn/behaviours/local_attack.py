"""Local attacks: a vector attack on the provider's own update, submitted at once.

The attacker knows only what it trains itself (sign flipping, scaling) or nothing at all
(Gaussian noise, which does not train): the honest vectors it gives the
:mod:`vector attack <ledgerlearn.core.attacks>` are its own change from the base model, or,
when it does not train, no change (a float64 zero row: the noise is then added to the base
model in float64, as a draw is).
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

__all__ = ["LocalAttack"]


class LocalAttack(SafetensorsBehaviour):
    """Submits ``base + attack(own change)``.

    Parameters
    ----------
    attack
        The vector attack.
    trains
        Whether the provider trains for its own change (otherwise the change is zero).
    seed
        Seeds the attacker's random generator (for attacks that draw).
    """

    def __init__(self, attack: VectorAttack, *, trains: bool = True, seed: int = 0) -> None:
        self.attack = attack
        self.name = attack.name
        self.trains = trains
        self._rng = np.random.default_rng(seed)

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Train (or not), attack the change, add it to the base model."""
        base = view.base_vector()
        if self.trains:
            own = (flatten(train(data), view.spec) - base)[None, :]
        else:
            own = np.zeros((1, base.size), dtype=np.float64)
        vector = self.attack(
            own,
            num_attackers=1,
            providers=view.providers,
            rule=view.rule,
            num_byzantine=view.num_byzantine,
            rng=self._rng,
        )[0]
        return view.model(vector)
