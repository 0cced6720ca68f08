"""Every flow the contract knows has exactly one strategy, under the name policies use."""

from __future__ import annotations

import typing

from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.policy import Policy
from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS


def test_every_flow_has_its_strategy() -> None:
    assert set(FLOWS) == set(Flow)
    for flow, strategy in FLOWS.items():
        assert strategy.flow is flow
        assert FLOW_NAMES[strategy.name] is flow
    # exactly one way to learn per task: rounds or a graph
    assert all(s.has_rounds != s.has_graph for s in FLOWS.values())


def test_the_policy_offers_exactly_the_registered_flows() -> None:
    annotation = Policy.model_fields["flow"].annotation
    assert set(typing.get_args(annotation)) == set(FLOW_NAMES)
