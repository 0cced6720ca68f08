"""``ledgerlearn council``: the member organisations decide membership, roles and limits.

A proposal passes when a strict majority of the member organisations vote For; it is then
queued in the council's timelock and executed after its delay (``council execute`` does both
steps, each when due). Proposal ids are 1, 2, 3, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from ledgerlearn.cli.common import (
    DeploymentOpt,
    KeystoreOpt,
    RpcOpt,
    clear_errors,
    fail,
    ledger_client,
    signer,
)
from ledgerlearn.cli.common import report_console as console

if TYPE_CHECKING:  # the commands import the chain client when they run (help stays light)
    from ledgerlearn.chain.council import Action, Council

council_app = typer.Typer(
    help="The council: propose, vote on and execute changes of membership, roles and limits.",
    no_args_is_help=True,
)
propose_app = typer.Typer(help="Propose a change (you must be a member).", no_args_is_help=True)
council_app.add_typer(propose_app, name="propose")

DescriptionOpt = Annotated[
    str | None, typer.Option("--description", "-m", help="Why (default: the actions in words).")
]


def _council(
    keystore: Path | None, deployment_file: Path | None, rpc: str | None, *, signs: bool
) -> Council:
    from ledgerlearn.chain.council import Council

    return Council(ledger_client(deployment_file, rpc, signer(keystore) if signs else None))


def _address(text: str) -> str:
    from ledgerlearn.addresses import AddressError, parse_address

    try:
        return parse_address(text)
    except AddressError as exc:
        fail(str(exc))


def _roles(text: str) -> list[str]:
    roles = [r.strip().upper() for r in text.split(",") if r.strip()]
    for role in roles:
        if role not in ("PUBLISHER", "PROVIDER", "VALIDATOR"):
            fail(f"unknown role {role!r}: PUBLISHER, PROVIDER or VALIDATOR")
    return roles


def _propose(council: Council, actions: Sequence[Action], description: str | None) -> None:
    from ledgerlearn.chain import contract_errors as ce

    text = description or "; ".join(a.summary for a in actions)
    try:
        pid = council.propose(actions, text)
    except ce.GovernorInsufficientProposerVotes:
        fail(f"{council.client.address} is not a member of the council: only members propose")
    settings = council.settings()
    console.print(f"proposal {pid}: {text}")
    for action in actions:
        console.print(f"  - {action.summary}")
    console.print(
        f"voting opens in {settings['voting_delay_blocks']} block(s) and lasts "
        f"{settings['voting_period_blocks']}; it passes with a majority of the "
        f"{settings['members']} members; then: ledgerlearn council execute {pid}"
    )


@propose_app.command("admit")
def propose_admit(
    organisation: Annotated[str, typer.Argument(help="The organisation's account (0x...).")],
    roles: Annotated[str, typer.Option(help="Roles it gets, comma-separated.")] = "",
    description: DescriptionOpt = None,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Admit an organisation to the council (one vote) with roles."""
    org, granted = _address(organisation), _roles(roles)
    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        _propose(council, council.admit(org, granted), description)


@propose_app.command("remove")
def propose_remove(
    organisation: Annotated[str, typer.Argument(help="The organisation's account (0x...).")],
    description: DescriptionOpt = None,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Remove an organisation: its vote and every role it holds."""
    org = _address(organisation)
    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        _propose(council, council.remove(org), description)


@propose_app.command("grant")
def propose_grant(
    role: Annotated[str, typer.Argument(help="PUBLISHER, PROVIDER or VALIDATOR.")],
    account: Annotated[str, typer.Argument(help="The account (0x...).")],
    description: DescriptionOpt = None,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Grant a role."""
    _propose_role("grant", role, account, description, keystore, deployment_file, rpc)


@propose_app.command("revoke")
def propose_revoke(
    role: Annotated[str, typer.Argument(help="PUBLISHER, PROVIDER or VALIDATOR.")],
    account: Annotated[str, typer.Argument(help="The account (0x...).")],
    description: DescriptionOpt = None,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Revoke a role."""
    _propose_role("revoke", role, account, description, keystore, deployment_file, rpc)


def _propose_role(
    change: Literal["grant", "revoke"],
    role: str,
    account: str,
    description: str | None,
    keystore: Path | None,
    deployment_file: Path | None,
    rpc: str | None,
) -> None:
    (name,), who = _roles(role), _address(account)
    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        actions = council.grant(name, who) if change == "grant" else council.revoke(name, who)
        _propose(council, actions, description)


@propose_app.command("limits")
def propose_limits(
    seed_commit_blocks: Annotated[int, typer.Option(min=1, help="Blocks to commit draw seeds.")],
    seed_reveal_blocks: Annotated[int, typer.Option(min=1, help="Blocks to reveal them.")],
    vet_blocks: Annotated[int, typer.Option(min=1, help="Blocks the committee has to vet.")],
    description: DescriptionOpt = None,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Change the consortium-wide windows of committee draws and vetting."""
    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        actions = council.set_vetting_limits(seed_commit_blocks, seed_reveal_blocks, vet_blocks)
        _propose(council, actions, description)


@council_app.command("vote")
def vote(
    proposal: Annotated[int, typer.Argument(min=1, help="The proposal's id.")],
    support: Annotated[Literal["for", "against", "abstain"], typer.Argument(help="Your vote.")],
    reason: Annotated[str, typer.Option(help="Why (on chain).")] = "",
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Vote on a proposal (once)."""
    from ledgerlearn.chain import contract_errors as ce

    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        state = council.proposal(proposal).state
        try:
            council.vote(proposal, support, reason)
        except ce.GovernorAlreadyCastVote:
            fail(f"{council.client.address} already voted on proposal {proposal}")
        except ce.GovernorUnexpectedProposalState:
            fail(f"proposal {proposal} is {state.name.lower()}: votes are cast while it is active")
        p = council.proposal(proposal)
    console.print(
        f"voted {support} on proposal {proposal}: {p.votes_for} for, {p.votes_against} against, "
        f"{p.votes_abstain} abstain; it needs {p.quorum} for"
    )


@council_app.command("execute")
def execute(
    proposal: Annotated[int, typer.Argument(min=1, help="The proposal's id.")],
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Queue a passed proposal in the timelock, or execute it once the delay passed (anyone)."""
    with clear_errors():
        council = _council(keystore, deployment_file, rpc, signs=True)
        outcome = council.advance(proposal)
    console.print(f"proposal {proposal}: {outcome}")


@council_app.command("status")
def status(
    proposal: Annotated[int | None, typer.Argument(help="One proposal (default: all).")] = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """The members, the rules and the proposals."""
    with clear_errors():
        council = _council(None, deployment_file, rpc, signs=False)
        proposals = [council.proposal(proposal)] if proposal else council.proposals()
        settings, members = council.settings(), council.members()
    console.print(
        f"{len(members)} member organisations; a proposal passes with a majority of them "
        f"({len(members) // 2 + 1}); vote {settings['voting_period_blocks']} blocks after "
        f"{settings['voting_delay_blocks']}; timelock {settings['timelock_delay_s']} s"
    )
    table = Table("id", "state", "for", "against", "abstain", "needs", "actions", "description")
    for p in proposals:
        table.add_row(
            str(p.proposal_id),
            p.state.name.lower(),
            str(p.votes_for),
            str(p.votes_against),
            str(p.votes_abstain),
            str(p.quorum),
            "\n".join(a.summary for a in p.actions),
            p.description,
        )
    console.print(table)
