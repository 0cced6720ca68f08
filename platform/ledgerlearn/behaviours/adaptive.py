"""Adaptive attacks: optimised ALIE and IPM tuned against the deployed pipeline.

Reference: the "adaptive attacker" methodology of Tramer et al., "On Adaptive Attacks to
Adversarial Example Defenses" (NeurIPS 2020), applied as in Shejwalkar and Houmansadr,
"Manipulating the Byzantine: Optimizing Model Poisoning Attacks and Defenses for Federated
Learning" (NDSS 2021): the attacker knows the whole defence and optimises against it.

The optimised variants (:mod:`~ledgerlearn.core.attacks.alie`,
:mod:`~ledgerlearn.core.attacks.ipm`) tune their strength against the task's aggregation rule
only. Here the attacker also knows the committee — the sanity checks are public code and the
acceptance policy is on chain — and keeps only strengths that it predicts the committee
accepts:

- the validators' sanity checks (:func:`~ledgerlearn.core.sanity.check_round`), run on the
  updates the ledger shows plus the colluders' vectors, must pass every colluder;
- the score the attacker predicts on its own data (the validators' fragments are secret) must
  clear the task's threshold with a margin, measured as the validators do (absolute,
  relative to the base model, or relative to the median of the visible updates: peer).

Colluders also perturb their common vector independently, enough to stay below the
near-duplicate cosine of the sanity checks. Among the admissible strengths the one that moves
the task's aggregate farthest from the honest mean wins; when none is admissible the attacker
submits its honest update that round rather than be caught.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from ledgerlearn.behaviours.omniscient import Omniscient
from ledgerlearn.core.attacks.alie import alie_at
from ledgerlearn.core.attacks.attack import Matrix, Vector
from ledgerlearn.core.attacks.ipm import ipm_at
from ledgerlearn.core.attacks.line_search import scale_gaps
from ledgerlearn.core.sanity import check_round
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model.flatten import flatten
from ledgerlearn.training import evaluate

log = logging.getLogger(__name__)

SCORE_MARGIN = 0.02
"""The predicted score must clear the threshold by this much (the validators' fragments
differ from the attacker's data)."""
COLLUDER_COSINE = 0.99
"""Target cosine between two colluders' vectors: under the sanity checks' near-duplicate
bar (:data:`~ledgerlearn.core.sanity.DUPLICATE_COSINE` = 0.999)."""


class Adaptive(Omniscient):
    """Base of attacks whose strength is tuned against the committee and the rule.

    Subclasses give :meth:`vector_at`: the attack vector at a strength, from the honest
    deltas.
    """

    name = "adaptive"

    def vector_at(self, honest: Matrix) -> Callable[[float], Vector]:
        """The attack vector as a function of its strength."""
        raise NotImplementedError

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """The most damaging vector the attacker predicts the committee accepts."""
        base = view.base_vector().astype(np.float64)
        own = flatten(train(data), view.spec).astype(np.float64) - base
        visible = view.deltas().astype(np.float64)
        honest = visible if len(visible) >= 2 else np.vstack([visible, own[None, :]])
        at = self.vector_at(honest)
        directions = self._directions(base.size)
        predict = _ScorePredictor(view, data, honest + base)
        gaps = scale_gaps(honest, view.rule, view.num_byzantine, self.num_attackers, at)
        for scale, _gap in gaps:
            colluders = _perturbed(at(scale), directions)
            if _passes_sanity(base, honest, colluders) and predict.clears(base + colluders[0]):
                log.info("adaptive %s: scale %.3g passes the committee", self.name, scale)
                return view.model(colluders[0])
        log.info("adaptive %s: no admissible scale; submitting the honest update", self.name)
        return view.model(own)

    def _directions(self, size: int) -> list[Vector]:
        """One random unit direction per colluder (this attacker's first); the others draw
        theirs from the same distribution with their own seeds."""
        out: list[Vector] = []
        for _ in range(self.num_attackers):
            z = self._rng.standard_normal(size)
            out.append(z / (float(np.linalg.norm(z)) or 1.0))
        return out


COLLUDER_NOISE_SHARE = float(np.sqrt(1.0 / COLLUDER_COSINE**2 - 1.0))
"""Noise norm relative to the attack vector's norm: two colluders' vectors then have a cosine
of about :data:`COLLUDER_COSINE`."""


def _perturbed(vector: Vector, directions: list[Vector]) -> list[Vector]:
    """The colluders' vectors: ``vector`` plus its own perturbation each."""
    norm = COLLUDER_NOISE_SHARE * float(np.linalg.norm(vector))
    return [vector + norm * u for u in directions]


def _passes_sanity(base: Vector, honest: Matrix, colluders: list[Vector]) -> bool:
    """Whether the validators' sanity checks would pass every colluder's update."""
    updates = [(base + h).astype(np.float32) for h in honest]
    updates += [(base + c).astype(np.float32) for c in colluders]
    verdicts = check_round(base.astype(np.float32), updates)
    return all(v.ok for v in verdicts[len(honest) :])


class _ScorePredictor:
    """The attacker's estimate of a validator's score, on its own data."""

    def __init__(self, view: ProviderView, data: Dataset, visible_models: Matrix) -> None:
        self.view, self.data = view, data
        if view.threshold_mode == "relative":
            self.reference = self._metric(view.base_vector().astype(np.float64))
        elif view.threshold_mode == "peer" and len(visible_models) >= 3:
            self.reference = float(np.median([self._metric(m) for m in visible_models]))
        elif view.threshold_mode == "peer":
            self.reference = self._metric(view.base_vector().astype(np.float64))
        else:
            self.reference = 0.0

    def _metric(self, model: Vector) -> float:
        weights = self.view.model(model - self.view.base_vector())
        return evaluate(self.view.spec, weights, self.data, self.view.metric)

    def clears(self, model: Vector) -> bool:
        """Whether the model's predicted score clears the task's threshold with a margin."""
        score = self._metric(model) - self.reference
        return score >= self.view.threshold + SCORE_MARGIN


class AdaptiveAlie(Adaptive):
    """ALIE (``mean - z * std``) with ``z`` tuned against the committee and the rule."""

    name = "alie_adaptive"

    def vector_at(self, honest: Matrix) -> Callable[[float], Vector]:
        """``z -> mean - z * std`` of the honest deltas."""
        return alie_at(honest)


class AdaptiveIpm(Adaptive):
    """IPM (``-epsilon * mean``) with ``epsilon`` tuned against the committee and the rule."""

    name = "ipm_adaptive"

    def vector_at(self, honest: Matrix) -> Callable[[float], Vector]:
        """``epsilon -> -epsilon * mean`` of the honest deltas."""
        return ipm_at(honest)


__all__ = ["Adaptive", "AdaptiveAlie", "AdaptiveIpm"]
