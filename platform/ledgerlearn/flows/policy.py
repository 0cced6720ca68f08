"""A task's policy: how the committee decides and how updates are aggregated.

One definition for everyone who declares a policy: the publisher agent
(:class:`~ledgerlearn.agents.publisher.Publisher`), the gateway (the JSON ``policy`` of a
publication) and both command lines (``ledgerlearn publish`` and ``ledgerlearn api publish``
make one option per field, with the field's default and description as help). Each field sets
the :class:`~ledgerlearn.core.task_params.TaskParams` component of the same name
(:data:`ON_CHAIN_NAMES`), and every integer is checked against the range of that component's
Solidity type (:data:`~ledgerlearn.core.task_params.RANGES`) before anything is stored or sent.

A description names another field in backquotes (```round_extension```): each command line
shows it as the option that sets it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ledgerlearn.core.rules import (
    MAX_ABS_THRESHOLD,
    MAX_COMMITTEE,
    Flow,
    MetricId,
    ThresholdMode,
    from_fixed,
    threshold_to_fixed,
)
from ledgerlearn.core.task_params import FIELDS, RANGES, TaskParams
from ledgerlearn.errors import AgentError

if TYPE_CHECKING:
    FlowName = str
else:
    FlowName = Literal[tuple(f.name.lower() for f in Flow)]
"""A :class:`~ledgerlearn.core.rules.Flow` by its name in lower case, the name of its strategy
(:data:`~ledgerlearn.flows.registry.FLOW_NAMES`): a ``Literal`` made from the enum, so a new
flow needs no edit here, the schema lists the names and a wrong one is refused with the list.
(Not made from the registry: importing the strategies imports torch and web3, and both
command lines import this module as they start.)"""
MetricName = Literal["accuracy", "macro_f1", "negative_loss"]
"""A :class:`~ledgerlearn.core.rules.MetricId`, by its name in lower case."""
ThresholdModeName = Literal["absolute", "relative", "peer"]
"""A :class:`~ledgerlearn.core.rules.ThresholdMode`, by its name in lower case."""


class Policy(BaseModel):
    """How the committee decides and how updates are aggregated (declared at publication)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow: FlowName = Field(
        "federation",
        description="federation (rounds) or dag (asynchronous updates naming parents).",
    )
    metric: MetricName = Field("accuracy", description="The committee's metric.")
    threshold: float = Field(
        -0.25,
        ge=-MAX_ABS_THRESHOLD,
        le=MAX_ABS_THRESHOLD,
        allow_inf_nan=False,
        description="A score approves an update when score >= threshold (a finite number "
        "within +-1000).",
    )
    threshold_mode: ThresholdModeName = Field(
        "peer",
        description="Score = metric (absolute), minus the global model's (relative), or minus "
        "the median of the round's valid updates (peer: robust to non-IID data).",
    )
    quorum: int = Field(
        3,
        ge=1,
        le=MAX_COMMITTEE,
        description="k: scores an update needs at the deadline; attestations a round needs.",
    )
    max_faulty_validators: int = Field(
        1,
        ge=0,
        le=MAX_COMMITTEE - 1,
        description="f: committee members that may lie (f < k <= n - f).",
    )
    aggregation_rule: str = Field(
        "median", description="Aggregation rule, e.g. median, mean, krum."
    )
    num_byzantine: int = Field(0, ge=0, description="Byzantine updates the rule must tolerate.")
    rounds: int = Field(3, ge=1, description="Federation rounds.")
    round_length: int = Field(20, ge=1, description="Blocks a round accepts updates.")
    score_window: int = Field(
        20,
        ge=1,
        description="Blocks the committee has to score after submissions close (dag: after "
        "each update's submission).",
    )
    max_parents: int = Field(2, ge=1, le=8, description="Dag: most parents an update may name.")
    min_updates: int = Field(
        0,
        ge=0,
        description="Federation: a round waits (up to `round_extension` blocks) until this many "
        "updates arrived, rejected ones included, so slow honest providers make it (0: no "
        "wait).",
    )
    round_extension: int = Field(
        0, ge=0, description="Federation: most blocks a round waits for `min_updates`."
    )
    score_extension: int = Field(
        20,
        ge=0,
        description="Blocks an update short of a quorum can still be scored; then it expires "
        "(no credit, no blame: it is not rejected).",
    )
    attest_window: int = Field(
        20,
        ge=1,
        description="Federation: blocks to attest the aggregate; then any participant closes "
        "the round without a quorum.",
    )
    max_pending: int = Field(4, ge=1, description="Dag: most undecided updates per provider.")
    draw_size: int = Field(
        0,
        ge=0,
        le=MAX_COMMITTEE,
        description="Committee drawn from the validators' pool, of this size (0: the publisher "
        "names it; only a laboratory ledger without a vetting contract allows that).",
    )
    commit_window: int = Field(
        0,
        ge=0,
        description="Blocks the committee commits its scores before revealing them (0: scores "
        "are sent in the clear). Must be shorter than score_window.",
    )
    max_rejections: int = Field(
        0,
        ge=0,
        description="A provider whose updates are rejected this many times is excluded from "
        "the task (0: never).",
    )

    @field_validator("*", mode="after")
    @classmethod
    def _within_the_contracts_types(cls, value: Any, info: ValidationInfo) -> Any:
        """Every integer field fits the Solidity type of its ``TaskParams`` component."""
        if isinstance(value, int) and not isinstance(value, bool) and info.field_name:
            bounds = RANGES.get(ON_CHAIN_NAMES[info.field_name])
            if bounds is not None and value not in bounds:
                raise ValueError(f"{value} does not fit the contract's {bounds.describe()}")
        return value

    @model_validator(mode="after")
    def _known_rule(self) -> Policy:
        from ledgerlearn.aggregation import RULE_IDS

        if self.aggregation_rule not in RULE_IDS:
            raise ValueError(
                f"aggregation_rule {self.aggregation_rule!r} is unknown; "
                f"expected one of {', '.join(sorted(RULE_IDS))}"
            )
        if self.commit_window >= self.score_window and self.commit_window > 0:
            raise ValueError(
                f"commit_window={self.commit_window} must be shorter than "
                f"score_window={self.score_window}: reveals need the blocks after it"
            )
        if self.min_updates > 0 and self.round_extension == 0:
            raise ValueError(
                f"min_updates={self.min_updates} needs round_extension > 0: the most blocks "
                "a round waits for them"
            )
        return self

    def params_fields(self) -> dict[str, object]:
        """The :class:`~ledgerlearn.core.task_params.TaskParams` components this policy sets,
        in the struct's order, as the contract stores them."""
        values = {ON_CHAIN_NAMES[name]: getattr(self, name) for name in type(self).model_fields}
        return {
            f.name: _TO_CHAIN.get(f.name, _same)(values[f.name]) for f in FIELDS if f.name in values
        }

    def typed_data_fields(self) -> dict[str, int]:
        """The same components as they appear in the EIP-712 ``TaskParams`` message."""
        abi_names = {f.name: f.abi_name for f in FIELDS}
        return {abi_names[name]: int(value) for name, value in self.params_fields().items()}  # type: ignore[call-overload]

    def check_committee(self, size: int, providers: int | None = None) -> None:
        """Refuse a policy that cannot be safe and live with ``size`` members (f < k <= n - f),
        and a rule configured beyond its breakdown point for ``providers`` updates.

        Raises
        ------
        AgentError
            An unsafe committee policy.
        AggregationConfigError
            A rule configured beyond its breakdown point.
        """
        k, f = self.quorum, self.max_faulty_validators
        if not f < k <= size - f:
            raise AgentError(
                f"unsafe committee policy: quorum k={k}, tolerated liars f={f}, committee n={size}"
                " must satisfy f < k <= n - f"
            )
        if providers is not None:
            from ledgerlearn.aggregation import get

            rule = get(self.aggregation_rule, num_byzantine=self.num_byzantine)
            rule.check_num_updates(providers)


