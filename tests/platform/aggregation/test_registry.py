"""The registry: names, on-chain ids, the entry point."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ledgerlearn import aggregation as agg

torch.set_num_threads(1)

NAMES = [
    "mean",
    "median",
    "trimmed_mean",
    "geometric_median",
    "krum",
    "multi_krum",
    "bulyan",
    "centered_clipping",
    "mda",
    "meamed",
    "monna",
]


def test_names_and_stable_rule_ids() -> None:
    assert list(agg.RULES) == NAMES
    assert agg.RULE_IDS == {name: number for number, name in enumerate(NAMES)}
    assert agg.RULE_NAMES == dict(enumerate(NAMES))
    assert all(0 <= number <= 255 for number in agg.RULE_IDS.values())  # uint8 on chain
    assert agg.rule_id("bulyan") == 6 and agg.rule_name(10) == "monna"
    assert set(agg.PRE_AGGREGATORS) == {"nnm", "bucketing", "clipping", "arc"}


def test_config_union_covers_every_rule() -> None:
    for name in NAMES:
        params = {} if name in ("mean", "median", "geometric_median") else {"num_byzantine": 0}
        config = agg.AggregatorConfig.model_validate({"rule": name, **params})
        built = config.build()
        assert isinstance(built, agg.RULES[name]) and built.name == name


def test_unknown_names() -> None:
    with pytest.raises(agg.UnknownRuleError, match="unknown aggregation rule 'average'"):
        agg.get("average")
    with pytest.raises(agg.UnknownRuleError):
        agg.rule_id("average")
    with pytest.raises(agg.UnknownRuleError):
        agg.rule_name(11)


def test_get_returns_a_callable_for_numpy_and_torch() -> None:
    x = np.array([[0.0, 1.0], [0.1, 1.0], [0.2, 1.0], [0.3, 1.0], [9.0, 9.0]], dtype=np.float32)
    rule = agg.get("krum", num_byzantine=1)
    assert rule(x).tolist() == [0.10000000149011612, 1.0]
    out = rule(torch.from_numpy(x))
    assert isinstance(out, torch.Tensor) and out.tolist() == [0.10000000149011612, 1.0]
