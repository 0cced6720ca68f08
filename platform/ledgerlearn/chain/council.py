"""The council's proposals, votes and execution, in the words of the consortium.

A proposal is a list of actions, each a call the council's timelock makes once the proposal
passed: admit an organisation (mint its membership token and grant its roles), remove one (burn
its token, revoke every role it holds), grant or revoke a role, change the consortium-wide
vetting windows. Proposal ids are sequential (1, 2, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract

from ledgerlearn.chain import contract_errors as ce
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.roles import ROLES, role_id
from ledgerlearn.errors import ChainError

Support = Literal["against", "for", "abstain"]
SUPPORT: dict[Support, int] = {"against": 0, "for": 1, "abstain": 2}


class ProposalState(IntEnum):
    """OpenZeppelin Governor's proposal states."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


@dataclass(frozen=True)
class Action:
    """One call the timelock makes when the proposal is executed."""

    target: str
    calldata: bytes
    summary: str  # what it does, in words


@dataclass(frozen=True)
class Proposal:
    """A proposal and where it stands."""

    proposal_id: int
    proposer: str
    description: str
    actions: tuple[Action, ...]
    state: ProposalState
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum: int  # For votes it needs (a strict majority of the members at its snapshot)
    snapshot_block: int
    deadline_block: int  # the last block of the vote
    eta: int  # timestamp from which it can be executed (0 until queued)


