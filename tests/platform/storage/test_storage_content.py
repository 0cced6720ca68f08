"""sha256 helpers and the capped file reader."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ledgerlearn.errors import ContentHashMismatchError, ContentTooLargeError
from ledgerlearn.storage.content import (
    check_sha256_digest,
    read_capped,
    sha256_digest,
    verify_sha256,
)


def test_sha256_digest_is_raw_32_bytes() -> None:
    assert sha256_digest(b"abc") == hashlib.sha256(b"abc").digest()
    assert len(sha256_digest(b"")) == 32


def test_verify_sha256_accepts_matching_and_rejects_other() -> None:
    verify_sha256(b"abc", hashlib.sha256(b"abc").digest())
    with pytest.raises(ContentHashMismatchError, match="expected"):
        verify_sha256(b"abd", hashlib.sha256(b"abc").digest(), label="Qmx")


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33])
def test_check_sha256_digest_rejects_wrong_length(bad: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        check_sha256_digest(bad)


def test_check_sha256_digest_rejects_hex_strings() -> None:
    with pytest.raises(TypeError):
        check_sha256_digest("ab" * 32)  # type: ignore[arg-type]


def test_read_capped_reads_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_capped(path, 10) == b"x" * 10
    with pytest.raises(ContentTooLargeError, match="10 bytes"):
        read_capped(path, 9)
