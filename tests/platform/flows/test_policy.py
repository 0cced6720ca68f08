"""THREATS I6: a task's policy is checked against the contract's own types, generated from the
ABI, before anything happens; a NaN threshold never becomes the score every update clears."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from pydantic import ValidationError

from ledgerlearn.aggregation import RULE_IDS
from ledgerlearn.core.rules import (
    INT64_MAX,
    INT64_MIN,
    MAX_ABS_THRESHOLD,
    SCORE_INVALID,
    Flow,
    MetricId,
    ThresholdMode,
    threshold_to_fixed,
    to_fixed,
)
from ledgerlearn.core.task_params import RANGES
from ledgerlearn.flows.policy import ON_CHAIN_NAMES, Policy
from ledgerlearn.training import get_metric

POLICY_NAME = {chain: policy for policy, chain in ON_CHAIN_NAMES.items()}
DERIVED = {
    "flow": "a Literal of Flow names",
    "metric": "a Literal of metric names",
    "threshold_mode": "a Literal of ThresholdMode names",
    "aggregation_rule": "a rule name of RULE_IDS",
    "threshold": "a float, turned into fixed point by threshold_to_fixed",
}
"""TaskParams integers the policy does not hold as plain integers; each is checked below."""


def _valid() -> dict[str, Any]:
    return {"quorum": 2, "max_faulty_validators": 0}


@pytest.mark.parametrize("name", sorted(RANGES))
def test_every_integer_of_task_params_is_range_checked_by_the_policy(name: str) -> None:
    """Fails for a TaskParams integer the policy does not check (e.g. a component the
    contract gains): give Policy a field of that name (or list it in ON_CHAIN_NAMES), or
    derive it from one in flows/policy.py and list it in DERIVED."""
    bounds = RANGES[name]
    if name in DERIVED:
        return  # test_derived_fields_always_fit
    field = POLICY_NAME.get(name, name)
    assert field in Policy.model_fields, (
        f"{bounds.describe()} has no Policy field {field!r}: nothing checks it before "
        "the transaction is built"
    )
    for bad in (bounds.high + 1, bounds.low - 1, 2**300):
        with pytest.raises(ValidationError) as caught:
            Policy(**{**_valid(), field: bad})
        assert caught.value.errors()[0]["loc"] == (field,), caught.value


def test_derived_fields_always_fit() -> None:
    ranges = RANGES
    assert set(DERIVED) <= set(ranges), "DERIVED lists a field the ABI no longer has"
    literal = {
        "flow": [int(Flow.FEDERATION), int(Flow.DAG)],
        "metric": [int(MetricId(get_metric(m).metric_id)) for m in ("accuracy", "macro_f1")],
        "threshold_mode": [int(m) for m in ThresholdMode],
        "aggregation_rule": list(RULE_IDS.values()),
        "threshold": [threshold_to_fixed(-MAX_ABS_THRESHOLD), threshold_to_fixed(1000.0)],
    }
    for name, values in literal.items():
        assert all(v in ranges[name] for v in values), (name, values)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rounds", 2**32, "does not fit the contract's TaskParams.maxRounds (uint32"),
        ("round_length", 2**40, "TaskParams.roundLength (uint32"),
        ("score_window", 2**32, "TaskParams.scoreWindow (uint32"),
        ("num_byzantine", 70_000, "TaskParams.numByzantine (uint16: 0 to 65535)"),
        ("threshold", math.nan, "finite number"),
        ("threshold", math.inf, "finite number"),
        ("threshold", -math.inf, "finite number"),
        ("threshold", 1e9, "less than or equal to 1000"),
    ],
)
def test_the_issues_values_are_refused_naming_the_field(
    field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        Policy(**{**_valid(), field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_a_threshold_never_maps_silently_to_the_invalid_score() -> None:
    for bad in (math.nan, math.inf, -math.inf, 1000.5, -1e300):
        with pytest.raises(ValueError, match="finite number within"):
            threshold_to_fixed(bad)
    assert threshold_to_fixed(-0.25) == -250_000
    assert threshold_to_fixed(1000.0) == 1_000_000_000
    # scores keep their meaning: NaN is the invalid score, infinities clamp
    assert to_fixed(math.nan) == SCORE_INVALID
    assert to_fixed(math.inf) == INT64_MAX and to_fixed(-math.inf) == INT64_MIN


def test_the_edges_of_the_types_are_accepted() -> None:
    policy = Policy(
        **_valid(), rounds=2**32 - 1, round_length=2**32 - 1, num_byzantine=0, threshold=-1000.0
    )
    assert policy.rounds == 2**32 - 1 and policy.threshold == -1000.0


def test_the_policys_names_are_the_enums_and_the_metrics() -> None:
    from typing import get_args

    from ledgerlearn.flows.policy import FlowName, MetricName, ThresholdModeName
    from ledgerlearn.training import METRICS

    assert get_args(FlowName) == tuple(f.name.lower() for f in Flow)
    assert get_args(MetricName) == tuple(m.name.lower() for m in MetricId)
    assert get_args(ThresholdModeName) == tuple(m.name.lower() for m in ThresholdMode)
    assert {name: int(MetricId[name.upper()]) for name in get_args(MetricName)} == {
        name: metric.metric_id for name, metric in METRICS.items()
    }


def test_params_fields_walk_the_generated_fields() -> None:
    from ledgerlearn.core.task_params import FIELDS

    fields = Policy(flow="dag", metric="macro_f1", threshold=0.5, rounds=7).params_fields()
    assert list(fields) == [f.name for f in FIELDS if f.name in fields]  # the struct's order
    assert set(fields) == set(ON_CHAIN_NAMES.values())
    assert fields["flow"] is Flow.DAG and fields["metric"] is MetricId.MACRO_F1
    assert fields["threshold"] == 500_000 and fields["max_rounds"] == 7
    assert fields["aggregation_rule"] == RULE_IDS["median"]
    assert Policy().typed_data_fields()["maxRounds"] == 3


@pytest.mark.parametrize(
    "policy",
    [
        Policy(),
        Policy(
            flow="dag",
            metric="negative_loss",
            threshold=-0.125,
            threshold_mode="relative",
            aggregation_rule="krum",
            num_byzantine=1,
            max_parents=3,
        ),
        Policy(rounds=7, min_updates=4, round_extension=9, attest_window=11, quorum=4),
    ],
)
def test_a_published_tasks_policy_reads_back_as_it_was_declared(policy: Policy) -> None:
    from ledgerlearn.core.task_params import TaskParams
    from ledgerlearn.flows.policy import policy_fields

    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="w0",
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        **policy.params_fields(),  # type: ignore[arg-type]
    )
    fields = policy_fields(params)
    assert list(fields) == list(Policy.model_fields)
    assert Policy(**fields) == policy  # type: ignore[arg-type]