class Council:
    """The council of a consortium deployment, seen by one participant."""

    def __init__(self, client: LedgerClient) -> None:
        self.client = client
        self.governor: Contract = client.satellite("Council")
        self.token: Contract = client.satellite("MembershipToken")
        self.timelock: Contract = client.satellite("CouncilTimelock")

    # -- actions -------------------------------------------------------------------------
    def admit(self, organisation: str, roles: Sequence[str] = ()) -> list[Action]:
        """Admit ``organisation`` to the council and grant it ``roles``."""
        org = Web3.to_checksum_address(organisation)
        actions = [self._action(self.token, "admit", [org], f"admit {org} to the council")]
        actions += [self.grant(role, org)[0] for role in roles]
        return actions

    def remove(self, organisation: str) -> list[Action]:
        """Remove ``organisation``: its token, and every participant role it holds now."""
        org = Web3.to_checksum_address(organisation)
        actions = [self._action(self.token, "remove", [org], f"remove {org} from the council")]
        held = [role for role in ROLES if self.client.has_role(role, org)]
        return actions + [self.revoke(role, org)[0] for role in held]

    def grant(self, role: str, account: str) -> list[Action]:
        """Grant ``role`` (PUBLISHER, PROVIDER or VALIDATOR) to ``account``."""
        who = Web3.to_checksum_address(account)
        consortium = self.client.consortium
        return [
            self._action(consortium, "grantRole", [role_id(role), who], f"grant {role} to {who}")
        ]

    def revoke(self, role: str, account: str) -> list[Action]:
        """Revoke ``role`` from ``account``."""
        who = Web3.to_checksum_address(account)
        consortium = self.client.consortium
        return [
            self._action(
                consortium, "revokeRole", [role_id(role), who], f"revoke {role} from {who}"
            )
        ]

    def set_vetting_limits(
        self, commit_blocks: int, reveal_blocks: int, vet_blocks: int
    ) -> list[Action]:
        """Change the consortium-wide windows of committee draws and vetting."""
        vetting = self.client.satellite("TaskVetting")
        limits = (commit_blocks, reveal_blocks, vet_blocks)
        summary = (
            f"set the vetting windows: seeds committed {commit_blocks} blocks, revealed "
            f"{reveal_blocks}, vetting {vet_blocks}"
        )
        return [self._action(vetting, "setLimits", [limits], summary)]

    # -- proposals -----------------------------------------------------------------------
    def propose(self, actions: Sequence[Action], description: str) -> int:
        """Propose ``actions``; returns the proposal's id."""
        if not actions:
            raise ChainError("a proposal needs at least one action")
        call = self.governor.functions.propose(
            [a.target for a in actions],
            [0] * len(actions),
            [a.calldata for a in actions],
            description,
        )
        receipt = self.client.transact(call)
        events = self.governor.events.ProposalCreated().process_receipt(receipt)
        return int(events[0]["args"]["proposalId"])

    def vote(self, proposal_id: int, support: Support, reason: str = "") -> None:
        """Cast this member's vote (once)."""
        if reason:
            call = self.governor.functions.castVoteWithReason(proposal_id, SUPPORT[support], reason)
        else:
            call = self.governor.functions.castVote(proposal_id, SUPPORT[support])
        self.client.transact(call)

    def advance(self, proposal_id: int) -> str:
        """Move a passed proposal on: queue it in the timelock, or execute it once its delay
        passed. Returns what was done (``queued``, ``executed``) or why nothing was.
        """
        proposal = self.proposal(proposal_id)
        if proposal.state is ProposalState.SUCCEEDED:
            self.client.transact(self.governor.functions.queue(proposal_id))
            return "queued"
        if proposal.state is ProposalState.QUEUED:
            now = int(self.client.chain.w3.eth.get_block("latest")["timestamp"])
            if now < proposal.eta:
                return f"waiting: executable in {proposal.eta - now} s (the timelock's delay)"
            self.client.transact(self.governor.functions.execute(proposal_id))
            return "executed"
        return f"nothing to do: the proposal is {proposal.state.name.lower()}"

    def count(self) -> int:
        """Number of proposals made."""
        return int(self.client.read(self.governor.functions.proposalCount()))

    def proposal(
        self, proposal_id: int, created: dict[int, dict[str, object]] | None = None
    ) -> Proposal:
        """A proposal and where it stands (``created``: the ``ProposalCreated`` events by id,
        when the caller read them already).

        Raises
        ------
        ChainError
            No proposal with this id.
        """
        g = self.governor.functions
        count = self.count()
        if not 1 <= proposal_id <= count:
            raise ChainError(f"no proposal {proposal_id}: the council has {count}")
        targets, _, calldatas, description_hash = self.client.read(g.proposalDetails(proposal_id))
        against, votes_for, abstain = self.client.read(g.proposalVotes(proposal_id))
        snapshot = int(self.client.read(g.proposalSnapshot(proposal_id)))
        created_event = (self._created() if created is None else created).get(proposal_id)
        description = str(created_event["description"]) if created_event else ""
        if created_event and keccak(text=description) != bytes(description_hash):
            description = "(description not found)"
        return Proposal(
            proposal_id=proposal_id,
            proposer=str(created_event["proposer"]) if created_event else "",
            description=description,
            actions=tuple(
                self._decode(t, bytes(c)) for t, c in zip(targets, calldatas, strict=True)
            ),
            state=ProposalState(int(self.client.read(g.state(proposal_id)))),
            votes_for=int(votes_for),
            votes_against=int(against),
            votes_abstain=int(abstain),
            quorum=self._quorum(snapshot),
            snapshot_block=snapshot,
            deadline_block=int(self.client.read(g.proposalDeadline(proposal_id))),
            eta=int(self.client.read(g.proposalEta(proposal_id))),
        )

    def _quorum(self, snapshot: int) -> int:
        """For votes a proposal needs: a majority of the members at its snapshot (before the
        snapshot block is mined: of the members now)."""
        try:
            return int(self.client.read(self.governor.functions.quorum(snapshot)))
        except ce.ERC5805FutureLookup:
            return len(self.members()) // 2 + 1

    def proposals(self) -> list[Proposal]:
        """Every proposal, newest first."""
        created = self._created()  # one read of the events for the whole list
        return [self.proposal(i, created) for i in range(self.count(), 0, -1)]

    def members(self) -> list[str]:
        """The member organisations."""
        return [str(m) for m in self.client.read(self.token.functions.members())]

    def settings(self) -> dict[str, int]:
        """Voting delay and period (blocks), the timelock's delay (seconds), the members."""
        g = self.governor.functions
        return {
            "voting_delay_blocks": int(self.client.read(g.votingDelay())),
            "voting_period_blocks": int(self.client.read(g.votingPeriod())),
            "timelock_delay_s": int(self.client.read(self.timelock.functions.getMinDelay())),
            "members": len(self.members()),
        }

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _action(contract: Contract, function: str, args: list[object], summary: str) -> Action:
        calldata = contract.encode_abi(function, args=args)
        return Action(str(contract.address), bytes.fromhex(calldata[2:]), summary)

    def _decode(self, target: str, calldata: bytes) -> Action:
        """An action read back from chain, said in words when the target is known."""
        known = {
            Web3.to_checksum_address(str(c.address)): c
            for c in (self.token, self.client.consortium, self._vetting())
            if c is not None
        }
        contract = known.get(Web3.to_checksum_address(target))
        summary = f"call {target} with {len(calldata)} bytes"
        if contract is not None:
            try:
                fn, args = contract.decode_function_input(calldata)
                summary = _say(fn.fn_name, args)
            except ValueError:
                pass
        return Action(target, calldata, summary)

    def _vetting(self) -> Contract | None:
        try:
            return self.client.satellite("TaskVetting")
        except ChainError:
            return None

    def _created(self) -> dict[int, dict[str, object]]:
        """The ``ProposalCreated`` events (proposer, description), by proposal id."""
        logs = self.governor.events.ProposalCreated().get_logs(
            from_block=self.client.deployment.block_number
        )
        return {int(log["args"]["proposalId"]): dict(log["args"]) for log in logs}


_ROLE_NAMES = {role_id(r): r for r in ROLES}


def _say(function: str, args: dict[str, Any]) -> str:
    """A decoded action in words."""
    values: list[Any] = list(args.values())
    if function in ("grantRole", "revokeRole"):
        role = _ROLE_NAMES.get(bytes(values[0]), "0x" + bytes(values[0]).hex())
        verb = "grant" if function == "grantRole" else "revoke"
        return f"{verb} {role} {'to' if verb == 'grant' else 'from'} {values[1]}"
    if function == "admit":
        return f"admit {values[0]} to the council"
    if function == "remove":
        return f"remove {values[0]} from the council"
    if function == "setLimits":
        c, r, v = values[0]
        return f"set the vetting windows: seeds committed {c} blocks, revealed {r}, vetting {v}"
    return f"{function}({', '.join(str(v) for v in values)})"
