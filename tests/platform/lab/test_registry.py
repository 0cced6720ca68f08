"""The lab registry: every flow has an entry, and each entry prints and writes its own flow's
report (and refuses another flow's run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from ledgerlearn.core.rules import Flow
from ledgerlearn.lab.registry import LAB_FLOWS
from ledgerlearn.lab.results import RunResult
from tests.platform.lab.report.test_dag import dag_result
from tests.platform.lab.report.test_federation import federation_result


def _runs() -> dict[Flow, RunResult]:
    return {Flow.FEDERATION: federation_result(), Flow.DAG: dag_result()}


def test_every_flow_has_a_lab_entry() -> None:
    assert set(LAB_FLOWS) == set(Flow)
    assert {flow: run.history.flow for flow, run in _runs().items()} == {f: f for f in Flow}


@pytest.mark.parametrize("flow", list(Flow), ids=lambda f: f.name.lower())
def test_an_entry_shows_and_writes_its_flows_report(flow: Flow, tmp_path: Path) -> None:
    result = _runs()[flow]
    console = Console(record=True, width=200)
    LAB_FLOWS[flow].show(console, result, None)
    printed = console.export_text()
    assert f"Task {result.task_id}" in printed and "honest updates accepted" in printed
    report = LAB_FLOWS[flow].write(result, tmp_path, title="registry", config={"k": 1})
    assert report == tmp_path / "report.md"
    assert report.read_text().startswith("# registry\n")
    assert (tmp_path / "result.json").exists()


@pytest.mark.parametrize("flow", list(Flow), ids=lambda f: f.name.lower())
def test_an_entry_refuses_another_flows_run(flow: Flow, tmp_path: Path) -> None:
    other = next(run for f, run in _runs().items() if f is not flow)
    with pytest.raises(ValueError, match=f"not a {flow.name.lower()} run"):
        LAB_FLOWS[flow].write(other, tmp_path, title="x")
    with pytest.raises(ValueError, match=f"not a {flow.name.lower()} run"):
        LAB_FLOWS[flow].show(Console(record=True), other, None)
