"""``ledgerlearn dag ...``: read a dag task's tips and recompute its consensus model.

Both commands only read: the chain's events (no key needed) and, for the consensus model, the
tips' content from IPFS, through an embedded node of their own that dials the members'
registered nodes. Anyone gets the same answer for the same block:

- ``ledgerlearn dag tips --task N`` lists the tips (accepted updates nobody built on yet) with
  their provider, quality and acceptance block;
- ``ledgerlearn dag consensus --task N`` computes the robust aggregate of the top K tips,
  prints its content hash and, with ``--out``, writes it as a safetensors file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ledgerlearn.cli.common import (
    DeploymentOpt,
    RpcOpt,
    clear_errors,
    console,
    ledger_client,
    setup_logging,
)
from ledgerlearn.cli.reader import reader
from ledgerlearn.errors import ConfigError

if TYPE_CHECKING:
    from ledgerlearn.chain.index import LedgerIndex, TaskRecord

__all__ = ["dag_app"]

dag_app = typer.Typer(
    help="Dag tasks: tips and the consensus model, from the chain and IPFS.",
    no_args_is_help=True,
)

TaskOpt = Annotated[int, typer.Option(min=1, help="The dag task.")]
AtBlockOpt = Annotated[
    int | None,
    typer.Option(
        "--at-block", min=0, help="Read the DAG as it stood at this block (default: now)."
    ),
]


def _dag_task(index: LedgerIndex, task_id: int) -> TaskRecord:
    """The task, if its flow builds a DAG of updates (a flow with tips and consensus models)."""
    from ledgerlearn.errors import AgentError
    from ledgerlearn.flows.registry import FLOWS

    task = index.tasks.get(task_id)
    if task is None:
        raise AgentError(f"task {task_id} is not published on this chain")
    strategy = FLOWS[task.flow]
    if not strategy.has_graph:
        raise AgentError(f"task {task_id} is a {strategy.name} task, not a dag task")
    return task


@dag_app.command("tips")
def tips(
    task: TaskOpt,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    at_block: AtBlockOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The tips of a dag task (accepted updates nobody built on yet), best first."""
    setup_logging()
    with clear_errors():
        from ledgerlearn.chain.index import read_index
        from ledgerlearn.flows.dag.consensus import graph_of

        record = _dag_task(read_index(ledger_client(deployment, rpc)), task)
        graph = graph_of(record, at_block)
        rows = []
        for tip in graph.ranked_tips():
            update = record.updates.get(tip)
            rows.append(
                {
                    "tip": "0x" + tip.hex(),
                    "provider": update.provider if update else None,
                    "cid": record.cid_of(tip),
                    "quality": graph.quality[tip],
                    "depth": graph.depth[tip],
                    "accepted_block": update.decided_block if update else None,
                }
            )
        if as_json:
            console.print_json(json.dumps({"task": task, "block": at_block, "tips": rows}))
            return
        table = Table(
            "tip",
            "provider",
            "quality",
            "depth",
            "accepted at block",
            "cid",
            title=f"task {task}: {len(rows)} tip(s), best first",
        )
        for row in rows:
            table.add_row(
                str(row["tip"]),
                str(row["provider"] or "(initial model)"),
                f"{row['quality']:.4f}",
                str(row["depth"]),
                str(row["accepted_block"] or ""),
                str(row["cid"]),
            )
        console.print(table)


@dag_app.command("consensus")
def consensus(
    task: TaskOpt,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Tips to aggregate (K).")] = 5,
    at_block: AtBlockOpt = None,
    horizon: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Leave out tips accepted more than this many blocks before the DAG's last "
            "acceptance (default: three score windows).",
        ),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(min=0, help="Leave out tips this much below the best one (metric units)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the model here (safetensors).")
    ] = None,
    ipfs_repo: Annotated[
        Path | None, typer.Option(help="IPFS repository to use (default: a temporary one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute a dag task's consensus model: the robust aggregate of its top K tips."""
    setup_logging()
    with clear_errors(), reader(ledger_client(deployment, rpc), ipfs_repo) as participant:
        from ledgerlearn.flows.dag.consensus import task_consensus

        _dag_task(participant.index, task)
        model = task_consensus(participant, task, top, at_block, horizon=horizon, margin=margin)
        if out is not None:
            try:
                out.write_bytes(model.content)
            except OSError as exc:
                raise ConfigError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
        record = participant.task(task)
        block = at_block if at_block is not None else participant.head
        content_hash = "0x" + model.content_hash.hex()
        tips = ["0x" + t.hex() for t in model.tips]
        providers = [
            record.updates[t].provider if t in record.updates else None for t in model.tips
        ]
        summary = {
            "task": task,
            "block": block,
            "top": top,
            "content_hash": content_hash,
            "tips": tips,
            "providers": providers,
            "out": str(out) if out is not None else None,
        }
        if as_json:
            console.print_json(json.dumps(summary))
            return
        console.print(
            f"task {task}: consensus model of {len(model.tips)} tip(s) as of block {block}"
        )
        for tip, provider in zip(tips, providers, strict=True):
            console.print(f"  {tip}  {provider or '(initial model)'}")
        console.print(f"content hash {content_hash}")
        if out is not None:
            console.print(f"written to {out}")
