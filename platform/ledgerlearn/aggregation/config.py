"""The aggregation part of a task's configuration: a pydantic discriminated union.

A configuration such as ``{"rule": "krum", "num_byzantine": 2, "pre": [{"kind": "nnm"}]}`` is
validated by :class:`AggregatorConfig` and turned into a callable by
:meth:`AggregatorConfig.build`. Validation constructs the rule, so a configuration beyond a
rule's breakdown point is refused here, at configuration time, with a
:class:`~ledgerlearn.aggregation.errors.BreakdownPointError` naming the values (threat A5);
when ``num_updates`` is declared it is checked through every pre-aggregator as well.

Rules that use ``num_byzantine`` in their arithmetic require it; ``mean``, ``median`` and
``geometric_median`` default it to 0. A pre-aggregator without its own ``num_byzantine``
takes the rule's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StrictInt, model_validator

from ledgerlearn.aggregation.arc import ARC
from ledgerlearn.aggregation.base import Aggregator, PreAggregator
from ledgerlearn.aggregation.bucketing import Bucketing
from ledgerlearn.aggregation.bulyan import Bulyan
from ledgerlearn.aggregation.centered_clipping import CenteredClipping
from ledgerlearn.aggregation.clipping import Clipping
from ledgerlearn.aggregation.geometric_median import GeometricMedian
from ledgerlearn.aggregation.krum import Krum, MultiKrum
from ledgerlearn.aggregation.mda import DEFAULT_MAX_SUBSETS, MDA
from ledgerlearn.aggregation.meamed import Meamed
from ledgerlearn.aggregation.mean import Mean
from ledgerlearn.aggregation.median import Median
from ledgerlearn.aggregation.monna import MoNNA
from ledgerlearn.aggregation.nnm import NNM
from ledgerlearn.aggregation.pipeline import Pipeline
from ledgerlearn.aggregation.trimmed_mean import TrimmedMean

__all__ = [
    "ARCConfig",
    "AggregatorConfig",
    "BucketingConfig",
    "BulyanConfig",
    "CenteredClippingConfig",
    "ClippingConfig",
    "GeometricMedianConfig",
    "KrumConfig",
    "MDAConfig",
    "MeamedConfig",
    "MeanConfig",
    "MedianConfig",
    "MoNNAConfig",
    "MultiKrumConfig",
    "NNMConfig",
    "PreAggregatorConfig",
    "RuleConfig",
    "TrimmedMeanConfig",
]

Count = Annotated[StrictInt, Field(ge=0)]
Positive = Annotated[StrictInt, Field(ge=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- pre-aggregators -------------------------------------------------------------------------


class _PreConfig(_Strict):
    num_byzantine: Count | None = Field(None, description="Default: the rule's num_byzantine.")

    def _f(self, rule_num_byzantine: int) -> int:
        return rule_num_byzantine if self.num_byzantine is None else self.num_byzantine


class NNMConfig(_PreConfig):
    """Nearest-neighbour mixing."""

    kind: Literal["nnm"]

    def build(self, rule_num_byzantine: int) -> PreAggregator:
        return NNM(self._f(rule_num_byzantine))


class BucketingConfig(_PreConfig):
    """Seeded bucketing."""

    kind: Literal["bucketing"]
    bucket_size: Positive = 2
    seed: Count = 0

    def build(self, rule_num_byzantine: int) -> PreAggregator:
        return Bucketing(self._f(rule_num_byzantine), self.bucket_size, self.seed)


class ClippingConfig(_PreConfig):
    """Clipping to a quantile of the observed norms."""

    kind: Literal["clipping"]
    quantile: float = Field(0.5, gt=0.0, le=1.0)

    def build(self, rule_num_byzantine: int) -> PreAggregator:
        return Clipping(self._f(rule_num_byzantine), self.quantile)


class ARCConfig(_PreConfig):
    """Adaptive robust clipping."""

    kind: Literal["arc"]

    def build(self, rule_num_byzantine: int) -> PreAggregator:
        return ARC(self._f(rule_num_byzantine))


PreAggregatorConfig = Annotated[
    NNMConfig | BucketingConfig | ClippingConfig | ARCConfig, Field(discriminator="kind")
]


# --- rules -----------------------------------------------------------------------------------


class _RuleConfig(_Strict):
    num_updates: Positive | None = Field(
        None, description="Expected number of updates; checked against the breakdown point."
    )
    pre: tuple[PreAggregatorConfig, ...] = ()

    def _rule(self) -> Aggregator:
        raise NotImplementedError

    def build(self) -> Aggregator:
        """The configured callable: the rule, or a :class:`Pipeline` when ``pre`` is set."""
        rule = self._rule()
        if not self.pre:
            if self.num_updates is not None:
                rule.check_num_updates(self.num_updates)
            return rule
        steps = [p.build(rule.num_byzantine) for p in self.pre]
        return Pipeline(steps, rule, self.num_updates)

    @model_validator(mode="after")
    def _check_buildable(self) -> _RuleConfig:
        self.build()
        return self


class MeanConfig(_RuleConfig):
    """``mean``."""

    rule: Literal["mean"]
    num_byzantine: Count = 0

    def _rule(self) -> Aggregator:
        return Mean(self.num_byzantine)


class MedianConfig(_RuleConfig):
    """``median``."""

    rule: Literal["median"]
    num_byzantine: Count = 0

    def _rule(self) -> Aggregator:
        return Median(self.num_byzantine)


class TrimmedMeanConfig(_RuleConfig):
    """``trimmed_mean``."""

    rule: Literal["trimmed_mean"]
    num_byzantine: Count

    def _rule(self) -> Aggregator:
        return TrimmedMean(self.num_byzantine)


class GeometricMedianConfig(_RuleConfig):
    """``geometric_median``."""

    rule: Literal["geometric_median"]
    num_byzantine: Count = 0
    max_iter: Positive = 1000
    tol: float = Field(1e-9, ge=0.0, allow_inf_nan=False)
    smoothing: float = Field(1e-6, gt=0.0, allow_inf_nan=False)

    def _rule(self) -> Aggregator:
        return GeometricMedian(
            self.num_byzantine, max_iter=self.max_iter, tol=self.tol, smoothing=self.smoothing
        )


class KrumConfig(_RuleConfig):
    """``krum``."""

    rule: Literal["krum"]
    num_byzantine: Count

    def _rule(self) -> Aggregator:
        return Krum(self.num_byzantine)


class MultiKrumConfig(_RuleConfig):
    """``multi_krum``."""

    rule: Literal["multi_krum"]
    num_byzantine: Count
    num_selected: Positive | None = None

    def _rule(self) -> Aggregator:
        return MultiKrum(self.num_byzantine, num_selected=self.num_selected)


class BulyanConfig(_RuleConfig):
    """``bulyan``."""

    rule: Literal["bulyan"]
    num_byzantine: Count

    def _rule(self) -> Aggregator:
        return Bulyan(self.num_byzantine)


class CenteredClippingConfig(_RuleConfig):
    """``centered_clipping``."""

    rule: Literal["centered_clipping"]
    num_byzantine: Count
    num_iterations: Positive = 3
    radius: float | None = Field(None, gt=0.0, allow_inf_nan=False)

    def _rule(self) -> Aggregator:
        return CenteredClipping(
            self.num_byzantine, num_iterations=self.num_iterations, radius=self.radius
        )


class MDAConfig(_RuleConfig):
    """``mda``."""

    rule: Literal["mda"]
    num_byzantine: Count
    max_subsets: Positive = DEFAULT_MAX_SUBSETS

    def _rule(self) -> Aggregator:
        return MDA(self.num_byzantine, max_subsets=self.max_subsets)


class MeamedConfig(_RuleConfig):
    """``meamed``."""

    rule: Literal["meamed"]
    num_byzantine: Count

    def _rule(self) -> Aggregator:
        return Meamed(self.num_byzantine)


class MoNNAConfig(_RuleConfig):
    """``monna``."""

    rule: Literal["monna"]
    num_byzantine: Count
    pivot: Count | None = None

    def _rule(self) -> Aggregator:
        return MoNNA(self.num_byzantine, pivot=self.pivot)


RuleConfig = Annotated[
    MeanConfig
    | MedianConfig
    | TrimmedMeanConfig
    | GeometricMedianConfig
    | KrumConfig
    | MultiKrumConfig
    | BulyanConfig
    | CenteredClippingConfig
    | MDAConfig
    | MeamedConfig
    | MoNNAConfig,
    Field(discriminator="rule"),
]


class AggregatorConfig(RootModel[RuleConfig]):
    """A task's aggregation: a rule, its parameters, optional pre-aggregators.

    Examples
    --------
    >>> cfg = AggregatorConfig.model_validate(
    ...     {"rule": "krum", "num_byzantine": 2, "pre": [{"kind": "nnm"}]}
    ... )
    >>> cfg.rule_name
    'krum'
    """

    @property
    def rule_name(self) -> str:
        """The rule's registry name."""
        return self.root.rule

    @property
    def num_byzantine(self) -> int:
        """The rule's ``num_byzantine``."""
        return self.root.num_byzantine

    def build(self) -> Aggregator:
        """The configured callable (a rule, or a pipeline of pre-aggregators and a rule)."""
        return self.root.build()
