"""Contract events as a stream with a local checkpoint.

An agent polls :class:`EventStream` for the events since its checkpoint, processes them, then
commits the batch; the checkpoint (block number and block hash, plus the chain's identity) is
written atomically to a file. Before every poll the stream checks that the chain under the
checkpoint is still the same: a chain that was reset (no code at the ledger address, another
genesis) raises :class:`~ledgerlearn.errors.ChainResetError`, one that was rolled back (the
checkpointed block hash is no longer on the chain) raises
:class:`~ledgerlearn.errors.ChainReorgError` — never a silent reprocessing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound

from ledgerlearn import strict_json
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.errors import ChainError, ChainReorgError, ChainResetError


@dataclass(frozen=True)
class LedgerEvent:
    """One decoded contract event; ``args`` use snake_case names."""

    name: str
    contract: str
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    log_index: int
    args: dict[str, Any]

    @property
    def position(self) -> tuple[int, int]:
        """On-chain order: (block number, log index)."""
        return (self.block_number, self.log_index)


@dataclass(frozen=True)
class Checkpoint:
    """The last block whose events were processed, and the chain it belongs to."""

    chain_id: int
    genesis_hash: str
    ledger: str
    block_number: int
    block_hash: str


@dataclass(frozen=True)
class EventBatch:
    """Events of the blocks up to ``to_block`` (inclusive), in on-chain order."""

    events: list[LedgerEvent]
    to_block: int
    to_hash: str

    def __iter__(self) -> Iterator[LedgerEvent]:
        return iter(self.events)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _plain(value: Any) -> Any:
    """Event values as plain Python: bytes, str, int, lists and snake_case dicts."""
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, Mapping):
        return {_snake(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class EventStream:
    """Events of the consortium's contracts since a checkpoint.

    Parameters
    ----------
    client
        Client of the deployment to follow.
    checkpoint_file
        Where the checkpoint is kept; None keeps it in memory only.
    start_block
        First block to read when there is no checkpoint yet (default: the deployment block).
    max_range
        Most blocks fetched in one poll.
    """

    def __init__(
        self,
        client: LedgerClient,
        checkpoint_file: Path | None = None,
        *,
        start_block: int | None = None,
        max_range: int = 5000,
    ) -> None:
        self.client = client
        self.checkpoint_file = checkpoint_file
        self.max_range = max_range
        self._start_block = client.deployment.block_number if start_block is None else start_block
        # (contract address, topic) -> decoder: contracts may share an event's signature
        # (a token's Transfer) with other layouts.
        self._decoders: dict[tuple[str, bytes], tuple[str, Contract, str]] = {}
        contracts: list[tuple[str, Contract]] = [
            ("Consortium", client.consortium),
            ("LearningLedger", client.ledger),
        ]
        # A consortium deployment's satellites (the reward token's transfers are not the
        # consortium's events: the escrow's are).
        contracts += [
            (name, client.satellite(name))
            for name in client.deployment.satellites()
            if name != "TestToken"
        ]
        self._addresses = [Web3.to_checksum_address(str(c.address)) for _, c in contracts]
        for contract_name, contract in contracts:
            for item in contract.abi:
                if item["type"] == "event":
                    topic = event_abi_to_log_topic(item)
                    key = (str(contract.address).lower(), topic)
                    self._decoders[key] = (contract_name, contract, item["name"])
        self._checkpoint = self._load()
        self._genesis: str | None = None  # the chain's genesis hash, as last verified

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The committed checkpoint, None before the first commit."""
        return self._checkpoint

    def verify(self) -> None:
        """Check the chain under the checkpoint is unchanged.

        Raises
        ------
        ChainResetError
            No code at the ledger address, or another genesis / chain id.
        ChainReorgError
            The checkpointed block hash is no longer on the chain (a rollback).
        """
        chain = self.client.chain
        deployment = self.client.deployment
        if len(chain.w3.eth.get_code(deployment.ledger)) == 0:  # type: ignore[arg-type]
            raise ChainResetError(
                f"no contract code at {deployment.ledger}: the chain was reset; "
                "refusing to process an empty chain"
            )
        genesis = "0x" + chain.genesis_hash().hex()
        self._genesis = genesis
        cp = self._checkpoint
        if cp is None:
            return
        if cp.chain_id != chain.chain_id or cp.genesis_hash != genesis:
            raise ChainResetError(
                f"checkpoint is for chain {cp.chain_id} with genesis {cp.genesis_hash}, "
                f"the node serves chain {chain.chain_id} with genesis {genesis}: it was reset"
            )
        try:
            found = "0x" + bytes(chain.w3.eth.get_block(cp.block_number)["hash"]).hex()
        except BlockNotFound:
            found = "none (the chain is shorter now)"
        if found != cp.block_hash:
            raise ChainReorgError(
                f"checkpoint block {cp.block_number} had hash {cp.block_hash}, the chain now has "
                f"{found}: it was rolled back; events after the common ancestor must be replayed"
            )

    def poll(self, *, verify: bool = True) -> EventBatch:
        """Events since the checkpoint up to the chain head (at most ``max_range`` blocks).

        ``verify=False`` skips the reset/rollback check (three extra calls) for a caller that
        checks every so often rather than at every poll.
        """
        if verify:
            self.verify()
        w3 = self.client.chain.w3
        first = self._checkpoint.block_number + 1 if self._checkpoint else self._start_block
        head = int(w3.eth.block_number)
        last = min(head, first + self.max_range - 1)
        if last < first:
            cp = self._checkpoint
            hash_hex = cp.block_hash if cp else "0x" + bytes(w3.eth.get_block(last)["hash"]).hex()
            return EventBatch([], last, hash_hex)
        logs = w3.eth.get_logs(
            {
                "address": self._addresses,
                "fromBlock": first,
                "toBlock": last,
            }
        )
        decoded = (self._decode(log) for log in logs)
        events = [e for e in decoded if e is not None]
        events.sort(key=lambda e: e.position)
        last_hash = "0x" + bytes(w3.eth.get_block(last)["hash"]).hex()
        return EventBatch(events, last, last_hash)

    def commit(self, batch: EventBatch) -> None:
        """Record that every event of ``batch`` was processed."""
        chain = self.client.chain
        if self._genesis is None:
            self._genesis = "0x" + chain.genesis_hash().hex()
        self._checkpoint = Checkpoint(
            chain_id=chain.chain_id,
            genesis_hash=self._genesis,  # as last verified: a reset is caught by verify()
            ledger=self.client.deployment.ledger,
            block_number=batch.to_block,
            block_hash=batch.to_hash,
        )
        if self.checkpoint_file is not None:
            self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
            strict_json.write_file(self.checkpoint_file, asdict(self._checkpoint))

    def _load(self) -> Checkpoint | None:
        if self.checkpoint_file is None or not self.checkpoint_file.exists():
            return None
        try:
            return Checkpoint(**strict_json.load_file(self.checkpoint_file))
        except (TypeError, ValueError) as exc:
            raise ChainError(f"checkpoint file {self.checkpoint_file} is damaged: {exc}") from exc

    def _decode(self, log: Any) -> LedgerEvent | None:
        topics = log["topics"]
        if not topics:
            return None
        found = self._decoders.get((str(log["address"]).lower(), bytes(topics[0])))
        if found is None:
            return None
        contract_name, contract, event_name = found
        decoded = contract.events[event_name]().process_log(log)
        return LedgerEvent(
            name=event_name,
            contract=contract_name,
            block_number=int(log["blockNumber"]),
            block_hash=bytes(log["blockHash"]),
            tx_hash=bytes(log["transactionHash"]),
            log_index=int(log["logIndex"]),
            args=_plain(decoded["args"]),
        )
