"""A task's reward: escrowed by its publisher, split at close by the ledger's credits, withdrawn
by each account (the RewardEscrow contract; the split rule is in its interface)."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.contract import Contract

from ledgerlearn.chain.client import LedgerClient

ERC20_ABI = [
    {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": inputs,
        "outputs": [{"name": "", "type": out}],
    }
    for name, mutability, inputs, out in (
        (
            "approve",
            "nonpayable",
            [{"name": "spender", "type": "address"}, {"name": "amount", "type": "uint256"}],
            "bool",
        ),
        ("balanceOf", "view", [{"name": "account", "type": "address"}], "uint256"),
        ("decimals", "view", [], "uint8"),
        ("symbol", "view", [], "string"),
    )
]
"""The ERC-20 functions the escrow's users need (any token, not only the test token)."""


@dataclass(frozen=True)
class Credits:
    """What an account earned in a task, as the escrow counts it: its accepted updates, and its
    scores with and against the committee's decision (the ledger's, and in a commit-reveal task
    those revealed after the decision)."""

    accepted: int
    agreed: int
    disagreed: int


@dataclass(frozen=True)
class Escrow:
    """A task's escrow (mirrors ``IRewardEscrow.Escrow``)."""

    token: str
    provider_share_bps: int
    max_disagreement_bps: int  # a validator against the decision more often forfeits its share
    refunded: bool
    sweep_after: int
    amount: int
    paid: int


class Rewards:
    """The reward escrow seen by one participant."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.contract: Contract = client.satellite("RewardEscrow")

    def token(self, address: str) -> Contract:
        """An ERC-20 token (approve, balanceOf)."""
        return self.client.chain.w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=ERC20_ABI
        )

    def fund(
        self,
        task_id: int,
        token: str,
        amount: int,
        provider_share_bps: int,
        max_disagreement_bps: int,
    ) -> None:
        """As the task's publisher: approve the escrow and escrow ``amount`` of ``token``,
        ``provider_share_bps`` of it for the providers, the rest for the validators, of whom
        those scoring against the decision more than ``max_disagreement_bps`` of the time
        forfeit their share."""
        erc20 = self.token(token)
        self.client.transact(erc20.functions.approve(self.contract.address, amount))
        self.client.transact(
            self.contract.functions.fund(
                task_id,
                Web3.to_checksum_address(token),
                amount,
                provider_share_bps,
                max_disagreement_bps,
            ),
            key=f"reward:{task_id}",
        )

    def owed(self, task_id: int, account: str | None = None) -> int:
        """What ``account`` (default: this participant) may withdraw now."""
        who = account or self.client.address
        return int(self.client.read(self.contract.functions.owed(task_id, who)))

    def withdraw(self, task_id: int) -> int:
        """Withdraw this participant's share; returns the amount (0: nothing owed, nothing sent)."""
        amount = self.owed(task_id)
        if amount:
            self.client.transact(self.contract.functions.withdraw(task_id))
        return amount

    def withdrawn(self, task_id: int, account: str) -> bool:
        """Whether ``account`` withdrew its share of a task."""
        return bool(self.client.read(self.contract.functions.withdrawn(task_id, account)))

    def refund(self, task_id: int) -> None:
        """As the publisher, after close: take back the pools nobody earned."""
        self.client.transact(self.contract.functions.refund(task_id))

    def escrow(self, task_id: int) -> Escrow:
        """A task's escrow (amount 0: none)."""
        e = self.client.read(self.contract.functions.escrowOf(task_id))
        return Escrow(str(e[0]), int(e[1]), int(e[2]), bool(e[3]), int(e[4]), int(e[5]), int(e[6]))

    def credits(self, task_id: int, account: str) -> Credits:
        """``account``'s credits in a task (:class:`Credits`)."""
        ledger = self.client.ledger.functions
        accepted, _, agreed, disagreed = self.client.read(ledger.creditOf(task_id, account))
        if self.client.deployment.score_commitments is not None:
            late = self.client.satellite("ScoreCommitments").functions
            late_agreed, late_disagreed = self.client.read(late.lateCreditOf(task_id, account))
            agreed, disagreed = agreed + late_agreed, disagreed + late_disagreed
        return Credits(int(accepted), int(agreed), int(disagreed))

    def balance(self, token: str, account: str | None = None) -> int:
        """``account``'s balance of ``token``."""
        who = account or self.client.address
        return int(self.client.read(self.token(token).functions.balanceOf(who)))
