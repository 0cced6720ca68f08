"""``ledgerlearn data check``: a data file against a task's model, before anything runs.

What a provider (or a publisher, for its validation file) wants to know before training: how
the file is read (a CSV's header line, detected or given), whether its samples fit the model's
input shape and its labels the model's classes, and whether its values lie in the range the
model's spec declares, after the transform the model applies itself
(:func:`~ledgerlearn.data.range_report`). The same checks and words as ``provider run``, with no
key and no agent. The spec comes from a file the publisher handed out (``--spec``), a preset,
or a published task (``--task``: read from the chain, fetched from the members' IPFS nodes and
checked against its hash).

A file that cannot be read or does not fit the model's shape or classes is an ``error:`` line
and exit code 1; values outside the declared range are a ``warning:`` (exit code 0), as for
``provider run``, which trains on them anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from ledgerlearn.cli.common import (
    DeploymentOpt,
    HeaderOpt,
    RpcOpt,
    clear_errors,
    console,
    err,
    ledger_client,
    setup_logging,
)
from ledgerlearn.cli.inputs import PresetName

if TYPE_CHECKING:
    from ledgerlearn.data import Dataset
    from ledgerlearn.model import ModelSpec

__all__ = ["data_app"]

data_app = typer.Typer(
    help="Data files: check one against a task's model before you train on it.",
    no_args_is_help=True,
)


@data_app.command("check")
def data_check(
    file: Annotated[
        Path, typer.Argument(help="The data file: .npz (arrays x, y) or .csv (label last).")
    ],
    spec: Annotated[
        Path | None, typer.Option(help="The task's model spec, a JSON file (the publisher's).")
    ] = None,
    preset: Annotated[PresetName | None, typer.Option(help="A ready-made model spec.")] = None,
    task: Annotated[
        int | None,
        typer.Option(min=1, help="A published task: its spec, read from the chain and IPFS."),
    ] = None,
    header: HeaderOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Check a data file against a task's model: format, shape, labels, value range."""
    setup_logging()
    with clear_errors():
        from ledgerlearn.cli.inputs import csv_only, model_spec
        from ledgerlearn.data import load_file, range_report

        if sum(x is not None for x in (spec, preset, task)) != 1:
            raise typer.BadParameter("give exactly one of --spec FILE, --preset NAME, --task N")
        csv_only(header, file, "data")
        if task is None:
            model = model_spec(spec, preset)
        else:
            model = _published_spec(task, deployment, rpc)
        data = load_file(
            file,
            num_classes=model.num_classes,
            input_shape=model.input_shape,
            header=header,
            notice=lambda line: console.print(escape(line), highlight=False),
        )
        data.check_matches(model)
        console.print(escape(_summary(file.name, data, model)), highlight=False)
        report = range_report(model, data)
    if report is None:
        console.print("the model declares no input range: the values were not checked")
    elif report.fits:
        console.print(escape(report.describe(file.name)), highlight=False)
    else:
        err.print(
            f"[bold yellow]warning:[/] {escape(report.describe(file.name))}; preprocess your "
            "data as the task says",
            highlight=False,
        )


def _published_spec(task: int, deployment: Path | None, rpc: str | None) -> ModelSpec:
    """The spec of a published task, fetched and checked against its hash."""
    from ledgerlearn.cli.reader import reader
    from ledgerlearn.errors import ConfigError

    client = ledger_client(deployment, rpc)
    with reader(client, None) as participant:
        if task not in participant.index.tasks:
            raise ConfigError(f"task {task} is not published on this chain")
        return participant.spec(task)


def _summary(name: str, data: Dataset, model: ModelSpec) -> str:
    """``alice.npz: 480 samples of 64 values; labels of all 10 classes (39 to 55 each)``."""
    import math

    import numpy as np

    counts = np.bincount(data.y, minlength=model.num_classes)
    present = [c for c in range(model.num_classes) if counts[c] > 0]
    values = math.prod(data.sample_shape)
    shape = f"{values} values" if len(data.sample_shape) == 1 else f"shape {data.sample_shape}"
    held = counts[present]
    spread = f"{held.min()} to {held.max()} each"
    if len(present) == model.num_classes:
        labels = f"labels of all {model.num_classes} classes ({spread})"
    else:
        missing = ", ".join(str(c) for c in range(model.num_classes) if counts[c] == 0)
        labels = (
            f"labels of {len(present)} of the model's {model.num_classes} classes ({spread}; "
            f"none of {missing})"
        )
    return f"{name}: {len(data)} samples of {shape}; {labels}"
