"""Byzantine attacks on update vectors, with one call (:class:`VectorAttack`).

``attack(honest_vectors, *, num_attackers, providers, rule, num_byzantine, rng)`` returns the
``(num_attackers, d)`` vectors the colluding attackers submit, of the honest vectors' dtype
(:mod:`.attack`). Omniscient attacks read the honest updates of the round: ALIE and IPM, with
their optimised variants (a line search over the attack's scale against the task's rule,
:mod:`.line_search`), and Mimic; local attacks know only the attacker's own update: sign
flipping, scaling, Gaussian noise.

What an attacker sees of a round and how its vector becomes a model it submits are the
provider behaviours' concern (:mod:`ledgerlearn.behaviours`).
"""

from ledgerlearn.core.attacks.alie import Alie, OptimisedAlie, alie_at, alie_z
from ledgerlearn.core.attacks.attack import VectorAttack
from ledgerlearn.core.attacks.gaussian import Gaussian
from ledgerlearn.core.attacks.ipm import Ipm, OptimisedIpm, ipm_at
from ledgerlearn.core.attacks.line_search import SCALE_GRID, line_search, scale_gaps
from ledgerlearn.core.attacks.mimic import Mimic
from ledgerlearn.core.attacks.scaling import Scaling
from ledgerlearn.core.attacks.sign_flip import SignFlip

VECTOR_ATTACKS: dict[str, type[VectorAttack]] = {
    attack.name: attack
    for attack in (SignFlip, Gaussian, Scaling, Alie, OptimisedAlie, Ipm, OptimisedIpm, Mimic)
}
"""Every vector attack's class by name, each constructible with its defaults."""

__all__ = [
    "SCALE_GRID",
    "VECTOR_ATTACKS",
    "Alie",
    "Gaussian",
    "Ipm",
    "Mimic",
    "OptimisedAlie",
    "OptimisedIpm",
    "Scaling",
    "SignFlip",
    "VectorAttack",
    "alie_at",
    "alie_z",
    "ipm_at",
    "line_search",
    "scale_gaps",
]