_RENAMED = {"rounds": "max_rounds"}

ON_CHAIN_NAMES: dict[str, str] = {name: _RENAMED.get(name, name) for name in Policy.model_fields}
"""Policy field -> the ``TaskParams`` component it sets (``rounds`` sets ``max_rounds``)."""


def _same(value: object) -> object:
    return value


def _rule_id(name: str) -> int:
    from ledgerlearn.aggregation import RULE_IDS

    return RULE_IDS[name]


_TO_CHAIN: dict[str, Callable[[Any], object]] = {
    "flow": lambda name: Flow[name.upper()],
    "metric": lambda name: MetricId[name.upper()],
    "threshold_mode": lambda name: ThresholdMode[name.upper()],
    "threshold": threshold_to_fixed,
    "aggregation_rule": _rule_id,
}
"""How a field's value becomes its component's (the others are the same integer)."""


def _rule_name(rule_id: int) -> str:
    from ledgerlearn.aggregation import RULE_NAMES

    return RULE_NAMES.get(rule_id, f"rule {rule_id}")


_FROM_CHAIN: dict[str, Callable[[Any], object]] = {
    "flow": lambda value: Flow(value).name.lower(),
    "metric": lambda value: MetricId(value).name.lower(),
    "threshold_mode": lambda value: ThresholdMode(value).name.lower(),
    "threshold": from_fixed,
    "aggregation_rule": _rule_name,
}


def policy_fields(params: TaskParams) -> dict[str, object]:
    """A published task's policy in the words of :class:`Policy` (its fields' names and
    values, in order), read from its parameters: what a person compares with the options
    of ``publish``. Not validated: a task on chain is what it is."""
    return {
        name: _FROM_CHAIN.get(name, _same)(getattr(params, ON_CHAIN_NAMES[name]))
        for name in Policy.model_fields
    }
