"""Pipelines: pre-aggregators applied in order, then a rule.

Like Flower's differential-privacy wrapper around a strategy, a pipeline is itself an
:class:`~ledgerlearn.aggregation.base.Aggregator`, so flows never know whether they hold a
bare rule or a composition. Its breakdown check follows the number of updates through the
steps (bucketing turns ``n`` updates into ``ceil(n / s)``) and checks every step and the rule
on what it will actually receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ledgerlearn.aggregation.base import Aggregator, PreAggregator, check_count
from ledgerlearn.aggregation.errors import BreakdownPointError
from ledgerlearn.aggregation.inputs import Matrix, Vector

__all__ = ["Pipeline"]


class Pipeline(Aggregator):
    """``rule(pre[-1](...pre[0](x)))``.

    Parameters
    ----------
    pre
        Pre-aggregators, applied first to last.
    rule
        The aggregation rule applied to their output.
    num_updates
        Declared number of updates, checked through every step at construction.
    """

    name: ClassVar[str] = "pipeline"

    def __init__(
        self, pre: Sequence[PreAggregator], rule: Aggregator, num_updates: int | None = None
    ) -> None:
        self.pre = tuple(pre)
        self.rule = rule
        self.num_byzantine = rule.num_byzantine
        self.num_updates = (
            None if num_updates is None else check_count("num_updates", num_updates, 1)
        )
        if self.num_updates is not None:
            self.check_num_updates(self.num_updates)

    def check_num_updates(self, n: int) -> None:
        received = n
        for step in self.pre:
            step.check_num_updates(n)
            n = step.num_outputs(n)
        try:
            self.rule.check_num_updates(n)
        except BreakdownPointError as exc:
            if n == received:
                raise
            kinds = ", ".join(step.kind for step in self.pre)
            raise BreakdownPointError(
                exc.rule,
                f"{exc.requirement} (it receives n={n} from {kinds} given {received} updates)",
                n,
                exc.num_byzantine,
            ) from exc

    def aggregate(self, x: Matrix) -> Vector:
        self.check_num_updates(x.shape[0])
        for step in self.pre:
            x = step.transform(x)
        return self.rule.aggregate(x)

    def __repr__(self) -> str:
        steps = ", ".join(repr(step) for step in self.pre)
        return f"Pipeline(pre=[{steps}], rule={self.rule!r})"
