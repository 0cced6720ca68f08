"""The base of omniscient update attacks: they read the round's submitted updates.

"Omniscient" here means what the ledger shows, nothing more: the updates other providers
already submitted in the round (their CIDs are in the events, their content on IPFS) and the
task's public aggregation rule. Such an attacker waits until the others have submitted (or
the window is about to close), estimates the honest updates' statistics from them (with its
own honestly trained update when fewer than two are visible), and submits
``base + attack vector``. Each attacker adds a negligible, seeded perturbation so that
colluders' identical vectors keep distinct content hashes (the ledger refuses a duplicate).

The optimised variants search the attack's scale by a line search that maximises the
distance between the task's robust aggregate (the rule is public) and the honest mean.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ledgerlearn.aggregation import get
from ledgerlearn.attacks.behaviour import SafetensorsBehaviour, TrainFn
from ledgerlearn.attacks.view import RoundView, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.model.flatten import flatten

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float64]
Matrix = npt.NDArray[np.float64]

SCALE_GRID = tuple(float(x) for x in np.geomspace(0.05, 100.0, 24))
"""Scales the optimised attacks try (a geometric grid)."""

LATE_BLOCKS = 6
"""An omniscient attacker waiting for the others submits at the latest this many blocks
before the window closes: a commitment and its reveal take two blocks, and an agent that
steps every few blocks (the simulation's idle steps are 4) must not step over the moment."""


class Omniscient(SafetensorsBehaviour):
    """Base of attacks computed from the round's visible updates.

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

    def ready(self, view: RoundView) -> bool:
        """Wait for the honest providers' updates, or until the window is about to close."""
        honest = view.providers - self.num_attackers
        return view.submitted >= honest or view.blocks_left <= LATE_BLOCKS

    def produce(self, view: RoundView, data: Dataset, train: TrainFn) -> Weights:
        """``base + attack(visible deltas and own honest delta)``, slightly perturbed."""
        visible = view.deltas().astype(np.float64)
        if len(visible) >= 2:  # colluders see the same updates: they compute one vector
            honest = visible
        else:  # too little on the ledger: estimate with its own honest update too
            own = flatten(train(data), view.spec) - view.base_vector()
            honest = np.vstack([visible, own[None, :]]).astype(np.float64)
        vector = self.attack(honest, view)
        scale = float(np.abs(vector).max()) or 1.0
        vector = vector + self._rng.normal(0.0, 1e-6 * scale, vector.shape)
        return view.model(vector)

    def attack(self, honest: Matrix, view: RoundView) -> Vector:
        """The attack vector from the honest deltas ``(k, d)`` (k >= 1)."""
        raise NotImplementedError


def scale_gaps(
    honest: Matrix, view: RoundView, num_attackers: int, vector_at: Callable[[float], Vector]
) -> list[tuple[float, float]]:
    """Every scale of :data:`SCALE_GRID` with how far its vector moves the task's aggregate
    from the honest mean, the most damaging first (ties: the smaller scale first).

    The aggregate is computed as the task would: the honest deltas plus ``num_attackers``
    copies of ``vector_at(scale)``, with the task's rule and num_byzantine (a rule that
    refuses the count falls back to the mean: the attacker still needs a number).
    """
    mean = honest.mean(axis=0)
    try:
        rule = get(view.rule, num_byzantine=view.num_byzantine)
        rule.check_num_updates(len(honest) + num_attackers)
    except Exception:  # the attacker's estimate of the round differs from the task's
        rule = get("mean")
    gaps = []
    for scale in SCALE_GRID:
        vector = vector_at(scale)
        stacked = np.vstack([honest, np.repeat(vector[None, :], num_attackers, axis=0)])
        gaps.append((scale, float(np.linalg.norm(np.asarray(rule(stacked)) - mean))))
    return sorted(gaps, key=lambda sg: (-sg[1], sg[0]))


def line_search(
    honest: Matrix, view: RoundView, num_attackers: int, vector_at: Callable[[float], Vector]
) -> tuple[float, Vector]:
    """The scale whose vector moves the task's aggregate farthest from the honest mean (see
    :func:`scale_gaps`), and that vector."""
    scale, gap = scale_gaps(honest, view, num_attackers, vector_at)[0]
    log.info("line search picked scale %.3g (aggregate moved by %.3g)", scale, gap)
    return scale, vector_at(scale)
