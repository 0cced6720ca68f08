"""``ledgerlearn rewards``: a task's reward, escrowed by its publisher, split at close.

The publisher escrows an ERC-20 amount (``fund``) while the task is open or being vetted; once
the task is closed, each provider is owed a share by its accepted updates and each committee
member by its scores on the side of the committee's decision, none if it scored against the
decision more often than the tolerance set at funding; each withdraws its own share
(``withdraw``); the publisher takes back what nobody earned (``refund``). The rule is
``IRewardEscrow``'s, in ``docs/architecture.md``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
    from ledgerlearn.chain.rewards import Rewards

rewards_app = typer.Typer(
    help="A task's reward: escrow it, see who is owed what, withdraw your share.",
    no_args_is_help=True,
)

TaskArg = Annotated[int, typer.Argument(min=1, help="The task's id.")]
BPS = 10_000


def _rewards(
    keystore: Path | None, deployment_file: Path | None, rpc: str | None, *, signs: bool
) -> Rewards:
    from ledgerlearn.chain.rewards import Rewards

    client = ledger_client(deployment_file, rpc, signer(keystore) if signs else None)
    if client.deployment.rewards is None:
        fail("this deployment has no reward escrow (a laboratory deployment)")
    return Rewards(client)


def _units(text: str, decimals: int) -> int:
    """``text`` tokens (a decimal number) in the token's smallest units."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        fail(f"--amount {text!r} is not a number of tokens")
    units = amount.scaleb(decimals)
    if not amount.is_finite() or units <= 0 or units != units.to_integral_value():
        fail(f"--amount {text}: a positive number of tokens, at most {decimals} decimals")
    return int(units)


def _tokens(units: int, decimals: int) -> str:
    """Token units as a number of tokens, two decimals."""
    return f"{Decimal(units).scaleb(-decimals):,.2f}"


def _bps(percent: float) -> int:
    return round(percent * 100)


