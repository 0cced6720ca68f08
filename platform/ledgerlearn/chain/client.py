"""Typed access to the deployed contracts.

:class:`LedgerClient` mirrors the contract functions: reads return dataclasses, writes are
signed locally with the participant's key and return the transaction receipt (or the value
the contract produced, such as a new task id). Reverts raise the typed errors of
``ledgerlearn.chain.contract_errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import Any, TypeVar, get_type_hints

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import MismatchedABI
from web3.types import TxReceipt

from ledgerlearn.chain.artifacts import ContractName, load_artifact
from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.chain.revert import decode_revert, revert_data
from ledgerlearn.chain.roles import ROLES, role_id
from ledgerlearn.chain.transactor import Transactor
from ledgerlearn.chain.types import Member, RoundInfo, TaskInfo, UpdateInfo
from ledgerlearn.core.abi import snake_case
from ledgerlearn.core.rules import update_commitment
from ledgerlearn.core.task_params import EIP712_FIELDS, TaskParams
from ledgerlearn.errors import ChainError, NodeUnreachableError

DECIDING_GAS = 60_000
"""Extra gas a score needs when it becomes the deciding one (digest, counters, event, credits)."""
FIRST_CREDITS_GAS = 150_000
"""Extra gas of the first decisions in a task: the provider's and each agreeing member's first
credit write costs 22k each (the first decision of a task measured 205k, against 50k for a
score that does not decide)."""


def deciding_headroom(updates: int) -> int:
    """Gas above the estimate for scoring ``updates`` updates, any of which may become the
    deciding score by the time the transaction is mined."""
    return FIRST_CREDITS_GAS + DECIDING_GAS * updates


PROPOSING_GAS = 60_000
"""Extra gas a proposal needs when it lands before another member's proposal of the same
result, which its estimate saw first."""
FINALIZING_GAS = 100_000
"""Extra gas an attestation needs when it finalizes the round and opens the next."""

T = TypeVar("T")

EIP712_DOMAIN_NAME = "ledgerlearn"
EIP712_DOMAIN_VERSION = "1"
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
"""The ``EIP712Domain`` type of every typed data signed for a contract (name, version, chain,
contract)."""


class LedgerClient:
    """One participant's view of a consortium's contracts.

    Parameters
    ----------
    chain
        The chain connection.
    deployment
        Where the contracts are.
    account
        The participant's key; None for a read-only client.
    outbox
        Where signed transactions are kept before broadcast: with it, an agent restarted
        after a crash re-sends the same transaction for the same intent, never a second one.
    """

    def __init__(
        self,
        chain: Chain,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        outbox: Outbox | None = None,
    ) -> None:
        self.chain = chain
        self.deployment = deployment
        w3 = chain.w3
        self.consortium: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.consortium),
            abi=load_artifact("Consortium").abi,
        )
        self.ledger: Contract = w3.eth.contract(
            address=Web3.to_checksum_address(deployment.ledger),
            abi=load_artifact("LearningLedger").abi,
        )
        self._sender = Transactor(chain, account, outbox=outbox) if account is not None else None
        self._satellites: dict[str, Contract] = {}

    # -- the satellites of a consortium deployment ----------------------------------------
    def satellite(self, name: ContractName) -> Contract:
        """A contract of the deployment besides the Consortium and the ledger (the vetting
        contract, the council, ...).

        Raises
        ------
        ChainError
            The deployment has no such contract (a laboratory deployment has none).
        """
        contract = self._satellites.get(name)
        if contract is None:
            address = self.deployment.satellites().get(name)
            if address is None:
                raise ChainError(
                    f"this deployment has no {name}: it is a laboratory deployment "
                    "(ledgerlearn chain deploy --founder ... deploys a consortium with a council)"
                )
            contract = self.chain.w3.eth.contract(
                address=Web3.to_checksum_address(address), abi=load_artifact(name).abi
            )
            self._satellites[name] = contract
        return contract

    def derived_secret(self, purpose: bytes, data: bytes) -> bytes:
        """A secret only this participant can compute, the same after a restart: derived from
        its key, ``purpose``, the ledger and ``data`` (a draw seed, a score's salt)."""
        secret = keccak(b"ledgerlearn " + purpose + bytes(self._tx.account.key))
        return keccak(secret + bytes.fromhex(self.deployment.ledger[2:]) + data)

    def transact(
        self, call: ContractFunction, *, key: str | None = None, headroom: int = 0
    ) -> TxReceipt:
        """Send a call of any of the deployment's contracts as this participant (``key``: an
        idempotency key for the outbox; ``headroom``: gas above the estimate, for a call that
        may take a costlier path when others' transactions land first)."""
        return self._tx.send(call, key=key, headroom=headroom)

    def read(self, call: ContractFunction) -> Any:
        """A view call of any of the deployment's contracts; a revert raises its typed error."""
        return self._read(call)

    # -- identity ------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """The participant's address."""
        return self._tx.address

    @property
    def has_outbox(self) -> bool:
        """Whether sends go through an outbox (needed for :meth:`broadcast_update`)."""
        return self._sender is not None and self._sender.outbox is not None

    @property
    def _tx(self) -> Transactor:
        if self._sender is None:
            raise ChainError("this client is read-only: give it an account to send transactions")
        return self._sender

    def with_account(self, account: LocalAccount, outbox: Outbox | None = None) -> LedgerClient:
        """The same contracts seen by another participant."""
        return LedgerClient(self.chain, self.deployment, account, outbox=outbox)

    def balance(self, account: str | None = None) -> int:
        """The balance of ``account`` (default: this client's), in wei."""
        return int(self.chain.w3.eth.get_balance(account or self.address))  # type: ignore[arg-type]

    def block_number(self) -> int:
        """The latest block number."""
        return int(self.chain.w3.eth.block_number)

    # -- consortium ----------------------------------------------------------------------
    def grant_role(self, role: str, account: str) -> TxReceipt:
        """Grant ``role`` to ``account`` (admin)."""
        return self._tx.send(self.consortium.functions.grantRole(role_id(role), account))

    def revoke_role(self, role: str, account: str) -> TxReceipt:
        """Revoke ``role`` from ``account`` (admin); effective in the next block."""
        return self._tx.send(self.consortium.functions.revokeRole(role_id(role), account))

    def has_role(self, role: str, account: str) -> bool:
        """Whether ``account`` holds ``role``."""
        return bool(self._read(self.consortium.functions.hasRole(role_id(role), account)))

    def register_member(
        self, peer_address: str, encryption_private_key: bytes | None = None
    ) -> TxReceipt:
        """Register this participant's IPFS peer address and encryption public key, with the
        proof that it holds the key (an EIP-191 signature by the encryption key over
        ``keyProofMessage(account)``). The encryption key is the account's own unless another
        32-byte secp256k1 private key is given."""
        key = (
            bytes(self._tx.account.key)
            if encryption_private_key is None
            else encryption_private_key
        )
        public = b"\x04" + PrivateKey(key).public_key.to_bytes()
        message = bytes(self._read(self.consortium.functions.keyProofMessage(self.address)))
        proof = Account.sign_message(encode_defunct(primitive=message), key).signature
        call = self.consortium.functions.registerMember(peer_address, public, bytes(proof))
        return self._tx.send(call)

    def cancel_publish_nonce(self) -> TxReceipt:
        """Invalidate this publisher's current relayed-publication nonce: a PublishTask it
        signed and handed to a relayer can no longer be relayed."""
        return self._tx.send(self.ledger.functions.cancelPublishNonce())

    def member(self, account: str) -> Member:
        """What ``account`` registered, with its current roles."""
        peer, key, block = self._read(self.consortium.functions.memberOf(account))
        roles = frozenset(r for r in ROLES if self.has_role(r, account))
        return Member(account, peer, bytes(key), int(block), roles)

    def members(self) -> list[Member]:
        """Every registered member, in registration order."""
        return [self.member(a) for a in self._read(self.consortium.functions.registeredMembers())]

    # -- tasks ---------------------------------------------------------------------------
    def publish_task(self, params: TaskParams) -> int:
        """Publish a task as this participant; returns its id."""
        receipt = self._tx.send(self.ledger.functions.publishTask(params.as_tuple()))
        return self._task_id_from(receipt)

    def post_fragments(
        self, task_id: int, fragment_hashes: Sequence[bytes], fragment_cids: Sequence[str]
    ) -> TxReceipt:
        """As a drawn task's publisher: post one validation fragment per seated member."""
        return self._tx.send(
            self.ledger.functions.postFragments(
                task_id, list(fragment_hashes), list(fragment_cids)
            ),
            key=f"fragments:{task_id}",
        )

    def publish_nonce(self, publisher: str) -> int:
        """The nonce ``publisher`` must sign next for a relayed publication."""
        return int(self._read(self.ledger.functions.publishNonce(publisher)))

    def publish_typed_data(
        self, params: TaskParams, publisher: str, nonce: int, deadline: int
    ) -> dict[str, Any]:
        """The EIP-712 typed data a publisher signs for :meth:`publish_task_for`."""
        return {
            "types": {
                "EIP712Domain": EIP712_DOMAIN_TYPE,
                "PublishTask": [
                    {"name": "publisher", "type": "address"},
                    {"name": "params", "type": "TaskParams"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ],
                "TaskParams": EIP712_FIELDS,
            },
            "primaryType": "PublishTask",
            "domain": {
                "name": EIP712_DOMAIN_NAME,
                "version": EIP712_DOMAIN_VERSION,
                "chainId": self.chain.chain_id,
                "verifyingContract": self.deployment.ledger,
            },
            "message": {
                "publisher": publisher,
                "params": params.typed_data_message(),
                "nonce": nonce,
                "deadline": deadline,
            },
        }

    @staticmethod
    def sign_typed_data(account: LocalAccount, typed_data: dict[str, Any]) -> bytes:
        """Sign EIP-712 typed data with ``account`` (the publisher's own key, locally)."""
        signable = encode_typed_data(full_message=typed_data)
        return bytes(Account.sign_message(signable, account.key).signature)

    def publish_task_for(
        self, params: TaskParams, publisher: str, deadline: int, signature: bytes
    ) -> int:
        """Relay a publication signed by ``publisher``; returns the task id."""
        call = self.ledger.functions.publishTaskFor(
            params.as_tuple(), publisher, deadline, signature
        )
        return self._task_id_from(self._tx.send(call))

    def broadcast_publish_task_for(
        self, params: TaskParams, publisher: str, deadline: int, signature: bytes, *, key: str
    ) -> str:
        """Like :meth:`publish_task_for` without waiting for the block: the signed transaction
        is kept in the outbox under the intent ``key`` (a second call with the same key
        resumes it, never a second transaction); returns its hash. Needs an outbox."""
        if not self.has_outbox:
            raise ChainError("broadcast_publish_task_for needs an outbox")
        call = self.ledger.functions.publishTaskFor(
            params.as_tuple(), publisher, deadline, signature
        )
        self._tx.broadcast(call, key=key)
        entry = self._tx.outbox.get(key) if self._tx.outbox is not None else None
        assert entry is not None
        return entry.tx_hash

    def check_publish(self, params: TaskParams, publisher: str) -> None:
        """Run ``publishTask(params)`` as a call from ``publisher``: raises the contract's typed
        error (missing role, unsafe policy, bad parameter) without sending anything; a value
        that does not fit its ABI type raises :class:`ChainError` naming it."""
        try:
            call = self.ledger.functions.publishTask(params.as_tuple())
        except (MismatchedABI, TypeError, ValueError) as exc:  # encoding errors
            raise ChainError(f"the task parameters do not fit the contract's types: {exc}") from exc
        self._read(call, sender=publisher)

    def recover_outbox(self) -> None:
        """Re-broadcast this participant's outbox transactions not yet mined (at a restart)."""
        self._tx.recover()

    def task_id_from(self, receipt: TxReceipt) -> int:
        """The id of the task a publication receipt created."""
        return self._task_id_from(receipt)

    def close_task(self, task_id: int) -> TxReceipt:
        """Stop a task from accepting updates (its publisher)."""
        return self._tx.send(self.ledger.functions.closeTask(task_id))

    def task_count(self) -> int:
        """Number of tasks published (ids 1..task_count)."""
        return int(self._read(self.ledger.functions.taskCount()))

    def task(self, task_id: int) -> TaskInfo:
        """The stored state of a task."""
        v = self._read(self.ledger.functions.getTask(task_id))
        return _stored(TaskInfo, self._outputs("getTask"), v, task_id=task_id)

    def committee(self, task_id: int) -> list[tuple[str, bytes]]:
        """The committee of a task: (validator, fragment hash) in committee order (the hash is
        empty for a drawn committee whose fragments are not posted yet)."""
        members, hashes = self._read(self.ledger.functions.getCommittee(task_id))
        if not hashes:  # a drawn committee before its publisher posted the fragments
            return [(m, b"") for m in members]
        return [(m, bytes(h)) for m, h in zip(members, hashes, strict=True)]

    # -- updates and scores --------------------------------------------------------------
    def join_task(self, task_id: int) -> TxReceipt:
        """Join a task as a data provider."""
        return self._tx.send(self.ledger.functions.joinTask(task_id), key=f"join:{task_id}")

    def participation(self, task_id: int, provider: str) -> tuple[bool, int]:
        """Whether ``provider`` joined, and the last federation round it submitted in."""
        joined, last = self._read(self.ledger.functions.participation(task_id, provider))
        return bool(joined), int(last)

    def update_salt(self, task_id: int, update: bytes) -> bytes:
        """The salt this participant commits ``update`` with: derived from its own key, the
        ledger, the task and the content, so a restarted agent reveals with the same salt and
        nobody else can compute it (the commitment hides the content until the reveal)."""
        secret = keccak(b"ledgerlearn update salt" + bytes(self._tx.account.key))
        return keccak(
            secret + bytes.fromhex(self.deployment.ledger[2:]) + task_id.to_bytes(32) + update
        )

    def _commitment(self, task_id: int, update: bytes) -> bytes:
        """This participant's commitment to ``update`` (:func:`update_commitment` with its own
        salt)."""
        return update_commitment(task_id, self.address, update, self.update_salt(task_id, update))

    def commitment_block(self, provider: str, commitment: bytes) -> int:
        """Block in which ``provider`` made the commitment (0: never made, or already
        revealed)."""
        return int(self._read(self.ledger.functions.commitmentBlock(provider, commitment)))

    def commit_update(self, task_id: int, update: bytes) -> TxReceipt:
        """Commit to ``update`` (its content hash) before revealing it in a later block."""
        commitment = self._commitment(task_id, update)
        call = self.ledger.functions.commitUpdate(task_id, commitment)
        return self._tx.send(call, key=f"commit:{task_id}:{update.hex()}")

    def broadcast_commit(self, task_id: int, update: bytes) -> str:
        """Like :meth:`commit_update` without waiting for the block; returns the intent key
        for :meth:`intent_status`. Needs an outbox."""
        if not self.has_outbox:
            raise ChainError("broadcast_commit needs an outbox to follow the transaction")
        commitment = self._commitment(task_id, update)
        key = f"commit:{task_id}:{update.hex()}"
        self._tx.broadcast(self.ledger.functions.commitUpdate(task_id, commitment), key=key)
        return key

    def committed(self, task_id: int, update: bytes) -> int:
        """Block in which this participant's commitment to ``update`` was mined (0: none)."""
        commitment = self._commitment(task_id, update)
        return self.commitment_block(self.address, commitment)

    def submit_update(
        self, task_id: int, round_: int, update: bytes, cid: str, num_samples: int
    ) -> TxReceipt:
        """Commit to a federation update (unless already done) and reveal it (its content
        hash and CID) for ``round_`` in a later block; waits for both."""
        if not self.committed(task_id, update):
            self.commit_update(task_id, update)
        salt = self.update_salt(task_id, update)
        call = self.ledger.functions.submitUpdate(task_id, round_, update, cid, num_samples, salt)
        return self._tx.send(call, key=f"update:{task_id}:{update.hex()}")

    def broadcast_update(
        self, task_id: int, round_: int, update: bytes, cid: str, num_samples: int
    ) -> str:
        """Like :meth:`submit_update` without waiting for the transaction to be mined;
        returns the intent key for :meth:`intent_status`. Needs an outbox."""
        if not self.has_outbox:
            raise ChainError("broadcast_update needs an outbox to follow the transaction")
        salt = self.update_salt(task_id, update)
        call = self.ledger.functions.submitUpdate(task_id, round_, update, cid, num_samples, salt)
        key = f"update:{task_id}:{update.hex()}"
        self._tx.broadcast(call, key=key)
        return key

    def intent_status(self, key: str) -> str:
        """``unknown``, ``pending``, ``mined`` or ``failed``: how the transaction sent for an
        intent went (needs the outbox)."""
        return self._tx.intent_status(key)

    def submit_dag_update(
        self, task_id: int, parents: Sequence[bytes], update: bytes, cid: str, num_samples: int
    ) -> TxReceipt:
        """Commit to a dag update built on ``parents`` (unless already done) and reveal it
        in a later block; waits for both."""
        if not self.committed(task_id, update):
            self.commit_update(task_id, update)
        salt = self.update_salt(task_id, update)
        call = self.ledger.functions.submitDagUpdate(
            task_id, list(parents), update, cid, num_samples, salt
        )
        return self._tx.send(call, key=f"update:{task_id}:{update.hex()}")

    def broadcast_dag_update(
        self, task_id: int, parents: Sequence[bytes], update: bytes, cid: str, num_samples: int
    ) -> str:
        """Like :meth:`submit_dag_update` without waiting for the transaction to be mined;
        returns the intent key for :meth:`intent_status`. Needs an outbox."""
        if not self.has_outbox:
            raise ChainError("broadcast_dag_update needs an outbox to follow the transaction")
        salt = self.update_salt(task_id, update)
        call = self.ledger.functions.submitDagUpdate(
            task_id, list(parents), update, cid, num_samples, salt
        )
        key = f"update:{task_id}:{update.hex()}"
        self._tx.broadcast(call, key=key)
        return key

    def submit_score(self, task_id: int, update: bytes, score: int) -> TxReceipt:
        """Score one update (fixed point, see :func:`ledgerlearn.core.rules.to_fixed`)."""
        call = self.ledger.functions.submitScore(task_id, update, score)
        return self._tx.send(
            call, key=f"score:{task_id}:{update.hex()}", headroom=deciding_headroom(1)
        )

    def submit_scores(
        self, task_id: int, updates: Sequence[bytes], scores: Sequence[int]
    ) -> TxReceipt:
        """Score several updates of a task in one transaction."""
        call = self.ledger.functions.submitScores(task_id, list(updates), list(scores))
        batch = keccak(b"".join(updates)).hex()
        headroom = deciding_headroom(len(updates))  # any of them may become the deciding score
        return self._tx.send(call, key=f"scores:{task_id}:{batch}", headroom=headroom)

    def settle_updates(self, task_id: int, updates: Sequence[bytes]) -> TxReceipt:
        """Decide pending updates whose scoring deadline passed."""
        return self._tx.send(self.ledger.functions.settleUpdates(task_id, list(updates)))

    def content_used(self, content_hash: bytes) -> bool:
        """Whether the ledger already knows these bytes as a model (initial weights, an update
        of any task, a finalized aggregate): such content cannot be submitted."""
        return bool(self._read(self.ledger.functions.contentUsed(content_hash)))

    def update(self, task_id: int, update: bytes) -> UpdateInfo:
        """The stored state of an update (status NONE when unknown)."""
        v = self._read(self.ledger.functions.getUpdate(task_id, update))
        return _stored(UpdateInfo, self._outputs("getUpdate"), v, task_id=task_id, update=update)

    def score_deadline(self, task_id: int, update: bytes) -> int:
        """The block from which ``update`` can no longer be scored."""
        return int(self._read(self.ledger.functions.scoreDeadline(task_id, update)))

    # -- rounds --------------------------------------------------------------------------
    def propose_aggregate(
        self, task_id: int, round_: int, updates: Sequence[bytes], result_hash: bytes, cid: str
    ) -> TxReceipt:
        """Propose the aggregate of ``round_`` computed from its accepted ``updates``."""
        call = self.ledger.functions.proposeAggregate(
            task_id, round_, list(updates), result_hash, cid
        )
        # estimated on the pending block, which may hold another member's proposal of the same
        # result (the cheaper "CID added" path); mined first, this one pays for the proposal
        return self._tx.send(
            call, key=f"propose:{task_id}:{round_}:{result_hash.hex()}", headroom=PROPOSING_GAS
        )

    def attest_aggregate(
        self, task_id: int, round_: int, result_hash: bytes, cid: str = ""
    ) -> TxReceipt:
        """Attest a proposed aggregate after recomputing it (committee member); ``cid`` names
        where this member serves it."""
        call = self.ledger.functions.attestAggregate(task_id, round_, result_hash, cid)
        return self._tx.send(call, key=f"attest:{task_id}:{round_}", headroom=FINALIZING_GAS)

    def close_round(self, task_id: int, round_: int, result_hash: bytes) -> TxReceipt:
        """After the attestation deadline, finalize ``round_`` without a quorum: with
        ``result_hash`` when it leads with more than f attestations, else the base model."""
        call = self.ledger.functions.closeRound(task_id, round_, result_hash)
        return self._tx.send(call, key=f"close-round:{task_id}:{round_}", headroom=FINALIZING_GAS)

    def round(self, task_id: int, round_: int) -> RoundInfo:
        """The stored state of a federation round."""
        v = self._read(self.ledger.functions.getRound(task_id, round_))
        return _stored(RoundInfo, self._outputs("getRound"), v, task_id=task_id, round=round_)

    def round_deadlines(self, task_id: int, round_: int) -> tuple[int, int, int, int]:
        """(submissions close, scoring close, extended scoring close, attestation close) of a
        round as the contract computes them now."""
        values = self._read(self.ledger.functions.roundDeadlines(task_id, round_))
        return (int(values[0]), int(values[1]), int(values[2]), int(values[3]))

    def proposal(self, task_id: int, round_: int, result_hash: bytes) -> tuple[str, int]:
        """(proposer, attestations) of a proposed result; zero address when never proposed."""
        proposer, attestations = self._read(
            self.ledger.functions.getProposal(task_id, round_, result_hash)
        )
        return str(proposer), int(attestations)

    # -- helpers -------------------------------------------------------------------------
    def _outputs(self, function: str) -> list[dict[str, Any]]:
        """The components of a ledger function's (single, tuple) output, from the ABI."""
        for entry in self.ledger.abi:
            if entry.get("type") == "function" and entry.get("name") == function:
                outputs: Any = entry["outputs"][0]["components"]  # type: ignore[typeddict-item]
                return [dict(c) for c in outputs]
        raise ChainError(f"the ledger ABI has no function {function}")

    @staticmethod
    def _read(call: ContractFunction, *, sender: str | None = None) -> Any:
        """Run a view call (from ``sender`` if given); a revert raises the contract's typed
        error."""
        try:
            return call.call({"from": sender}) if sender is not None else call.call()
        except NodeUnreachableError:  # says which node, and callers wait it out by its type
            raise
        except Exception as exc:
            data = revert_data(exc)
            if data is None:
                raise ChainError(f"reading {call.fn_name} failed: {exc}") from exc
            raise decode_revert(data) from exc

    def _task_id_from(self, receipt: TxReceipt) -> int:
        events = self.ledger.events.TaskPublished().process_receipt(receipt)
        if len(events) != 1:
            raise ChainError("publication receipt has no TaskPublished event")
        return int(events[0]["args"]["taskId"])


def _stored(
    state: Callable[..., T], outputs: list[dict[str, Any]], values: Sequence[Any], **known: object
) -> T:
    """A stored state from a view's named outputs: each ABI component sets the field of its
    snake_case name (bytes32 as bytes, an enum field as its enum); ``known`` gives the fields
    the view does not return (the task id...)."""
    hints = get_type_hints(state)
    fields = dict(known)
    for component, value in zip(outputs, values, strict=True):
        name = snake_case(str(component["name"]))
        kind = hints[name]
        if kind is bytes:
            value = bytes(value)
        elif isinstance(kind, type) and issubclass(kind, IntEnum):
            value = kind(value)
        fields[name] = value
    return state(**fields)
