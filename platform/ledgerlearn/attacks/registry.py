"""Behaviours by name, for configuration (CLI, demo, benchmarks)."""

from __future__ import annotations

from collections.abc import Callable

from ledgerlearn.attacks.behaviour import Honest, ProviderBehaviour
from ledgerlearn.attacks.free_rider import FreeRider
from ledgerlearn.attacks.label_flip import LabelFlip
from ledgerlearn.attacks.malformed_file import MalformedFile
from ledgerlearn.attacks.sign_flip import SignFlip
from ledgerlearn.attacks.withhold import WithholdContent

BEHAVIOURS: dict[str, Callable[[int], ProviderBehaviour]] = {
    "honest": lambda seed: Honest(),
    "sign_flip": lambda seed: SignFlip(),
    "label_flip": lambda seed: LabelFlip(),
    "free_rider": lambda seed: FreeRider(seed=seed),
    "malformed_pickle": lambda seed: MalformedFile("pickle"),
    "malformed_wrong_shapes": lambda seed: MalformedFile("wrong_shapes"),
    "malformed_nan": lambda seed: MalformedFile("nan"),
    "withhold": lambda seed: WithholdContent(),
}
"""Factories of the provider behaviours, keyed by name, taking a seed."""


def behaviour(name: str, *, seed: int = 0) -> ProviderBehaviour:
    """The provider behaviour called ``name``."""
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {name!r}; expected one of {', '.join(BEHAVIOURS)}")
    return BEHAVIOURS[name](seed)
