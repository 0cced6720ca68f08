"""Turn a reverted call or transaction into a typed :class:`~ledgerlearn.errors.ContractError`.

Backends report reverts differently: web3 raises ``ContractCustomError``/``ContractLogicError``
with hex ``data`` (JSON-RPC nodes such as anvil), eth-tester raises ``TransactionFailed`` with
the revert bytes in its message. Both end here as the generated class of the custom error.
"""

from __future__ import annotations

import ast
import re

from eth_abi.abi import decode
from eth_utils.address import to_checksum_address

from ledgerlearn.chain.contract_errors import ERRORS_BY_SELECTOR
from ledgerlearn.errors import ContractError

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)
_BYTES_LITERAL = re.compile(r"execution reverted: (b(['\"]).*\2)$", re.DOTALL)
_HEX = re.compile(r"0x[0-9a-fA-F]*")


class ContractRevert(ContractError):
    """A revert with a plain reason string (``Error(string)``) or no data at all."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"reverted: {reason}" if reason else "reverted without a reason")


class ContractPanic(ContractError):
    """A Solidity panic (assertion, arithmetic overflow, invalid enum value, ...)."""

    def __init__(self, code: int) -> None:
        self.code = code
        super().__init__(f"panic 0x{code:02x}")


def decode_revert(data: bytes) -> ContractError:
    """Decode revert data into the matching typed error.

    Parameters
    ----------
    data
        The revert data: a 4-byte selector followed by ABI-encoded arguments.
    """
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        return ContractRevert(str(decode(["string"], body)[0]))
    if selector == _PANIC:
        return ContractPanic(int(decode(["uint256"], body)[0]))
    error_type = ERRORS_BY_SELECTOR.get(selector)
    if error_type is None:
        return ContractRevert(f"unknown error data 0x{data.hex()}" if data else "")
    values = decode(list(error_type.abi_types), body)
    shown = [
        to_checksum_address(v) if t == "address" else v
        for t, v in zip(error_type.abi_types, values, strict=True)
    ]
    return error_type(*shown)


def revert_data(exc: BaseException) -> bytes | None:
    """The revert data carried by an exception of web3 or eth-tester, or None if it has none."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and _HEX.fullmatch(data):
        return bytes.fromhex(data[2:])
    if isinstance(data, bytes):
        return data
    if type(exc).__name__ == "TransactionFailed" and exc.args:
        message = exc.args[0]
        if isinstance(message, bytes):
            return message
        match = _BYTES_LITERAL.search(str(message))
        if match:
            literal = ast.literal_eval(match.group(1))  # a bytes literal only: no code runs
            if isinstance(literal, bytes):
                return literal
        if str(message).strip() == "execution reverted":
            return b""
    return None
