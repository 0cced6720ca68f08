"""The validators' pool, committee draws and vetting votes (the TaskVetting contract).

A member's draw seed is derived from its own key, the ledger and the task: it is secret until
revealed and the same after a restart, so a restarted validator reveals what it committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract
from web3.types import TxReceipt

from ledgerlearn.chain.client import EIP712_DOMAIN_TYPE, LedgerClient


@dataclass(frozen=True)
class VettingInfo:
    """A task's draw and vetting so far (mirrors ``ITaskVetting.VettingInfo``)."""

    commit_end: int  # first block refusing seed commitments (0: not touched yet)
    reveal_end: int  # first block refusing reveals; the draw from here
    drawn_block: int
    vet_end: int  # first block refusing votes; expiry from here
    commits: int
    reveals: int
    approvals: int
    rejections: int
    concluded: bool
    seed: bytes


@dataclass(frozen=True)
class Limits:
    """The consortium-wide windows, in blocks."""

    draw_commit_blocks: int
    draw_reveal_blocks: int
    vet_blocks: int


OPENING_GAS = 100_000
"""Extra gas a vetting vote needs when it is the one that opens or rejects the task."""

VOTE_DOMAIN = ("ledgerlearn vetting", "1")
"""The EIP-712 domain's name and version of a relayed vote (``TaskVetting``)."""


def vote_typed_data(
    chain_id: int,
    vetting: str,
    task_id: int,
    approve: bool,
    reason: str,
    member: str,
    deadline: int,
) -> dict[str, Any]:
    """The EIP-712 typed data ``member`` signs for its vote on ``task_id`` to be relayed by
    someone else (``TaskVetting.voteFor`` at ``vetting``); void after ``deadline`` (a Unix
    time)."""
    name, version = VOTE_DOMAIN
    return {
        "types": {
            "EIP712Domain": EIP712_DOMAIN_TYPE,
            "Vote": [
                {"name": "taskId", "type": "uint256"},
                {"name": "approve", "type": "bool"},
                {"name": "reason", "type": "string"},
                {"name": "member", "type": "address"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Vote",
        "domain": {
            "name": name,
            "version": version,
            "chainId": chain_id,
            "verifyingContract": vetting,
        },
        "message": {
            "taskId": task_id,
            "approve": approve,
            "reason": reason,
            "member": member,
            "deadline": deadline,
        },
    }


class Vetting:
    """The vetting contract seen by one participant."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.contract: Contract = client.satellite("TaskVetting")

    # -- the pool ------------------------------------------------------------------------
    def join_pool(self) -> None:
        """Opt in to be drawn onto committees."""
        self.client.transact(self.contract.functions.joinPool(), key="pool:join")

    def leave_pool(self) -> None:
        """Opt out (committees already drawn keep their members)."""
        self.client.transact(self.contract.functions.leavePool())

    def in_pool(self, account: str | None = None) -> bool:
        """Whether ``account`` (default: this participant) is in the pool."""
        who = account or self.client.address
        return bool(self.client.read(self.contract.functions.inPool(who)))

    def pool(self) -> list[str]:
        """The pool, in pool order."""
        return [str(a) for a in self.client.read(self.contract.functions.pool())]

    # -- the draw ------------------------------------------------------------------------
    def seed(self, task_id: int) -> bytes:
        """This member's secret seed for a task's draw (derived from its key)."""
        return self.client.derived_secret(b"draw seed", task_id.to_bytes(32))

    def commit_seed(self, task_id: int) -> None:
        """Commit to this member's seed for a task's draw."""
        seed = self.seed(task_id)
        commitment = self.client.read(
            self.contract.functions.seedCommitment(task_id, self.client.address, seed)
        )
        self.client.transact(
            self.contract.functions.commitSeed(task_id, commitment), key=f"seed:{task_id}"
        )

    def reveal_seed(self, task_id: int) -> None:
        """Reveal the committed seed."""
        self.client.transact(
            self.contract.functions.revealSeed(task_id, self.seed(task_id)), key=f"reveal:{task_id}"
        )

    def committed(self, task_id: int, account: str | None = None) -> bool:
        """Whether ``account`` (default: this member) has an unrevealed seed commitment."""
        who = account or self.client.address
        return bytes(self.client.read(self.contract.functions.commitmentOf(task_id, who))) != bytes(
            32
        )

    def draw(self, task_id: int) -> None:
        """Draw the task's committee (anyone, once the reveal window passed)."""
        self.client.transact(self.contract.functions.draw(task_id), key=f"draw:{task_id}")

    # -- vetting -------------------------------------------------------------------------
    def vote(self, task_id: int, approve: bool, reason: str) -> None:
        """Vote on a task this member was drawn for, with the reason (on chain)."""
        # the vote that reaches the quorum opens (or rejects) the task: more gas than estimated
        # when another member's vote lands first
        self.client.transact(
            self.contract.functions.vote(task_id, approve, reason),
            key=f"vet:{task_id}",
            headroom=OPENING_GAS,
        )

    def vote_typed_data(
        self, task_id: int, approve: bool, reason: str, member: str, deadline: int
    ) -> dict[str, Any]:
        """The EIP-712 typed data ``member`` signs for its vote to be relayed
        (:meth:`vote_for`), on this chain and contract."""
        chain_id, contract = self.client.chain.chain_id, self.contract.address
        return vote_typed_data(chain_id, contract, task_id, approve, reason, member, deadline)

    def vote_for(
        self,
        task_id: int,
        approve: bool,
        reason: str,
        member: str,
        deadline: int,
        signature: bytes,
    ) -> TxReceipt:
        """Relay ``member``'s signed vote (this participant pays the gas, the vote is the
        member's)."""
        return self.client.transact(
            self.contract.functions.voteFor(task_id, approve, reason, member, deadline, signature),
            key=f"vet:{task_id}:{member}",
            headroom=OPENING_GAS,
        )

    def expire(self, task_id: int) -> None:
        """Expire a task nobody decided in time (anyone)."""
        self.client.transact(self.contract.functions.expire(task_id), key=f"expire:{task_id}")

    def info(self, task_id: int) -> VettingInfo:
        """A task's draw and vetting so far."""
        v = self.client.read(self.contract.functions.vettingOf(task_id))
        n = [int(x) for x in v[:8]]
        return VettingInfo(n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], bool(v[8]), bytes(v[9]))

    def limits(self) -> Limits:
        """The consortium-wide windows in force."""
        commit, reveal, vet = (int(x) for x in self.client.read(self.contract.functions.limits()))
        return Limits(commit, reveal, vet)
