"""Byzantine behaviours that wrap what a provider (or a validator) produces.

Honest agent code never branches on being malicious: an agent is given a behaviour, and the
honest one is just another behaviour. This package holds the behaviours the demo uses; the
full attack suite (ALIE, IPM, Mimic, backdoor, colluders, ...) has its own issue.
"""

from ledgerlearn.attacks.behaviour import Honest, ProviderBehaviour, TrainFn
from ledgerlearn.attacks.free_rider import FreeRider
from ledgerlearn.attacks.label_flip import LabelFlip
from ledgerlearn.attacks.registry import BEHAVIOURS, behaviour
from ledgerlearn.attacks.sign_flip import SignFlip
from ledgerlearn.attacks.withhold import WithholdContent

__all__ = [
    "BEHAVIOURS",
    "FreeRider",
    "Honest",
    "LabelFlip",
    "ProviderBehaviour",
    "SignFlip",
    "TrainFn",
    "WithholdContent",
    "behaviour",
]
