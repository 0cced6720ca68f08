"""Content hashes and size limits: the checks every fetched byte string goes through.

The ledger stores the sha256 of the content (bytes32) next to its CID. A CID alone only
binds the bytes to whoever computed the CID, so fetched content is always re-hashed and
compared with the on-chain value. Files are never read past the allowed maximum size.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from ledgerlearn.errors import ContentHashMismatchError, ContentTooLargeError

__all__ = ["SHA256_SIZE", "check_sha256_digest", "read_capped", "sha256_digest", "verify_sha256"]

#: Length in bytes of a sha256 digest (a Solidity ``bytes32``).
SHA256_SIZE = 32


def sha256_digest(data: bytes) -> bytes:
    """Return the 32-byte sha256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def check_sha256_digest(digest: bytes) -> bytes:
    """Validate that ``digest`` is a raw 32-byte sha256 digest and return it.

    Raises
    ------
    TypeError
        If ``digest`` is not bytes (e.g. a hex string).
    ValueError
        If it does not have 32 bytes.
    """
    if not isinstance(digest, bytes | bytearray | memoryview):
        raise TypeError(f"expected sha256 must be bytes, got {type(digest).__name__}")
    raw = bytes(digest)
    if len(raw) != SHA256_SIZE:
        raise ValueError(f"expected sha256 must have {SHA256_SIZE} bytes, got {len(raw)}")
    return raw


def verify_sha256(data: bytes, expected: bytes, *, label: str = "content") -> None:
    """Raise unless ``sha256(data) == expected``.

    Parameters
    ----------
    data
        The fetched bytes.
    expected
        The expected 32-byte digest (e.g. the on-chain content hash).
    label
        Names the content in the error message (e.g. its CID).

    Raises
    ------
    ContentHashMismatchError
        If the digests differ.
    """
    actual = sha256_digest(data)
    if not hmac.compare_digest(actual, check_sha256_digest(expected)):
        raise ContentHashMismatchError(
            f"sha256 of {label} is {actual.hex()}, expected {bytes(expected).hex()}"
        )


def read_capped(path: Path, max_bytes: int, *, label: str = "content") -> bytes:
    """Read a whole file, never holding more than ``max_bytes`` (+1) bytes in memory.

    Raises
    ------
    ContentTooLargeError
        If the file has more than ``max_bytes`` bytes.
    """
    if max_bytes <= 0:
        raise ValueError(f"max_bytes must be positive, got {max_bytes}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ContentTooLargeError(f"{label} has {size} bytes, more than the maximum {max_bytes}")
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # the file grew after stat
        raise ContentTooLargeError(f"{label} has more than the maximum {max_bytes} bytes")
    return data
