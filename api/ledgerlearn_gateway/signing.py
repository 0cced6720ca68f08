"""Signed requests: what a caller signs with its Ethereum key, and how the gateway checks it.

A write request carries four headers: the caller's address, a timestamp (Unix seconds), a
random 32-byte nonce and an EIP-712 signature over ``Request(method, path, bodyHash,
timestamp, nonce, audience)`` in the domain ``ledgerlearn-gateway`` / ``1`` / the chain id /
the LearningLedger's address. The path includes the query string exactly as sent; the body
hash is the keccak-256 of the raw body bytes; the audience is the gateway's id (``GET
/info``), so a request signed for one gateway is refused by every other gateway of the same
deployment. A signature made for another chain, another deployment, another gateway, another
method, path or body recovers another address and is refused.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from ledgerlearn.chain.client import EIP712_DOMAIN_TYPE

ADDRESS_HEADER = "X-Ledgerlearn-Address"
TIMESTAMP_HEADER = "X-Ledgerlearn-Timestamp"
NONCE_HEADER = "X-Ledgerlearn-Nonce"
SIGNATURE_HEADER = "X-Ledgerlearn-Signature"
HEADERS = (ADDRESS_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)

DOMAIN_NAME = "ledgerlearn-gateway"
DOMAIN_VERSION = "1"

REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": EIP712_DOMAIN_TYPE,
    "Request": [
        {"name": "method", "type": "string"},
        {"name": "path", "type": "string"},
        {"name": "bodyHash", "type": "bytes32"},
        {"name": "timestamp", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "audience", "type": "string"},
    ],
}


def body_hash(body: bytes) -> bytes:
    """The keccak-256 of a request body (what is signed)."""
    return keccak(body)


def request_typed_data(
    *,
    chain_id: int,
    ledger: str,
    audience: str,
    method: str,
    path: str,
    body_hash: bytes,
    timestamp: int,
    nonce: bytes,
) -> dict[str, Any]:
    """The EIP-712 typed data of one request (``body_hash``: see :func:`body_hash`)."""
    return {
        "types": REQUEST_TYPES,
        "primaryType": "Request",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": ledger,
        },
        "message": {
            "method": method.upper(),
            "path": path,
            "bodyHash": body_hash,
            "timestamp": timestamp,
            "nonce": nonce,
            "audience": audience,
        },
    }


def sign_request(
    account: LocalAccount,
    *,
    chain_id: int,
    ledger: str,
    audience: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | None = None,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """The headers of a request signed by ``account`` for the gateway ``audience`` (its id
    from ``GET /info``; ``path`` with its query string)."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_bytes(32) if nonce is None else nonce
    data = request_typed_data(
        chain_id=chain_id,
        ledger=ledger,
        audience=audience,
        method=method,
        path=path,
        body_hash=body_hash(body),
        timestamp=ts,
        nonce=nonce,
    )
    signed = Account.sign_message(encode_typed_data(full_message=data), account.key)
    return {
        ADDRESS_HEADER: account.address,
        TIMESTAMP_HEADER: str(ts),
        NONCE_HEADER: "0x" + nonce.hex(),
        SIGNATURE_HEADER: "0x" + bytes(signed.signature).hex(),
    }


def recover_signer(typed_data: dict[str, Any], signature: bytes) -> str:
    """The address that signed ``typed_data``; raises ``ValueError`` on a malformed signature."""
    try:
        return str(
            Account.recover_message(encode_typed_data(full_message=typed_data), signature=signature)
        )
    except Exception as exc:  # eth-keys raises several types for bad signatures
        raise ValueError(f"not a valid signature: {exc}") from exc
