"""Behaviours by name, for configuration (CLI, demo, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

from ledgerlearn.attacks.adaptive import AdaptiveAlie, AdaptiveIpm
from ledgerlearn.attacks.alie import Alie, OptimisedAlie
from ledgerlearn.attacks.backdoor import Backdoor
from ledgerlearn.attacks.behaviour import Honest, ProviderBehaviour
from ledgerlearn.attacks.free_rider import CopyCat, FreeRider
from ledgerlearn.attacks.gaussian import Gaussian
from ledgerlearn.attacks.ipm import Ipm, OptimisedIpm
from ledgerlearn.attacks.label_flip import LabelFlip
from ledgerlearn.attacks.malformed_file import MalformedFile
from ledgerlearn.attacks.mimic import Mimic
from ledgerlearn.attacks.scaling import Scaling
from ledgerlearn.attacks.sign_flip import SignFlip
from ledgerlearn.attacks.withhold import WithholdContent

Factory = Callable[[int, int], ProviderBehaviour]

BEHAVIOURS: dict[str, Factory] = {
    "honest": lambda seed, f: Honest(),
    "sign_flip": lambda seed, f: SignFlip(),
    "gaussian": lambda seed, f: Gaussian(seed=seed),
    "scaling": lambda seed, f: Scaling(),
    "alie": lambda seed, f: Alie(num_attackers=f, seed=seed),
    "alie_opt": lambda seed, f: OptimisedAlie(num_attackers=f, seed=seed),
    "ipm": lambda seed, f: Ipm(num_attackers=f, seed=seed),
    "ipm_opt": lambda seed, f: OptimisedIpm(num_attackers=f, seed=seed),
    "alie_adaptive": lambda seed, f: AdaptiveAlie(num_attackers=f, seed=seed),
    "ipm_adaptive": lambda seed, f: AdaptiveIpm(num_attackers=f, seed=seed),
    "mimic": lambda seed, f: Mimic(num_attackers=f, seed=seed),
    "label_flip": lambda seed, f: LabelFlip(),
    "backdoor": lambda seed, f: Backdoor(seed=seed),
    "free_rider": lambda seed, f: FreeRider(seed=seed),
    "free_rider_replay": lambda seed, f: FreeRider(mode="replay", seed=seed),
    "free_rider_zero": lambda seed, f: FreeRider(mode="zero", seed=seed),
    "free_rider_copy": lambda seed, f: CopyCat(num_attackers=f, seed=seed),
    "nan": lambda seed, f: MalformedFile("nan"),
    "inf": lambda seed, f: MalformedFile("inf"),
    "malformed_pickle": lambda seed, f: MalformedFile("pickle"),
    "malformed_wrong_shapes": lambda seed, f: MalformedFile("wrong_shapes"),
    "malformed_nan": lambda seed, f: MalformedFile("nan"),
    "withhold": lambda seed, f: WithholdContent(),
}
"""Factories of the provider behaviours, keyed by name, taking a seed and the number of
colluding attackers (omniscient attacks submit one vector for all of them)."""


def behaviour(name: str, *, seed: int = 0, num_attackers: int = 1) -> ProviderBehaviour:
    """The provider behaviour called ``name``."""
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {name!r}; expected one of {', '.join(BEHAVIOURS)}")
    return BEHAVIOURS[name](seed, max(1, num_attackers))
