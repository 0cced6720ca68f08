"""The lab's part of each flow, looked up once: ``LAB_FLOWS[task.flow]`` reads a finished
task back, prints it to a console and writes its report folder.

The lab sits above the flows: a new flow adds its module under ``ledgerlearn.flows`` and its
entry here (how its history is read back, and its report).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from ledgerlearn.agents.participant import Participant
from ledgerlearn.core.rules import Flow
from ledgerlearn.data import Dataset
from ledgerlearn.lab.dag_results import collect_dag
from ledgerlearn.lab.report import dag, federation
from ledgerlearn.lab.results import RunResult, collect

__all__ = ["LAB_FLOWS", "Collect", "LabFlow", "WriteReport"]


class Collect(Protocol):
    """Read a finished task back from the chain and IPFS, evaluating its models on ``test``.

    ``names`` and ``behaviours`` give each account's display name and behaviour. What only a
    dag task uses: ``top_k`` and ``margin`` (the consensus model's tips), ``block_time_s``
    (seconds per block, for its time axis) and ``dropped`` (models its providers trained but
    did not publish, when the caller knows).
    """

    def __call__(
        self,
        participant: Participant,
        task_id: int,
        test: Dataset,
        names: dict[str, str],
        behaviours: dict[str, str],
        *,
        top_k: int,
        margin: float | None,
        block_time_s: float,
        dropped: int | None,
    ) -> RunResult: ...


class WriteReport(Protocol):
    """Write a run's report folder (``baseline``: the same task without its Byzantine
    providers); returns the path of ``report.md``."""

    def __call__(
        self,
        result: RunResult,
        out_dir: Path,
        *,
        title: str,
        config: dict[str, Any] | None = None,
        baseline: RunResult | None = None,
    ) -> Path: ...


@dataclass(frozen=True)
class LabFlow:
    """What the lab does with a finished task of one flow."""

    collect: Collect
    show: Callable[[Console, RunResult, RunResult | None], None]
    """Print the run's tables and summary lines (and the comparison with a baseline)."""
    write: WriteReport


def _collect_rounds(
    participant: Participant,
    task_id: int,
    test: Dataset,
    names: dict[str, str],
    behaviours: dict[str, str],
    *,
    top_k: int,
    margin: float | None,
    block_time_s: float,
    dropped: int | None,
) -> RunResult:
    """:func:`~ledgerlearn.lab.results.collect`: a federation task has no consensus model
    and its providers publish every model they train."""
    return collect(participant, task_id, test, names, behaviours)


LAB_FLOWS: dict[Flow, LabFlow] = {
    Flow.FEDERATION: LabFlow(
        collect=_collect_rounds, show=federation.show, write=federation.write_report
    ),
    Flow.DAG: LabFlow(collect=collect_dag, show=dag.show, write=dag.write_dag_report),
}
"""Every flow's lab entry, by the flow's on-chain id."""