@rewards_app.command("fund")
def fund(
    task: TaskArg,
    amount: Annotated[str, typer.Option(help="Tokens to escrow (decimals allowed).")],
    token: Annotated[
        str | None,
        typer.Option(help="The ERC-20 token's address (default: the devnet's test token)."),
    ] = None,
    provider_share: Annotated[
        float, typer.Option(min=0, max=100, help="Percent for the providers; the rest: validators.")
    ] = 70.0,
    tolerance: Annotated[
        float,
        typer.Option(
            min=0,
            max=100,
            help="Percent of its scores a validator may cast against the decision and be paid.",
        ),
    ] = 10.0,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Escrow a reward for your task (its publisher, before it closes; once)."""
    from ledgerlearn.addresses import AddressError, parse_address
    from ledgerlearn.chain import contract_errors as ce

    with clear_errors():
        rewards = _rewards(keystore, deployment_file, rpc, signs=True)
        client = rewards.client
        address = token or client.deployment.reward_token
        if address is None:
            fail("this deployment has no test token: give --token")
        try:
            address = parse_address(address)
        except AddressError as exc:
            fail(f"--token: {exc}")
        erc20 = rewards.token(address).functions
        decimals = int(client.read(erc20.decimals()))
        symbol = str(client.read(erc20.symbol()))
        units = _units(amount, decimals)
        balance = rewards.balance(address)
        if balance < units:
            fail(f"{client.address} holds {_tokens(balance, decimals)} {symbol}, not {amount}")
        try:
            rewards.fund(task, address, units, _bps(provider_share), _bps(tolerance))
        except ce.RewardNotPublisher:
            fail(f"{client.address} did not publish task {task}: only its publisher funds it")
        except ce.RewardAlreadyFunded:
            fail(f"task {task} has a reward already")
        except ce.RewardTaskState:
            fail(f"task {task} is closed: a reward is escrowed before the close")
    console.print(
        f"task {task}: {_tokens(units, decimals)} {symbol} escrowed, {provider_share:g}% for the "
        f"providers by accepted updates, the rest for the validators by scores on the side of "
        f"the decision (none past {tolerance:g}% against it); shares are withdrawn after the "
        "close"
    )


@rewards_app.command("withdraw")
def withdraw(
    task: TaskArg,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Withdraw your share of a closed task's reward (once)."""
    with clear_errors():
        rewards = _rewards(keystore, deployment_file, rpc, signs=True)
        me, escrow = rewards.client.address, rewards.escrow(task)
        if escrow.amount == 0:
            fail(f"task {task} has no reward escrowed")
        if not rewards.client.task(task).closed:
            fail(f"task {task} is not closed yet: shares are withdrawn after the close")
        if rewards.withdrawn(task, me):
            fail(f"{me} withdrew its share of task {task} already")
        decimals = int(rewards.client.read(rewards.token(escrow.token).functions.decimals()))
        amount = rewards.withdraw(task)
        if amount == 0:
            fail(f"{me} earned nothing in task {task} (no accepted update, no counted score)")
    console.print(f"task {task}: {_tokens(amount, decimals)} tokens withdrawn to {me}")


@rewards_app.command("refund")
def refund(
    task: TaskArg,
    keystore: KeystoreOpt = None,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """Take back the pools nobody earned (the publisher, after the close; once)."""
    from ledgerlearn.chain import contract_errors as ce

    with clear_errors():
        rewards = _rewards(keystore, deployment_file, rpc, signs=True)
        before = rewards.escrow(task)
        if before.amount == 0:
            fail(f"task {task} has no reward escrowed")
        try:
            rewards.refund(task)
        except ce.RewardNotPublisher:
            fail(f"{rewards.client.address} did not publish task {task}")
        except ce.RewardTaskState:
            fail(f"task {task} is not closed yet")
        except ce.RewardNotRefundable:
            fail(f"task {task}'s refund was made already")
        after = rewards.escrow(task)
        decimals = int(rewards.client.read(rewards.token(after.token).functions.decimals()))
    console.print(
        f"task {task}: {_tokens(after.paid - before.paid, decimals)} tokens back to the "
        "publisher (the pools nobody earned)"
    )


@rewards_app.command("status")
def status(
    task: TaskArg,
    deployment_file: DeploymentOpt = None,
    rpc: RpcOpt = None,
) -> None:
    """A task's reward: its terms, and per account its credits, what it is owed and withdrew."""
    from ledgerlearn.chain.events import EventStream
    from ledgerlearn.chain.index import LedgerIndex

    with clear_errors():
        rewards = _rewards(None, deployment_file, rpc, signs=False)
        client = rewards.client
        escrow = rewards.escrow(task)
        if escrow.amount == 0:
            fail(f"task {task} has no reward escrowed")
        index = LedgerIndex()
        index.apply_all(EventStream(client).poll(verify=False).events)
        record = index.tasks[task]
        erc20 = rewards.token(escrow.token).functions
        decimals, symbol = int(client.read(erc20.decimals())), str(client.read(erc20.symbol()))
        withdrawn = dict(record.reward.withdrawn) if record.reward else {}
        rows = []
        committee = set(record.params.committee)
        for account in dict.fromkeys([*record.providers, *record.params.committee]):
            credits = rewards.credits(task, account)
            role = "validator" if account in committee else "provider"
            rows.append((account, role, credits, rewards.owed(task, account)))
    share = escrow.provider_share_bps / 100
    console.print(
        f"task {task}: {_tokens(escrow.amount, decimals)} {symbol} escrowed ({escrow.token}); "
        f"{share:g}% for the providers, {100 - share:g}% for the validators, none for a "
        f"validator past {escrow.max_disagreement_bps / 100:g}% of its scores against the "
        f"decision; {_tokens(escrow.paid, decimals)} paid out; "
        + ("closed: shares can be withdrawn" if record.closed else "open: shares come at close")
    )
    table = Table(
        "account", "role", "accepted", "with the decision", "against", "owed", "withdrawn"
    )
    for account, role, credits, owed in rows:
        table.add_row(
            account,
            role,
            str(credits.accepted) if role == "provider" else "",
            str(credits.agreed) if role == "validator" else "",
            str(credits.disagreed) if role == "validator" else "",
            _tokens(owed, decimals),
            _tokens(withdrawn.get(account, 0), decimals),
        )
    console.print(table)
