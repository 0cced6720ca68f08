"""``ledgerlearn validator run``: a committee member's agent. It registers the member's IPFS
address and encryption key, then scores updates and attests aggregates of every task whose
committee it sits on, until stopped.

The agent runs in this process with the member's key, state directory and IPFS node, as
``publish`` does (see :mod:`ledgerlearn.cli.publish` for the defaults and the errors).
"""

from __future__ import annotations

from typing import Annotated

import typer

from ledgerlearn.cli.agent import AgentSetup
from ledgerlearn.cli.common import (
    POLL_S,
    DeploymentOpt,
    FetchTimeoutOpt,
    IpfsPortOpt,
    IpfsRepoOpt,
    KeystoreOpt,
    MetricsPortOpt,
    RpcOpt,
    StateDirOpt,
    clear_errors,
    console,
    count,
    fail,
    ledger_client,
    setup_logging,
    signer,
)
from ledgerlearn.cli.inputs import ApproveOpt, ReasonOpt, vote
from ledgerlearn.cli.watch import ValidatorWatch

__all__ = ["validator_app", "validator_run"]

validator_app = typer.Typer(
    help="Committee member: score updates, attest aggregates.", no_args_is_help=True
)


@validator_app.command("run")
def validator_run(
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    state_dir: StateDirOpt = None,
    ipfs_repo: IpfsRepoOpt = None,
    ipfs_port: IpfsPortOpt = None,
    fetch_timeout: FetchTimeoutOpt = None,
    metrics_port: MetricsPortOpt = None,
    until_closed: Annotated[
        int | None,
        typer.Option(min=1, help="Exit once this task is closed (default: run until Ctrl-C)."),
    ] = None,
    pool: Annotated[
        bool,
        typer.Option(
            "--pool/--no-pool",
            help="On a consortium deployment: join the validators' pool committees are drawn "
            "from (--no-pool: stay out; committees already drawn keep you).",
        ),
    ] = True,
) -> None:
    """Register your IPFS address and encryption key, then score updates and attest aggregates
    of every task whose committee you sit on, until Ctrl-C (or --until-closed). On a consortium
    deployment also take part in committee draws and vet the tasks you are drawn for, by the
    vetting policy (LEDGERLEARN_VETTING__...)."""
    setup_logging()
    with clear_errors():
        from ledgerlearn.agents.validator import Validator

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
            with agent.session("VALIDATOR") as session:
                participant = session.participant
                from ledgerlearn.config import Settings

                validator = Validator(
                    participant, agent.account.key, vetting=Settings().vetting, pool=pool
                )
                agent.observe(validator=validator)
                sent = validator.register(session.peer_address)
                console.print(
                    f"validator {session.address}: IPFS node {session.peer_address} and "
                    "encryption key registered" + ("" if sent else " (as at the last start)")
                )
                watch = ValidatorWatch(participant, validator.scored)
                closed_before = set(watch.closed)  # the watch prints only what closes now
                console.print(f"on the committee of {count(watch.open_tasks(), 'open task')}")

                def step() -> bool:
                    try:
                        return validator.step()
                    finally:
                        watch.scores()

                def until() -> bool:
                    if until_closed is None:
                        return False
                    task = participant.index.tasks.get(until_closed)
                    return task is not None and task.closed

                session.run(step, until=until, on_sync=watch, poll_s=POLL_S)
                if until_closed not in watch.closed - closed_before:  # not said yet
                    console.print(f"task {until_closed} closed")
        except KeyboardInterrupt:
            console.print("validator stopped")


@validator_app.command("vet")
def validator_vet(
    task: Annotated[int, typer.Argument(min=1, help="The task you were drawn to vet.")],
    approve: ApproveOpt = None,
    reason: ReasonOpt = "",
    keystore: KeystoreOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Decide on a task you were drawn to vet, as a person (when your vetting policy leaves it
    to you, or to overrule it before it votes)."""
    from ledgerlearn.chain import contract_errors as ce
    from ledgerlearn.chain.vetting import Vetting
    from ledgerlearn.core.rules import Stage

    with clear_errors():
        decision, why = vote(approve, reason)
        client = ledger_client(deployment, rpc, signer(keystore))
        info = client.task(task)
        if info.stage is not Stage.VETTING or info.closed:
            fail(f"task {task} is {info.stage.name.lower()}: only a task under vetting takes votes")
        try:
            Vetting(client).vote(task, decision, why)
        except ce.VettingNotCommitteeMember:
            fail(f"{client.address} was not drawn onto task {task}'s committee")
        except ce.VettingAlreadyVoted:
            fail(f"{client.address} already voted on task {task}")
        except ce.VettingOutsideWindow:
            fail(f"task {task}'s vetting window closed: it can only expire now")
        after = client.task(task)
    verdict = "approve" if decision else "reject"
    console.print(f"voted to {verdict} task {task}: {why}")
    if after.stage is Stage.OPEN:
        console.print(f"task {task} is open: providers may join")
    elif after.stage is Stage.REJECTED:
        console.print(f"task {task} is rejected: it never opens")
