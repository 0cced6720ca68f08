"""Behaviours by name, for configuration (CLI, demo, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from ledgerlearn.behaviours.adaptive import AdaptiveAlie, AdaptiveIpm
from ledgerlearn.behaviours.backdoor import Backdoor
from ledgerlearn.behaviours.free_rider import CopyCat, FreeRider
from ledgerlearn.behaviours.label_flip import LabelFlip
from ledgerlearn.behaviours.local_attack import LocalAttack
from ledgerlearn.behaviours.lying_validator import (
    Collude,
    Deflate,
    HonestValidator,
    Inflate,
    Silent,
    ValidatorBehaviour,
)
from ledgerlearn.behaviours.malformed_file import MalformedFile
from ledgerlearn.behaviours.omniscient import OmniscientAttack
from ledgerlearn.behaviours.provider import Honest
from ledgerlearn.behaviours.withhold import WithholdContent
from ledgerlearn.core.attacks import (
    Alie,
    Gaussian,
    Ipm,
    Mimic,
    OptimisedAlie,
    OptimisedIpm,
    Scaling,
    SignFlip,
)
from ledgerlearn.flows.ports import ProviderBehaviour

__all__ = [
    "BEHAVIOURS",
    "VALIDATOR_BEHAVIOURS",
    "Factory",
    "behaviour",
    "validator_behaviour",
]

Factory = Callable[[int, int], ProviderBehaviour]

BEHAVIOURS: dict[str, Factory] = {
    "honest": lambda seed, f: Honest(),
    "sign_flip": lambda seed, f: LocalAttack(SignFlip()),
    "gaussian": lambda seed, f: LocalAttack(Gaussian(), trains=False, seed=seed),
    "scaling": lambda seed, f: LocalAttack(Scaling()),
    "alie": lambda seed, f: OmniscientAttack(Alie(), num_attackers=f, seed=seed),
    "alie_opt": lambda seed, f: OmniscientAttack(OptimisedAlie(), num_attackers=f, seed=seed),
    "ipm": lambda seed, f: OmniscientAttack(Ipm(), num_attackers=f, seed=seed),
    "ipm_opt": lambda seed, f: OmniscientAttack(OptimisedIpm(), num_attackers=f, seed=seed),
    "alie_adaptive": lambda seed, f: AdaptiveAlie(num_attackers=f, seed=seed),
    "ipm_adaptive": lambda seed, f: AdaptiveIpm(num_attackers=f, seed=seed),
    "mimic": lambda seed, f: OmniscientAttack(Mimic(), num_attackers=f, seed=seed),
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


VALIDATOR_BEHAVIOURS: dict[str, Callable[[Collection[str]], ValidatorBehaviour]] = {
    "honest": lambda partners: HonestValidator(),
    "inflate": lambda partners: Inflate(),
    "deflate": lambda partners: Deflate(),
    "collude": lambda partners: Collude(partners),
    "silent": lambda partners: Silent(),
}
"""Validator behaviours by name; the factory takes the Byzantine providers' accounts (the
partners of colluders)."""


def validator_behaviour(name: str, partners: Collection[str] = ()) -> ValidatorBehaviour:
    """The validator behaviour called ``name``."""
    if name not in VALIDATOR_BEHAVIOURS:
        raise ValueError(
            f"unknown validator behaviour {name!r}; expected one of "
            f"{', '.join(VALIDATOR_BEHAVIOURS)}"
        )
    return VALIDATOR_BEHAVIOURS[name](partners)
