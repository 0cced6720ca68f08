"""The chain behind one settings switch: the in-process EVM or a JSON-RPC node.

``embedded``: eth-tester with py-evm in this process (no node, no network); every agent of a
simulation shares one :class:`Chain`. ``rpc``: any JSON-RPC node, e.g. the local anvil devnet
(which can also fund accounts and mine blocks on request) or a permissioned network.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import requests
from eth_tester import EthereumTester, PyEVMBackend
from web3 import HTTPProvider, Web3
from web3.providers.eth_tester import EthereumTesterProvider
from web3.types import RPCEndpoint, RPCResponse

from ledgerlearn.config import ChainSettings
from ledgerlearn.errors import ChainError, NodeUnreachableError


@dataclass
class Chain:
    """A connection to an EVM chain, with the devnet conveniences the backend supports."""

    w3: Web3
    kind: str
    tester: EthereumTester | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    _chain_id: int | None = field(default=None, repr=False)

    @property
    def chain_id(self) -> int:
        """Chain id (part of every signature); read once, a node's chain id does not change
        (a transaction can then be signed while the node does not answer, kept in the outbox
        and sent when it is back)."""
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def genesis_hash(self) -> bytes:
        """Hash of block 0: tells one chain from a reset one."""
        return bytes(self.w3.eth.get_block(0)["hash"])

    def fund(self, address: str, wei: int) -> None:
        """Give ``address`` a balance of at least ``wei`` (devnets only)."""
        address = Web3.to_checksum_address(address)
        if self.tester is not None:
            with self.lock:
                faucet = self.tester.get_accounts()[0]
                self.tester.send_transaction(
                    {"from": faucet, "to": address, "value": wei, "gas": 21000}
                )
            return
        try:
            self.w3.provider.make_request("anvil_setBalance", [address, hex(wei)])  # type: ignore[arg-type]
        except Exception as exc:
            raise ChainError(
                f"cannot fund {address}: this node has no faucet (fund accounts out of band)"
            ) from exc

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks (devnets only): lets deadlines pass in tests and demos."""
        if blocks <= 0:
            return
        if self.tester is not None:
            with self.lock:
                self.tester.mine_blocks(blocks)
            return
        response = self.w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"this node cannot mine on request: {response['error']}")

    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock ``seconds`` forward and mine a block (devnets only): lets a
        timelock's delay pass in tests and demos."""
        if self.tester is not None:
            with self.lock:
                latest = int(self.tester.get_block_by_number("latest")["timestamp"])
                self.tester.time_travel(latest + seconds)
            return
        for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
            if "error" in response:
                raise ChainError(f"this node cannot move its clock: {response['error']}")

    def set_block_time(self, seconds: float) -> None:
        """Mine a block every ``seconds`` instead of one per transaction (anvil only)."""
        interval = max(1, round(seconds))  # anvil takes whole seconds
        for method, params in (("evm_setAutomine", [False]), ("evm_setIntervalMining", [interval])):
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
            if "error" in response:
                raise ChainError(f"this node cannot change its block time: {response['error']}")


class NodeProvider(HTTPProvider):
    """web3's HTTP provider, with a node that does not answer raised as
    :class:`~ledgerlearn.errors.NodeUnreachableError` naming the node (instead of the
    transport's exception), so that callers can tell an outage from a refusal."""

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        try:
            return super().make_request(method, params)
        except (requests.ConnectionError, requests.Timeout) as exc:
            kind = "timed out" if isinstance(exc, requests.Timeout) else "no connection"
            raise NodeUnreachableError(
                f"the chain node at {self.endpoint_uri} does not answer ({kind})"
            ) from exc


def connect(settings: ChainSettings) -> Chain:
    """Open the chain the settings name."""
    if settings.backend == "embedded":
        tester = EthereumTester(PyEVMBackend())
        return Chain(Web3(EthereumTesterProvider(tester)), "embedded", tester)
    provider = NodeProvider(
        settings.rpc_url,
        request_kwargs={"timeout": settings.rpc_timeout_s},
    )
    w3 = Web3(provider)
    try:
        answers = w3.is_connected()
    except NodeUnreachableError:
        answers = False
    if not answers:
        raise ChainError(
            f"no JSON-RPC node answers at {settings.rpc_url}: start the local devnet with "
            "`ledgerlearn devnet up` (or give --rpc / LEDGERLEARN_CHAIN__RPC_URL your node's URL)"
        )
    return Chain(w3, "rpc")
