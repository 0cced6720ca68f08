"""``ledgerlearn provider run``: train on the member's data and submit updates until the task
closes: each round of a task in rounds, or at the provider's own pace on tips it selects in a
dag task (the task's flow decides; the ``Dag:`` options apply to dag tasks only).

The agent runs in this process with the member's key, state directory and IPFS node, as
``publish`` does (see :mod:`ledgerlearn.cli.publish` for the defaults and the errors).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from ledgerlearn.cli.agent import AgentSetup
from ledgerlearn.cli.common import (
    DATASET_HELP,
    POLL_S,
    BundledOpt,
    DeploymentOpt,
    FetchTimeoutOpt,
    HeaderOpt,
    IpfsPortOpt,
    IpfsRepoOpt,
    KeystoreOpt,
    MetricsPortOpt,
    RpcOpt,
    StateDirOpt,
    clear_errors,
    console,
    count,
    err,
    setup_logging,
)
from ledgerlearn.cli.inputs import provider_source
from ledgerlearn.cli.watch import TrainingDisplay, closed_line, provider_watch

__all__ = ["provider_app", "provider_run"]

provider_app = typer.Typer(
    help="Data provider: train on your data, submit updates.", no_args_is_help=True
)

PartitionName = Literal["iid", "dirichlet", "shard"]


@provider_app.command("run")
def provider_run(
    task: Annotated[int, typer.Option(min=1, help="The task to work on.")],
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    ipfs_port: IpfsPortOpt = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Your data, .npz (arrays x, y) or .csv (label last); or --dataset."),
    ] = None,
    header: HeaderOpt = None,
    dataset: Annotated[
        BundledOpt | None, typer.Option(help=DATASET_HELP + " Take one with --part.")
    ] = None,
    part: Annotated[
        str | None, typer.Option(help="With --dataset: take part I of N, e.g. 2/5.")
    ] = None,
    partition: Annotated[
        PartitionName, typer.Option(help="With --dataset: how the N parts are drawn.")
    ] = "iid",
    alpha: Annotated[
        float, typer.Option(help="Dirichlet concentration (smaller: more skewed labels).")
    ] = 0.5,
    partition_seed: Annotated[
        int, typer.Option(help="Seed of the partition (the same for all N parts).")
    ] = 0,
    epochs: Annotated[int, typer.Option(help="Local epochs per round.")] = 1,
    batch_size: Annotated[int, typer.Option(help="Minibatch size.")] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate (SGD).")] = 0.05,
    seed: Annotated[
        int | None, typer.Option(help="Training seed (default: derived from your address).")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(
            help="Wait for the task to be published instead of failing when it is unknown "
            "(round 1 opens at publication: a provider started early is ready for it)."
        ),
    ] = False,
    serve: Annotated[
        bool,
        typer.Option(help="After the task closes, keep serving your updates until Ctrl-C."),
    ] = False,
    fetch_timeout: FetchTimeoutOpt = None,
    metrics_port: MetricsPortOpt = None,
    parents: Annotated[
        int, typer.Option(min=1, max=8, help="Dag: parents per update (the task caps it).")
    ] = 2,
    walk_alpha: Annotated[
        float,
        typer.Option(
            min=0,
            help="Dag: bias of the tip-selection walk toward well-scored updates (0: uniform).",
        ),
    ] = 20.0,
    publish_if_better: Annotated[
        bool,
        typer.Option(
            help="Dag: publish only models that beat their parents' merge on a held-out "
            "split of your data."
        ),
    ] = True,
    held_out: Annotated[
        float, typer.Option(help="Dag: share of your data held out for publish-if-better.")
    ] = 0.2,
    rotate_held_out: Annotated[
        bool,
        typer.Option(
            help="Dag: a fresh held-out split per attempt, so every sample gets trained on "
            "(--no-rotate-held-out: one fixed split, never trained on)."
        ),
    ] = True,
    staleness_beta: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Dag: dampen stale parents by exp(-beta * levels behind the freshest) "
            "(Kardam-style; default off).",
        ),
    ] = None,
) -> None:
    """Train on your data and submit updates until the task closes: each round of a
    federation task, or at your own pace on tips you select in a dag task."""
    setup_logging()
    dag_options = {
        "alpha": "--walk-alpha",
        "parents": "--parents",
        "held_out_fraction": "--held-out",
        "staleness_beta": "--staleness-beta",
    }
    with clear_errors("dag options", dag_options):
        from ledgerlearn.flows.dag.updates import DagSettings

        dag = DagSettings(
            parents=parents,
            alpha=walk_alpha,
            publish_if_better=publish_if_better,
            held_out_fraction=held_out,
            rotate_held_out=rotate_held_out,
            staleness_beta=staleness_beta,
        )
    with clear_errors("partition", {"alpha": "--alpha"}):
        source = provider_source(
            data, dataset, part, partition, alpha, header, lambda line: console.print(escape(line))
        )

        from ledgerlearn.agents.provider import Provider
        from ledgerlearn.errors import AgentError
        from ledgerlearn.flows.registry import FLOWS
        from ledgerlearn.training import TrainingConfig

        training = TrainingConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed or 0)
        agent = AgentSetup(
            keystore,
            deployment,
            rpc,
            state_dir,
            ipfs_repo,
            fetch_timeout,
            ipfs_port,
            metrics_port,
        )
        if seed is None:  # distinct providers start from distinct minibatch orders
            training = training.model_copy(update={"seed": int(agent.account.address[2:10], 16)})
        try:
            with agent.session("PROVIDER") as session:
                participant = session.participant
                if wait and task not in participant.index.tasks:
                    console.print(f"waiting for task {task} to be published")
                    session.run(
                        lambda: False, until=lambda: task in participant.index.tasks, poll_s=POLL_S
                    )
                record = participant.task(task)
                if record.closed:
                    raise AgentError(f"task {task} is closed")
                strategy = FLOWS[record.flow]
                session.peering.refresh()
                spec = participant.spec(task)
                local = source(spec, partition_seed)
                display = TrainingDisplay(participant, task, strategy.work_unit)
                provider = Provider(
                    participant, task, local, training, on_progress=display, dag=dag
                )
                report = provider.check()
                if report is not None and not report.fits:
                    err.print(
                        f"[bold yellow]warning:[/] {escape(report.describe(local.name))}; "
                        "preprocess your data as the task says (training goes on with the "
                        "values as they are)",
                        highlight=False,
                    )
                agent.observe(provider=provider)
                session.register_peer()
                console.print(
                    f"provider {session.address} on task {task}: {len(local)} samples "
                    f"({local.name}), {count(training.epochs, 'epoch')} per {strategy.work_unit}"
                )
                with display:
                    session.run(
                        provider.step,
                        until=lambda: participant.task(task).closed,
                        on_sync=provider_watch(strategy, participant, task),
                        poll_s=POLL_S,
                    )
                console.print(closed_line(participant, task))
                if serve:
                    console.print("serving your updates until Ctrl-C")
                    try:
                        session.serve_forever()
                    except KeyboardInterrupt:
                        pass
                    return
        except KeyboardInterrupt:
            err.print(f"[bold yellow]interrupted[/] before task {task} closed")
            raise typer.Exit(code=130) from None
