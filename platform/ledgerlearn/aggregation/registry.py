"""The registry of rules and pre-aggregators, and the public entry point :func:`get`.

Plain typed dicts, no string imports: :data:`RULES` maps a rule's name to its class,
:data:`PRE_AGGREGATORS` a pre-aggregator's kind to its class, and :data:`RULE_IDS` a rule's
name to the small integer the on-chain task stores as ``aggregationRule`` (``uint8``). The ids
are part of the on-chain format: they never change, and new rules take new numbers.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ledgerlearn.aggregation.arc import ARC
from ledgerlearn.aggregation.base import Aggregator, PreAggregator
from ledgerlearn.aggregation.bucketing import Bucketing
from ledgerlearn.aggregation.bulyan import Bulyan
from ledgerlearn.aggregation.centered_clipping import CenteredClipping
from ledgerlearn.aggregation.clipping import Clipping
from ledgerlearn.aggregation.config import AggregatorConfig
from ledgerlearn.aggregation.errors import AggregationConfigError, UnknownRuleError
from ledgerlearn.aggregation.geometric_median import GeometricMedian
from ledgerlearn.aggregation.krum import Krum, MultiKrum
from ledgerlearn.aggregation.mda import MDA
from ledgerlearn.aggregation.meamed import Meamed
from ledgerlearn.aggregation.mean import Mean
from ledgerlearn.aggregation.median import Median
from ledgerlearn.aggregation.monna import MoNNA
from ledgerlearn.aggregation.nnm import NNM
from ledgerlearn.aggregation.trimmed_mean import TrimmedMean

__all__ = [
    "PRE_AGGREGATORS",
    "RULES",
    "RULE_IDS",
    "RULE_NAMES",
    "AggregatorConfig",
    "get",
    "rule_id",
    "rule_name",
]

RULES: dict[str, type[Aggregator]] = {
    Mean.name: Mean,
    Median.name: Median,
    TrimmedMean.name: TrimmedMean,
    GeometricMedian.name: GeometricMedian,
    Krum.name: Krum,
    MultiKrum.name: MultiKrum,
    Bulyan.name: Bulyan,
    CenteredClipping.name: CenteredClipping,
    MDA.name: MDA,
    Meamed.name: Meamed,
    MoNNA.name: MoNNA,
}
"""Rule name -> class."""

PRE_AGGREGATORS: dict[str, type[PreAggregator]] = {
    NNM.kind: NNM,
    Bucketing.kind: Bucketing,
    Clipping.kind: Clipping,
    ARC.kind: ARC,
}
"""Pre-aggregator kind -> class."""

RULE_IDS: dict[str, int] = {
    "mean": 0,
    "median": 1,
    "trimmed_mean": 2,
    "geometric_median": 3,
    "krum": 4,
    "multi_krum": 5,
    "bulyan": 6,
    "centered_clipping": 7,
    "mda": 8,
    "meamed": 9,
    "monna": 10,
}
"""Rule name -> on-chain ``aggregationRule`` (uint8). Stable: never renumber."""

RULE_NAMES: dict[int, str] = {number: name for name, number in RULE_IDS.items()}
"""On-chain ``aggregationRule`` -> rule name."""


def rule_id(name: str) -> int:
    """The on-chain id of a rule name; :class:`UnknownRuleError` if there is none."""
    if name not in RULE_IDS:
        raise UnknownRuleError(name, list(RULE_IDS))
    return RULE_IDS[name]


def rule_name(number: int) -> str:
    """The rule name of an on-chain id; :class:`UnknownRuleError` if there is none."""
    if number not in RULE_NAMES:
        raise UnknownRuleError(str(number), [f"{i} ({n})" for i, n in RULE_NAMES.items()])
    return RULE_NAMES[number]


def get(name: str, **params: Any) -> Aggregator:
    """The aggregation rule ``name`` configured with ``params``, ready to call.

    The returned callable maps an ``(n, d)`` numpy array or torch tensor to a ``(d,)`` one of
    the same type. Parameters are validated as an :class:`AggregatorConfig` (so ``pre=[...]``
    gives a pipeline, and ``num_updates=n`` checks the breakdown point now).

    Parameters
    ----------
    name
        One of :data:`RULES`: ``mean``, ``median``, ``trimmed_mean``, ``geometric_median``,
        ``krum``, ``multi_krum``, ``bulyan``, ``centered_clipping``, ``mda``, ``meamed``,
        ``monna``.
    **params
        The rule's parameters, e.g. ``num_byzantine=2``.

    Raises
    ------
    UnknownRuleError
        ``name`` is not a rule.
    BreakdownPointError
        ``num_byzantine`` (with ``num_updates``, if given) is beyond the rule's breakdown point.
    AggregationConfigError
        Any other invalid parameter (missing, unknown, wrong type or range).

    Examples
    --------
    >>> import numpy as np
    >>> krum = get("krum", num_byzantine=1)
    >>> krum(np.array([[0.0], [0.1], [0.2], [0.3], [9.0]], dtype=np.float32))
    array([0.1], dtype=float32)
    """
    if name not in RULES:
        raise UnknownRuleError(name, list(RULES))
    try:
        config = AggregatorConfig.model_validate({"rule": name, **params})
    except ValidationError as exc:
        raise AggregationConfigError(f"invalid parameters for {name}: {exc}") from exc
    return config.build()
