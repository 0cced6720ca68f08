"""Behaviours: what an agent does, honest or Byzantine, given to it rather than branched on.

Honest agent code never branches on being malicious: an agent is given a behaviour, and the
honest one is just another behaviour. A provider's behaviour
(:class:`~ledgerlearn.flows.ports.ProviderBehaviour`) sees the round as the ledger shows it
(:class:`~ledgerlearn.flows.view.ProviderView`) and decides what it submits, when, and how it
publishes it: the honest one (:mod:`.provider`), the vector attacks of
:mod:`ledgerlearn.core.attacks` applied to its own update (:mod:`.local_attack`) or to the
round's visible updates (:mod:`.omniscient`, :mod:`.adaptive`), data poisoning
(:mod:`.label_flip`, :mod:`.backdoor`), free riders, malformed files, withheld content. A
validator's behaviour decides what it reports (:mod:`.lying_validator`); rogue keepers
propose wrong or unfetchable aggregates (:mod:`.keepers`). :mod:`.registry` names them all.
"""

from ledgerlearn.behaviours.provider import Honest
from ledgerlearn.behaviours.registry import (
    BEHAVIOURS,
    VALIDATOR_BEHAVIOURS,
    behaviour,
    validator_behaviour,
)

__all__ = [
    "BEHAVIOURS",
    "VALIDATOR_BEHAVIOURS",
    "Honest",
    "behaviour",
    "validator_behaviour",
]
