"""Revert data from either backend decodes to the typed error."""

from __future__ import annotations

from eth_abi import encode

from ledgerlearn.chain import contract_errors as ce
from ledgerlearn.chain.revert import ContractPanic, ContractRevert, decode_revert, revert_data


class TransactionFailed(Exception):
    """Stand-in named like eth-tester's exception (its message format is what is parsed)."""


def test_custom_error_roundtrip() -> None:
    data = ce.UpdateLedgerAlreadyScored.selector + encode(
        ["uint256", "bytes32", "address"], [7, b"\x01" * 32, "0x" + "ab" * 20]
    )
    error = decode_revert(data)
    assert isinstance(error, ce.UpdateLedgerAlreadyScored)
    assert error.task_id == 7 and error.update == b"\x01" * 32
    assert error.validator == "0x" + "aB" * 20 or error.validator.lower() == "0x" + "ab" * 20
    assert "already scored" in str(error)


def test_plain_reverts_and_panics() -> None:
    assert isinstance(decode_revert(b""), ContractRevert)
    reason = decode_revert(bytes.fromhex("08c379a0") + encode(["string"], ["nope"]))
    assert isinstance(reason, ContractRevert) and reason.reason == "nope"
    panic = decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]))
    assert isinstance(panic, ContractPanic) and panic.code == 0x11
    unknown = decode_revert(b"\xde\xad\xbe\xef")
    assert isinstance(unknown, ContractRevert) and "deadbeef" in str(unknown)


def test_revert_data_from_exceptions() -> None:
    class WithData(Exception):
        data = "0x1234"

    assert revert_data(WithData()) == b"\x12\x34"
    assert revert_data(TransactionFailed("execution reverted: b'\\x12\\x34'")) == b"\x12\x34"
    assert revert_data(TransactionFailed("execution reverted")) == b""
    assert revert_data(ValueError("boom")) is None
    # the literal parser only accepts a bytes literal: anything else yields no data
    assert revert_data(TransactionFailed("execution reverted: b'x' + __import__('os')")) is None
