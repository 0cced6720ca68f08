"""``ledgerlearn publish``: publish a learning task, then keep it and serve its content.

Like ``provider run`` and ``validator run``, the command runs one member's agent in this
process, with the member's own key, state directory and embedded IPFS node
(:mod:`ledgerlearn.agents.session`), against a deployment on a JSON-RPC chain (the devnet or a
permissioned network). It puts a task's content on IPFS (model spec, initial weights, one
encrypted validation fragment per committee member), publishes the task, then runs the keeper
its flow names (``FLOWS[flow].keeper``) and serves the content until the task closes.

Defaults come from the settings (:mod:`ledgerlearn.config`): the keystore
(``LEDGERLEARN_AGENT__KEYSTORE``, password ``LEDGERLEARN_AGENT__PASSWORD`` or a prompt), the
RPC URL, and per-account subfolders of ``agent.state_dir`` and ``storage.repo_dir`` so that
several agents run side by side on one machine. Problems with the inputs, the account or the
chain end the command with a one-line ``error:`` and exit code 1. Set ``LEDGERLEARN_LOG=INFO``
for the agents' logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ledgerlearn.cli import inputs
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
    err,
    one_of,
    setup_logging,
)
from ledgerlearn.cli.inputs import PresetName
from ledgerlearn.cli.options import POLICY_OPTIONS, policy_options
from ledgerlearn.cli.watch import closed_line, publisher_watch
from ledgerlearn.errors import ConfigError
from ledgerlearn.flows.policy import Policy

__all__ = ["publish"]


@policy_options
def publish(
    committee: Annotated[
        str | None,
        typer.Option(
            help="The validators' addresses, comma separated; each must have run "
            "`ledgerlearn validator run` once (it registers its encryption key). On a "
            "consortium, name none and give --draw-size: the committee is drawn from the "
            "validators' pool and vets the task before it opens.",
        ),
    ] = None,
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    ipfs_port: IpfsPortOpt = None,
    spec: Annotated[Path | None, typer.Option(help="Model spec JSON file (or --preset).")] = None,
    preset: Annotated[
        PresetName | None, typer.Option(help="A ready-made model spec (or --spec).")
    ] = None,
    weights: Annotated[
        Path | None,
        typer.Option(help="Initial weights, a .safetensors file matching the spec (or --seed)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the initial weights and of the validation fragments.")
    ] = 0,
    validation: Annotated[
        Path | None,
        typer.Option(
            help="Validation data, .npz (arrays x, y) or .csv (label last); or --dataset."
        ),
    ] = None,
    header: HeaderOpt = None,
    dataset: Annotated[BundledOpt | None, typer.Option(help=DATASET_HELP)] = None,
    *,
    policy: Policy,
    duration: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Dag: close the task this many blocks after publication (default: keep it "
            "open until Ctrl-C).",
        ),
    ] = None,
    expected_providers: Annotated[
        int | None,
        typer.Option(
            help="Providers expected per round: refuse a rule beyond its breakdown point."
        ),
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep/--no-keep",
            help="Keep the rounds and serve the task's content until the task closes. With "
            "--no-keep nobody can fetch the content once this command exits.",
        ),
    ] = True,
    fetch_timeout: FetchTimeoutOpt = None,
    metrics_port: MetricsPortOpt = None,
) -> None:
    """Publish a learning task, then keep its rounds and serve its content until it closes.

    The model spec, the initial weights and the validation fragments (one per committee member,
    encrypted to its key) live on this command's IPFS node: while the task runs, this command
    must keep running (the default) or nobody can fetch them. It also keeps the rounds
    (settles late updates, proposes each round's aggregate).
    """
    setup_logging()
    one_of(spec, preset, "--spec FILE and --preset NAME")
    one_of(validation, dataset, "--validation FILE and --dataset NAME")
    with clear_errors("policy", POLICY_OPTIONS):
        from ledgerlearn.agents.publisher import Publisher
        from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS

        strategy = FLOWS[FLOW_NAMES[policy.flow]]
        if duration is not None and strategy.ends_itself:
            raise ConfigError(
                f"--duration applies to tasks their publisher closes ({strategy.name} tasks "
                "end by themselves)"
            )
        members = inputs.committee(committee, drawn=policy.draw_size)
        policy.check_committee(policy.draw_size or len(members), expected_providers)
        model = inputs.model_spec(spec, preset)
        initial = inputs.initial_weights(weights, model)
        validation_set = inputs.validation_data(
            validation, dataset, model, header, lambda line: console.print(escape(line))
        )
        from ledgerlearn.data import range_report

        report = range_report(model, validation_set)
        if report is not None and not report.fits:
            err.print(
                f"[bold yellow]warning:[/] {escape(report.describe(validation_set.name))}: the "
                "committee would score every update on inputs the model was not made for",
                highlight=False,
            )
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
        try:
            with agent.session("PUBLISHER") as session:
                publisher = Publisher(session.participant)
                params = publisher.prepare(
                    model,
                    validation_set,
                    members,
                    policy,
                    initial_weights=initial,
                    seed=seed,
                    expected_providers=expected_providers,
                )
                session.register_peer()  # where the members fetch the task's content
                task_id = publisher.publish(params).task_id
                console.print(f"task {task_id} published by {session.address}")
                console.print(f"  model spec       {params.model_spec_cid}")
                console.print(f"  initial weights  {params.initial_weights_cid}")
                for member, cid in zip(members, params.fragment_cids, strict=True):
                    console.print(f"  fragment for {member}  {cid}")
                if policy.draw_size:
                    console.print(
                        f"  committee        {policy.draw_size} members drawn from the "
                        "validators' pool; they vet the task before it opens (the fragments "
                        "are encrypted to them once drawn)"
                    )
                console.print(
                    f"  {strategy.task_shape(policy, close_after=duration)}, quorum "
                    f"{policy.quorum}, f {policy.max_faulty_validators}, rule "
                    f"{policy.aggregation_rule}, {policy.metric} threshold {policy.threshold} "
                    f"({policy.threshold_mode})"
                )
                if not keep:
                    err.print(
                        "[bold yellow]warning:[/] --no-keep: the task's content lives only in "
                        f"this node's repository ({agent.storage.repo_dir}); while no node "
                        "serves it nobody can fetch it, and nobody keeps the rounds"
                    )
                    return
                console.print(
                    "keeping the task and serving its content until it closes "
                    "(stopping earlier makes the content unreachable)"
                )
                participant = session.participant
                participant.sync()
                published = participant.task(task_id).published_block
                close_at = None if duration is None else published + duration
                keeper = strategy.keeper(participant, task_id, close_at=close_at)

                def step() -> bool:  # a drawn committee gets its fragments, then the keeper
                    task = participant.task(task_id)
                    return publisher.tend(task, validation_set, seed=seed) or keeper.step()

                session.run(
                    step,
                    until=lambda: participant.task(task_id).closed,
                    on_sync=publisher_watch(strategy, participant, task_id),
                    poll_s=POLL_S,
                )
                console.print(closed_line(participant, task_id))
        except KeyboardInterrupt:
            err.print("[bold yellow]interrupted:[/] the task's content is no longer served")
            raise typer.Exit(code=130) from None
