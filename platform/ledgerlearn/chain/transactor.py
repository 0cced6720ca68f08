"""Sending transactions signed locally with a participant's own key.

Every transaction is estimated first (a revert surfaces as the contract's typed error before
anything is sent), signed with the participant's key, sent raw and awaited. The node never
holds a key. Nonces are tracked locally so a participant can send quickly; they are re-read
from the node after any failure.
"""

from __future__ import annotations

import time

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import TimeExhausted, TransactionNotFound
from web3.types import Nonce, TxParams, TxReceipt, Wei

from ledgerlearn.chain.backend import Chain
from ledgerlearn.chain.outbox import Outbox, OutboxEntry
from ledgerlearn.chain.revert import decode_revert, revert_data
from ledgerlearn.errors import ChainError, NodeUnreachableError
from ledgerlearn.faults import crash_point

GAS_MARGIN = 1.25
"""Estimated gas is multiplied by this: state can change between estimate and inclusion."""

EMBEDDED_GAS_LIMIT = 8_000_000
"""Gas limit of calls on the in-process EVM, where py-evm's estimator (a binary search over
a dozen executions) would dominate: a single ``eth_call`` checks the call instead, and only
the gas used is charged."""


class Transactor:
    """Signs and sends the transactions of one account."""

    def __init__(
        self,
        chain: Chain,
        account: LocalAccount,
        *,
        timeout_s: float = 60.0,
        outbox: Outbox | None = None,
    ) -> None:
        self.chain = chain
        self.account = account
        self.timeout_s = timeout_s
        self.outbox = outbox
        self._recovered = outbox is None
        self._nonce: int | None = None
        self._fees: tuple[float, tuple[int, int]] | None = None

    @property
    def address(self) -> str:
        """The sender's address."""
        return str(self.account.address)

    def send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        gas: int | None = None,
        key: str | None = None,
        headroom: int = 0,
    ) -> TxReceipt:
        """Send ``call`` as a transaction and return its receipt (see :meth:`_send`)."""
        receipt = self._send(call, gas=gas, key=key, headroom=headroom, wait=True)
        assert receipt is not None
        return receipt

    def broadcast(self, call: ContractFunction, *, key: str, headroom: int = 0) -> None:
        """Sign and broadcast ``call`` for the intent ``key`` without waiting for it to be
        mined; :meth:`intent_status` tells later how it went. A revert found when the gas is
        estimated is still raised here."""
        self._send(call, gas=None, key=key, headroom=headroom, wait=False)

    def _send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        gas: int | None,
        key: str | None,
        headroom: int,
        wait: bool,
    ) -> TxReceipt | None:
        """Send ``call`` as a transaction; its receipt, or ``None`` without ``wait``.

        With an outbox and an intent ``key``, the signed transaction is written to the outbox
        before it is broadcast, and a later ``send`` with the same key (e.g. after a restart)
        re-broadcasts that same transaction instead of signing a new one. ``headroom`` is gas
        added to the estimate where other transactions may make this one dearer before it is
        mined (a score that becomes the deciding one, an attestation that finalizes a round).

        Raises
        ------
        ContractError
            The typed custom error when the call reverts (at estimation or once mined).
        ChainError
            When the node refuses the transaction or no receipt arrives in time.
        """
        w3 = self.chain.w3
        if self.outbox is not None and not self._recovered:
            self._recover()
        if key is not None and self.outbox is not None:
            entry = self.outbox.get(key)
            if entry is not None:
                receipt = self._receipt(entry)
                if receipt is None or receipt["status"] == 1:
                    return self._resume(call, entry, wait=wait)
                self.outbox.drop(key)  # it failed on chain: sign the intent anew below
        with self.chain.lock:
            if gas is None:
                gas = self._gas_for(call) + headroom
            max_fee, tip = self._fee_fields()
            params: TxParams = {
                "from": self.account.address,
                "nonce": Nonce(self._next_nonce()),
                "gas": gas,
                "chainId": self.chain.chain_id,
                "maxFeePerGas": Wei(max_fee),
                "maxPriorityFeePerGas": Wei(tip),
            }
            tx = call.build_transaction(params)
            signed = self.account.sign_transaction(dict(tx))  # type: ignore[arg-type]
            if key is not None and self.outbox is not None:
                self.outbox.record(
                    OutboxEntry(
                        key, int(tx["nonce"]), signed.hash.hex(), signed.raw_transaction.hex()
                    )
                )
            try:
                tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
            except NodeUnreachableError:
                # Sent or not, the outbox (with an intent key) re-broadcasts these very bytes.
                self._nonce = None
                raise
            except Exception as exc:
                self._nonce = None
                raise self._as_error(exc) from exc
            assert self._nonce is not None
            self._nonce += 1
        crash_point("transactor:after_broadcast")
        return self._await(call, tx_hash) if wait else None

    def recover(self) -> None:
        """Re-broadcast the outbox's transactions not yet mined (e.g. at a restart, before
        anything else is sent); a no-op without an outbox or once done."""
        if self.outbox is not None and not self._recovered:
            self._recover()

    def intent_status(self, key: str) -> str:
        """``"unknown"`` (no transaction for ``key`` in the outbox), ``"pending"`` (not mined
        yet), ``"mined"`` or ``"failed"`` (reverted once mined)."""
        entry = None if self.outbox is None else self.outbox.get(key)
        if entry is None:
            return "unknown"
        receipt = self._receipt(entry)
        if receipt is None:
            return "pending"
        return "mined" if receipt["status"] == 1 else "failed"

    def _await(self, call: ContractFunction | ContractConstructor, tx_hash: bytes) -> TxReceipt:
        try:
            receipt = self.chain.w3.eth.wait_for_transaction_receipt(
                HexBytes(tx_hash), timeout=self.timeout_s, poll_latency=0.05
            )
        except TimeExhausted as exc:
            self._nonce = None
            raise ChainError(f"no receipt for {tx_hash.hex()} within {self.timeout_s} s") from exc
        if receipt["status"] != 1:
            raise self._replay_failure(call, receipt)
        return receipt

    def _broadcast(self, entry: OutboxEntry) -> None:
        """Send an outbox entry's signed bytes again; 'already known' is fine."""
        try:
            self.chain.w3.eth.send_raw_transaction(HexBytes(entry.raw))
        except Exception as exc:  # the node already has it (pending: a broadcast a moment
            # ago, e.g. the restart's recovery), or it was mined
            pooled = "already" in str(exc).lower() and self._known(entry)  # "already imported"
            if (
                self._receipt(entry) is None
                and self._confirmed_nonce() <= entry.nonce
                and not pooled
            ):
                raise ChainError(f"cannot re-broadcast {entry.key}: {exc}") from exc

    def _known(self, entry: OutboxEntry) -> bool:
        """Whether the node holds the transaction (in its pool or mined)."""
        try:
            self.chain.w3.eth.get_transaction(HexBytes(entry.tx_hash))
        except TransactionNotFound:
            return False
        return True

    def _resume(
        self, call: ContractFunction | ContractConstructor, entry: OutboxEntry, *, wait: bool
    ) -> TxReceipt | None:
        """The outcome of the transaction already signed for ``entry.key``."""
        # The nonce is read before the receipt: a transaction mined between the two reads shows
        # its receipt instead of looking replaced (a node mining on an interval, or a restarted
        # agent's recovery broadcast just mined).
        confirmed = self._confirmed_nonce()
        if self._receipt(entry) is None:
            if confirmed > entry.nonce:
                raise ChainError(
                    f"the transaction for {entry.key} (nonce {entry.nonce}) was replaced"
                )
            self._broadcast(entry)
        return self._await(call, HexBytes(entry.tx_hash)) if wait else None

    def _recover(self) -> None:
        """After a restart: re-broadcast outbox transactions not yet mined, in nonce order."""
        assert self.outbox is not None
        confirmed = self._confirmed_nonce()
        for entry in self.outbox.entries():
            if entry.nonce >= confirmed and self._receipt(entry) is None:
                self._broadcast(entry)
        self._nonce = None
        self._recovered = True

    def _receipt(self, entry: OutboxEntry) -> TxReceipt | None:
        try:
            return self.chain.w3.eth.get_transaction_receipt(HexBytes(entry.tx_hash))
        except TransactionNotFound:
            return None

    def _confirmed_nonce(self) -> int:
        return int(self.chain.w3.eth.get_transaction_count(self.account.address, "latest"))

    def _gas_for(self, call: ContractFunction | ContractConstructor) -> int:
        """Gas limit for ``call``; raises the typed error when the call would revert."""
        try:
            # Checked against the pending block, where the transaction will be mined (a reveal
            # must come a block after its commitment; on "latest" it would look too early).
            if self.chain.tester is not None:
                if isinstance(call, ContractFunction):
                    call.call({"from": self.address}, block_identifier="pending")
                    return EMBEDDED_GAS_LIMIT
                return int(call.estimate_gas({"from": self.address}) * GAS_MARGIN)
            return int(
                call.estimate_gas({"from": self.address}, block_identifier="pending") * GAS_MARGIN
            )
        except NodeUnreachableError:
            raise
        except Exception as exc:
            raise self._as_error(exc) from exc

    def _next_nonce(self) -> int:
        if self._nonce is None:
            count = self.chain.w3.eth.get_transaction_count(self.account.address, "pending")
            self._nonce = int(count)
        return self._nonce

    def _fee_fields(self) -> tuple[int, int]:
        """(max fee, priority fee) per gas, refreshed from the latest block every 5 s."""
        now = time.monotonic()
        if self._fees is None or now - self._fees[0] > 5.0:
            block = self.chain.w3.eth.get_block("latest")
            base = int(block.get("baseFeePerGas", 0) or 0)
            tip = 1_000_000_000
            self._fees = (now, (2 * base + tip, tip))
        return self._fees[1]

    def _replay_failure(
        self, call: ContractFunction | ContractConstructor, receipt: TxReceipt
    ) -> Exception:
        """Re-run a mined failed transaction as a call to learn its revert reason."""
        tx_hash = receipt["transactionHash"].hex()
        sent = self.chain.w3.eth.get_transaction(receipt["transactionHash"])
        if receipt["gasUsed"] >= sent["gas"]:
            return ChainError(f"transaction {tx_hash} ran out of gas ({receipt['gasUsed']})")
        if isinstance(call, ContractConstructor):
            return ChainError(f"deployment {tx_hash} failed")
        try:
            # Re-run on the state of the block that included it: the failed transaction changed
            # nothing but the nonce, and block.number is that of the failure (deadlines!).
            call.call({"from": self.address}, block_identifier=receipt["blockNumber"])
        except Exception as exc:
            return self._as_error(exc)
        return ChainError(f"transaction {receipt['transactionHash'].hex()} failed (out of gas?)")

    @staticmethod
    def _as_error(exc: BaseException) -> Exception:
        data = revert_data(exc)
        if data is not None:
            return decode_revert(data)
        return ChainError(f"the node refused the transaction: {exc}")
