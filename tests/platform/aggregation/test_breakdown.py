"""Breakdown points: refused at configuration (construction) and at call, with the same message."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ledgerlearn import aggregation as agg
from ledgerlearn.errors import ConfigError

torch.set_num_threads(1)

# rule, num_byzantine, largest refused n, requirement in the message
CASES = [
    ("krum", 2, 6, "n >= 2*num_byzantine + 3"),
    ("multi_krum", 2, 6, "n >= 2*num_byzantine + 3"),
    ("bulyan", 1, 6, "n >= 4*num_byzantine + 3"),
    ("bulyan", 2, 10, "n >= 4*num_byzantine + 3"),
    ("trimmed_mean", 2, 4, "2*num_byzantine < n"),
    ("median", 2, 4, "n > 2*num_byzantine"),
    ("meamed", 2, 4, "n > 2*num_byzantine"),
    ("mda", 2, 4, "n > 2*num_byzantine"),
    ("monna", 2, 4, "n > 2*num_byzantine"),
    ("geometric_median", 2, 4, "n > 2*num_byzantine"),
    ("centered_clipping", 2, 4, "n > 2*num_byzantine"),
]


@pytest.mark.parametrize(("rule", "f", "bad_n", "requirement"), CASES)
def test_refused_at_configuration_and_at_call_with_the_same_message(
    rule: str, f: int, bad_n: int, requirement: str
) -> None:
    with pytest.raises(agg.BreakdownPointError) as at_config:
        agg.get(rule, num_byzantine=f, num_updates=bad_n)
    with pytest.raises(agg.BreakdownPointError) as at_model:
        agg.AggregatorConfig.model_validate(
            {"rule": rule, "num_byzantine": f, "num_updates": bad_n}
        )
    callable_ = agg.get(rule, num_byzantine=f)  # n unknown yet: accepted
    with pytest.raises(agg.BreakdownPointError) as at_call:
        callable_(np.zeros((bad_n, 3), dtype=np.float32))
    message = str(at_config.value)
    assert message == str(at_model.value) == str(at_call.value)
    assert requirement in message and f"n={bad_n}" in message
    assert f"num_byzantine={f}" in message and rule in message
    assert isinstance(at_config.value, ConfigError)
    # one more update is enough
    agg.get(rule, num_byzantine=f, num_updates=bad_n + 1)
    assert callable_(np.zeros((bad_n + 1, 3))).shape == (3,)


def test_mean_refuses_any_byzantine_update() -> None:
    for make in (
        lambda: agg.get("mean", num_byzantine=1),
        lambda: agg.Mean(1),
        lambda: agg.AggregatorConfig.model_validate({"rule": "mean", "num_byzantine": 1}),
    ):
        with pytest.raises(agg.BreakdownPointError, match="mean needs num_byzantine == 0"):
            make()


def test_multi_krum_selection_bound() -> None:
    with pytest.raises(agg.BreakdownPointError, match="num_selected <= n - num_byzantine"):
        agg.get("multi_krum", num_byzantine=1, num_selected=5, num_updates=5)
    rule = agg.get("multi_krum", num_byzantine=1, num_selected=5)
    with pytest.raises(agg.BreakdownPointError, match="num_selected=5"):
        rule(np.zeros((5, 2)))


def test_mda_subset_search_is_bounded() -> None:
    with pytest.raises(agg.SubsetSearchTooLargeError, match=r"C\(n, num_byzantine\)="):
        agg.get("mda", num_byzantine=15, num_updates=40)
    rule = agg.get("mda", num_byzantine=15)
    with pytest.raises(agg.SubsetSearchTooLargeError):
        rule(np.zeros((40, 2)))
    # the bound is a parameter
    agg.get("mda", num_byzantine=2, num_updates=10, max_subsets=45)
    with pytest.raises(agg.SubsetSearchTooLargeError, match="max_subsets=44"):
        agg.get("mda", num_byzantine=2, num_updates=10, max_subsets=44)


def test_pipeline_checks_what_the_rule_receives() -> None:
    # 11 updates in buckets of 2 give 6: Krum with f = 2 needs 7
    config = {
        "rule": "krum",
        "num_byzantine": 2,
        "num_updates": 11,
        "pre": [{"kind": "bucketing", "bucket_size": 2}],
    }
    with pytest.raises(agg.BreakdownPointError, match="receives n=6 from bucketing given 11"):
        agg.AggregatorConfig.model_validate(config)
    rule = agg.get("krum", num_byzantine=2, pre=[{"kind": "bucketing"}])
    with pytest.raises(agg.BreakdownPointError, match="receives n=6"):
        rule(np.zeros((11, 2)))
    assert rule(np.zeros((14, 2))).shape == (2,)
    # pre-aggregators check their own breakdown point too
    with pytest.raises(agg.BreakdownPointError, match="nnm needs n > 2\\*num_byzantine"):
        agg.get("median", num_byzantine=2, num_updates=4, pre=[{"kind": "nnm"}])


def test_pre_aggregator_inherits_or_overrides_num_byzantine() -> None:
    rule = agg.get(
        "krum", num_byzantine=2, pre=[{"kind": "nnm"}, {"kind": "arc", "num_byzantine": 1}]
    )
    assert isinstance(rule, agg.Pipeline)
    assert [step.num_byzantine for step in rule.pre] == [2, 1]


@pytest.mark.parametrize(
    "params",
    [
        {},  # num_byzantine is required for krum
        {"num_byzantine": -1},
        {"num_byzantine": 1.5},
        {"num_byzantine": True},
        {"num_byzantine": "2"},
        {"num_byzantine": 1, "unknown": 3},
        {"num_byzantine": 1, "pre": [{"kind": "nope"}]},
        {"num_byzantine": 1, "num_updates": 0},
    ],
)
def test_invalid_parameters_are_config_errors(params: dict[str, object]) -> None:
    with pytest.raises(agg.AggregationConfigError):
        agg.get("krum", **params)


def test_constructor_validation_names_the_value() -> None:
    with pytest.raises(agg.AggregationConfigError, match="num_byzantine must be >= 0, got -1"):
        agg.Krum(-1)
    with pytest.raises(agg.AggregationConfigError, match="radius must be finite and > 0"):
        agg.CenteredClipping(1, radius=0.0)
    with pytest.raises(agg.AggregationConfigError, match="quantile must be in"):
        agg.Clipping(1, quantile=1.5)
    with pytest.raises(agg.AggregationConfigError, match="pivot=7 is not a row of n=5"):
        agg.MoNNA(1, pivot=7)(np.zeros((5, 2)))


def test_config_round_trips_through_json() -> None:
    raw = {"rule": "krum", "num_byzantine": 2, "pre": [{"kind": "nnm"}]}
    config = agg.AggregatorConfig.model_validate(raw)
    again = agg.AggregatorConfig.model_validate_json(config.model_dump_json())
    assert again == config and again.rule_name == "krum" and again.num_byzantine == 2
    assert json.loads(config.model_dump_json())["pre"][0]["kind"] == "nnm"
    x = np.random.default_rng(0).standard_normal((9, 4))
    assert np.array_equal(config.build()(x), again.build()(x))
