"""Keystores: participants sign with their own keys, read from encrypted files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledgerlearn.chain.keys import PASSWORD_ENV, PASSWORD_FILE_ENV, create_keystore, load_keystore
from ledgerlearn.errors import ConfigError


def test_keystore_roundtrip_with_password_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys" / "validator.json"
    account = create_keystore(path, "s3cret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert account.key.hex() not in path.read_text()
    assert load_keystore(path, "s3cret").address == account.address
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    assert load_keystore(path).address == account.address


def test_keystore_errors_name_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.json"
    create_keystore(path, "right")
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        create_keystore(path, "other")
    with pytest.raises(ConfigError, match="wrong password"):
        load_keystore(path, "wrong")
    with pytest.raises(ConfigError, match="no keystore"):
        load_keystore(tmp_path / "missing.json", "x")
    (tmp_path / "junk.json").write_text("not json")
    with pytest.raises(ConfigError, match="not a keystore"):
        load_keystore(tmp_path / "junk.json", "x")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        load_keystore(path)


def test_the_password_comes_from_a_file_as_systemd_credentials_give_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``LEDGERLEARN_AGENT__PASSWORD_FILE`` (``LoadCredential=`` in the example units): its
    content less one line break; an unreadable file is one clear error, never a prompt."""
    path = tmp_path / "k.json"
    account = create_keystore(path, "s3cret ")  # a trailing space is part of the password
    secret = tmp_path / "credentials" / "keystore-password"
    secret.parent.mkdir()
    secret.write_text("s3cret \n")
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)  # a prompt would be a bug: none asked
    monkeypatch.setattr("getpass.getpass", lambda *_: pytest.fail("prompted"))
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret))
    assert load_keystore(path).address == account.address
    monkeypatch.setenv(PASSWORD_ENV, "s3cret ")  # the variable wins over the file
    secret.write_text("wrong")
    assert load_keystore(path).address == account.address
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(ConfigError, match="wrong password"):
        load_keystore(path)
    missing = tmp_path / "credentials" / "absent"
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(missing))
    with pytest.raises(ConfigError) as caught:
        load_keystore(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        f"cannot read the keystore password from {missing} ({PASSWORD_FILE_ENV}): "
        "No such file or directory"
    )
    monkeypatch.setenv(PASSWORD_FILE_ENV, str(secret.parent))
    with pytest.raises(ConfigError, match="Is a directory"):
        load_keystore(path)
