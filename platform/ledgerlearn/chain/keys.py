"""Participant keys: eth-account keystore files, never node-unlocked accounts."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn import strict_json
from ledgerlearn.addresses import AddressError, parse_address
from ledgerlearn.errors import ConfigError

PASSWORD_ENV = "LEDGERLEARN_AGENT__PASSWORD"  # noqa: S105 (the name of a variable)
PASSWORD_FILE_ENV = "LEDGERLEARN_AGENT__PASSWORD_FILE"  # noqa: S105 (the name of a variable)


def create_keystore(path: Path, password: str) -> LocalAccount:
    """Create a new key, write it encrypted to ``path`` (mode 0600) and return the account."""
    if path.exists():
        raise ConfigError(f"{path} exists: refusing to overwrite a keystore")
    account: LocalAccount = Account.create()
    keystore = Account.encrypt(account.key, password)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keystore, handle)
    return account


def _read(path: Path) -> Any:
    try:
        return strict_json.load_file(path)
    except FileNotFoundError as exc:
        raise ConfigError(f"no keystore at {path}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a folder, not a keystore file") from exc
    except ValueError as exc:
        raise ConfigError(f"{path} is not a keystore (not JSON)") from exc


def keystore_address(path: Path) -> str:
    """The checksummed address a keystore names (its ``address`` field; no password needed:
    :func:`load_keystore` checks the key matches)."""
    keystore = _read(path)
    found = keystore.get("address") if isinstance(keystore, dict) else None
    try:
        return parse_address("0x" + str(found).lower().removeprefix("0x"))
    except AddressError as exc:
        raise ConfigError(f"{path} names no address (not an eth-account keystore)") from exc


def read_password_file(path: Path) -> str:
    """The password kept in the file at ``path`` (e.g. a systemd credential): its content, less
    one trailing line break.

    Raises
    ------
    ConfigError
        The file cannot be read (one line naming it and why).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"cannot read the keystore password from {path} ({PASSWORD_FILE_ENV}): {reason}"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"the keystore password in {path} ({PASSWORD_FILE_ENV}) is not UTF-8 text"
        ) from None
    return text.removesuffix("\n").removesuffix("\r")


def load_keystore(path: Path, password: str | None = None) -> LocalAccount:
    """Decrypt the keystore at ``path``.

    The password is ``password``, else the environment variable ``LEDGERLEARN_AGENT__PASSWORD``,
    else the file ``LEDGERLEARN_AGENT__PASSWORD_FILE`` names (a systemd credential:
    ``LoadCredential=``), else asked for on the terminal.
    """
    keystore = _read(path)
    if password is None:
        password = os.environ.get(PASSWORD_ENV)
    if password is None and os.environ.get(PASSWORD_FILE_ENV):
        password = read_password_file(Path(os.environ[PASSWORD_FILE_ENV]))
    if password is None:
        if not sys.stdin.isatty():
            raise ConfigError(
                f"keystore {path} needs a password: set {PASSWORD_ENV} or {PASSWORD_FILE_ENV}"
            )
        password = getpass.getpass(f"password for {path}: ")
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        raise ConfigError(f"cannot decrypt {path}: wrong password or damaged keystore") from exc
    account: LocalAccount = Account.from_key(key)
    return account
