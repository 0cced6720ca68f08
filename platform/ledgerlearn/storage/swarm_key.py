"""The consortium's private swarm key: kubo's private network ("pnet").

A kubo node whose repository holds a ``swarm.key`` file encrypts every libp2p connection with
that pre-shared key and refuses peers without it: a node that learned a member's address but
not the key can neither connect nor fetch. The file's format is kubo's (and go-libp2p's)::

    /key/swarm/psk/1.0.0/
    /base16/
    <64 hex digits: 32 random bytes>

The key is a secret shared by the consortium's members: it is written with mode 0600, never
logged (a short fingerprint is), never passed on a command line (the fetch worker finds it in
its own repository, written there by its parent).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import ecies
from eth_utils.crypto import keccak

from ledgerlearn.errors import StorageError

__all__ = ["SWARM_KEY_FILE", "SwarmKey", "install_swarm_key", "installed_swarm_key"]

SWARM_KEY_FILE = "swarm.key"
"""Where kubo looks for the key, in its repository."""

_HEADER = ("/key/swarm/psk/1.0.0/", "/base16/")
_KEY_BYTES = 32


@dataclass(frozen=True)
class SwarmKey:
    """A private swarm's pre-shared key (32 bytes)."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) != _KEY_BYTES:
            raise ValueError(f"a swarm key is {_KEY_BYTES} bytes, not {len(self.secret)}")

    def __repr__(self) -> str:  # never the secret
        return f"SwarmKey(fingerprint={self.fingerprint})"

    @classmethod
    def generate(cls) -> SwarmKey:
        """A new random key (for a new consortium)."""
        return cls(secrets.token_bytes(_KEY_BYTES))

    @classmethod
    def parse(cls, text: str) -> SwarmKey:
        """Read kubo's ``swarm.key`` format.

        Raises
        ------
        ValueError
            Naming what is wrong (the header, the encoding, the length).
        """
        lines = [line.strip() for line in text.strip().splitlines()]
        if len(lines) != 3 or tuple(lines[:2]) != _HEADER:
            raise ValueError(
                "not a swarm key: expected the lines /key/swarm/psk/1.0.0/, /base16/ and 64 "
                "hex digits"
            )
        digits = lines[2]
        if len(digits) != 2 * _KEY_BYTES:
            raise ValueError(f"a swarm key has {2 * _KEY_BYTES} hex digits, not {len(digits)}")
        try:
            return cls(bytes.fromhex(digits))
        except ValueError:
            raise ValueError("a swarm key's third line must be hex digits") from None

    @classmethod
    def load(cls, path: Path) -> SwarmKey:
        """Read a key file.

        Raises
        ------
        StorageError
            The file cannot be read or is not a swarm key (the message names the file).
        """
        try:
            return cls.parse(path.read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise StorageError(f"cannot read the swarm key {path}: {exc}") from exc
        except ValueError as exc:
            raise StorageError(f"{path}: {exc}") from exc

    def render(self) -> str:
        """The key in kubo's file format."""
        return "\n".join([*_HEADER, self.secret.hex()]) + "\n"

    @property
    def fingerprint(self) -> str:
        """A short, non-secret name of the key, for logs and checks (sha256 prefix)."""
        return hashlib.sha256(b"ledgerlearn swarm key " + self.secret).hexdigest()[:12]

    @property
    def key_hash(self) -> bytes:
        """keccak256 of the key: recorded on chain for each key epoch (SwarmKeys), so a member
        checks that the share it decrypted is the consortium's key. Not a secret (the key is 32
        random bytes)."""
        return keccak(self.secret)

    def seal(self, public_key: bytes) -> bytes:
        """The key encrypted to a member's registered secp256k1 public key (ECIES, 129 bytes):
        its share of a new key epoch, posted on chain."""
        return bytes(ecies.encrypt(public_key, self.secret))

    @classmethod
    def unseal(cls, share: bytes, private_key: bytes, key_hash: bytes) -> SwarmKey:
        """Decrypt this member's share of a key epoch and check it against the epoch's hash.

        Raises
        ------
        ValueError
            The share does not decrypt with this key, or decrypts to another key than the one
            the epoch's hash names (a rotator that gave members different keys).
        """
        try:
            key = cls(ecies.decrypt(private_key, share))
        except Exception as exc:  # eciespy raises several kinds for a corrupt share
            raise ValueError(f"the share does not decrypt with this member's key ({exc})") from None
        if key.key_hash != key_hash:
            raise ValueError("the share decrypts to another key than the epoch's hash names")
        return key

    def write(self, path: Path) -> None:
        """Write the key file whole, readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(self.render())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


def install_swarm_key(repo: Path, key: SwarmKey | None) -> None:
    """Make ``repo``'s node join ``key``'s private swarm, or the open one (``None``: any
    ``swarm.key`` left there is removed, so the repository says what its settings say)."""
    path = repo / SWARM_KEY_FILE
    try:
        if key is None:
            path.unlink(missing_ok=True)
        else:
            key.write(path)
    except OSError as exc:
        raise StorageError(f"cannot set the swarm key of {repo}: {exc}") from exc


def installed_swarm_key(repo: Path) -> SwarmKey | None:
    """The key in ``repo`` (None: an open swarm)."""
    path = repo / SWARM_KEY_FILE
    return SwarmKey.load(path) if path.exists() else None
