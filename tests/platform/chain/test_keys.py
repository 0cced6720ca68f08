"""Keystores: participants sign with their own keys, read from encrypted files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ledgerlearn.chain.keys import PASSWORD_ENV, create_keystore, load_keystore
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
