"""Byzantine-robust aggregation: rules, pre-aggregators, pipelines and their registry.

Every rule maps ``n`` updates, an ``(n, d)`` numpy array or torch tensor (float32 or float64),
to one ``(d,)`` aggregate of the same type, deterministically: the same inputs give a
bit-identical output (ties go to the lowest index; the only randomness, bucketing, is a seeded
hash). Inputs with inf/NaN are refused (:class:`NonFiniteUpdateError`), and a rule configured
beyond its breakdown point is refused at construction and at call
(:class:`BreakdownPointError`).

Entry points: :func:`get` (``get("krum", num_byzantine=2)``), :class:`AggregatorConfig` (the
pydantic model of a task's aggregation), :data:`RULE_IDS` (on-chain ids).

Modules: one rule per module (:mod:`.mean`, :mod:`.median`, :mod:`.trimmed_mean`,
:mod:`.geometric_median`, :mod:`.krum` (Krum and Multi-Krum), :mod:`.bulyan`,
:mod:`.centered_clipping`, :mod:`.mda`, :mod:`.meamed`, :mod:`.monna`), pre-aggregators
(:mod:`.nnm`, :mod:`.bucketing`, :mod:`.clipping`, :mod:`.arc`), shared numerics
(:mod:`.distances`: one-GEMM centred distances; :mod:`.sorting`: coordinate-wise order
statistics; :mod:`.inputs`: conversion, finiteness, streaming helpers), :mod:`.pipeline`,
:mod:`.config`, :mod:`.registry`.
"""

from ledgerlearn.aggregation.arc import ARC
from ledgerlearn.aggregation.base import Aggregator, PreAggregator
from ledgerlearn.aggregation.bucketing import Bucketing
from ledgerlearn.aggregation.bulyan import Bulyan
from ledgerlearn.aggregation.centered_clipping import CenteredClipping
from ledgerlearn.aggregation.clipping import Clipping
from ledgerlearn.aggregation.config import AggregatorConfig, PreAggregatorConfig, RuleConfig
from ledgerlearn.aggregation.errors import (
    AggregationConfigError,
    AggregationError,
    BreakdownPointError,
    InvalidUpdatesError,
    NonFiniteUpdateError,
    SubsetSearchTooLargeError,
    UnknownRuleError,
)
from ledgerlearn.aggregation.geometric_median import GeometricMedian
from ledgerlearn.aggregation.krum import Krum, MultiKrum
from ledgerlearn.aggregation.mda import MDA
from ledgerlearn.aggregation.meamed import Meamed
from ledgerlearn.aggregation.mean import Mean
from ledgerlearn.aggregation.median import Median
from ledgerlearn.aggregation.monna import MoNNA
from ledgerlearn.aggregation.nnm import NNM
from ledgerlearn.aggregation.pipeline import Pipeline
from ledgerlearn.aggregation.registry import (
    PRE_AGGREGATORS,
    RULE_IDS,
    RULE_NAMES,
    RULES,
    get,
    rule_id,
    rule_name,
)
from ledgerlearn.aggregation.trimmed_mean import TrimmedMean

__all__ = [
    "ARC",
    "MDA",
    "NNM",
    "PRE_AGGREGATORS",
    "RULES",
    "RULE_IDS",
    "RULE_NAMES",
    "AggregationConfigError",
    "AggregationError",
    "Aggregator",
    "AggregatorConfig",
    "BreakdownPointError",
    "Bucketing",
    "Bulyan",
    "CenteredClipping",
    "Clipping",
    "GeometricMedian",
    "InvalidUpdatesError",
    "Krum",
    "Meamed",
    "Mean",
    "Median",
    "MoNNA",
    "MultiKrum",
    "NonFiniteUpdateError",
    "Pipeline",
    "PreAggregator",
    "PreAggregatorConfig",
    "RuleConfig",
    "SubsetSearchTooLargeError",
    "TrimmedMean",
    "UnknownRuleError",
    "get",
    "rule_id",
    "rule_name",
]
