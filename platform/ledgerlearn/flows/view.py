"""What a provider's behaviour may see of the round: what the ledger shows, nothing more.

Each flow's provider duty (``flows/<flow>/provider.py``) builds the view and hands it to the
provider's behaviour (:class:`~ledgerlearn.flows.ports.ProviderBehaviour`).

The base (global) model, the task's public parameters (aggregation rule, its num_byzantine,
the joined providers) and the updates already submitted in the round — fetched from IPFS on
first use, as any member could. Omniscient attacks (ALIE, IPM, Mimic, copy) read the
submitted updates; honest behaviour ignores them. (The gateway's ``RoundView`` is another
thing: the REST resource of a round.)

A dag task has no rounds; the same view then holds the merge of the parents the provider
chose as ``base``, the provider's update count as ``round`` (1 for its first), no window
(``blocks_left`` 0: submit now), and the latest updates of the other providers that were not
rejected as the ``submitted`` updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ledgerlearn.core.types import Weights
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.flatten import flatten, unflatten


@dataclass
class ProviderView:
    """The ledger's view of the current round, for one provider's behaviour.

    Parameters
    ----------
    spec, base
        The task's model spec and the round's base model.
    round, blocks_left
        The round number and the blocks until its submissions close.
    providers
        Providers that joined the task (this one included).
    submitted
        Updates already submitted in the round by other providers.
    rule, num_byzantine
        The task's aggregation rule and its parameter (public on chain).
    load_updates
        Fetches the submitted updates' weights (verified), in submission order.
    metric, threshold, threshold_mode
        The committee's acceptance policy (public on chain): the metric's name, the score
        threshold, and what a score is measured against (``absolute``, ``relative`` to the
        base model, or ``peer``: the median of the round's valid updates).
    """

    spec: ModelSpec
    base: Weights
    round: int
    blocks_left: int
    providers: int
    submitted: int
    rule: str
    num_byzantine: int
    load_updates: Callable[[], list[Weights]] = field(repr=False, default=list)
    metric: str = "accuracy"
    threshold: float = 0.0
    threshold_mode: str = "absolute"
    _updates: list[Weights] | None = field(default=None, repr=False)

    def updates(self) -> list[Weights]:
        """The weights of the updates submitted so far (fetched once)."""
        if self._updates is None:
            self._updates = self.load_updates()
        return self._updates

    def base_vector(self) -> npt.NDArray[np.float32]:
        """The base model as one float32 vector (spec order)."""
        return flatten(self.base, self.spec)

    def deltas(self) -> npt.NDArray[np.float32]:
        """``(k, d)``: each submitted update minus the base model."""
        base = self.base_vector()
        rows = [flatten(w, self.spec) - base for w in self.updates()]
        return np.stack(rows) if rows else np.zeros((0, base.size), dtype=np.float32)

    def model(self, delta: npt.NDArray[np.floating]) -> Weights:
        """The model ``base + delta`` as weights."""
        return unflatten((self.base_vector() + delta).astype(np.float32), self.spec)
