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
    setup_logging,
)
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
) -> None:
    """Register your IPFS address and encryption key, then score updates and attest aggregates
    of every task whose committee you sit on, until Ctrl-C (or --until-closed)."""
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
                validator = Validator(participant, agent.account.key)
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
