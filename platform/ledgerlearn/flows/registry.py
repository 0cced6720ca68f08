"""The flows there are: ``FLOWS[task.flow]`` is the strategy for a task (see flows/base.py).

Kept apart from ``flows/__init__.py`` so that importing one flow module does not import the
others (import-linter's ``flows-independent`` contract).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ledgerlearn.core.rules import Flow
from ledgerlearn.flows.base import FlowStrategy
from ledgerlearn.flows.dag.strategy import DagFlow
from ledgerlearn.flows.federation.strategy import FederationFlow

FLOWS: Mapping[Flow, FlowStrategy] = MappingProxyType(
    {Flow.FEDERATION: FederationFlow(), Flow.DAG: DagFlow()}
)
"""Every flow's strategy, by the flow the contract stores."""

FLOW_NAMES: Mapping[str, Flow] = MappingProxyType({s.name: f for f, s in FLOWS.items()})
"""Flows by their names in policies, the CLI and the REST API."""
