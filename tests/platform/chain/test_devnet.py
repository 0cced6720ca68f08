"""The anvil devnet: state persists across restarts; a reset chain is reported, not processed."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.events import EventStream
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.errors import ChainError, ChainResetError

from .conftest import free_port


def test_state_survives_a_restart_and_a_reset_is_reported(tmp_path: Path) -> None:
    settings = DevnetSettings(port=free_port(), state_file=tmp_path / "state.json")
    admin = Account.create()
    with Devnet(settings) as net:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        chain.fund(admin.address, 10**20)
        deployment = deploy(chain, admin, admin_delay_s=0)
        LedgerClient(chain, deployment, admin).grant_role("PROVIDER", admin.address)
        stream = EventStream(LedgerClient(chain, deployment), tmp_path / "cp.json")
        stream.commit(stream.poll())
    assert settings.state_file.exists()

    with Devnet(settings) as net:  # same state file: the chain continues
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        deployment.check(chain)
        client = LedgerClient(chain, deployment)
        assert client.has_role("PROVIDER", admin.address)
        assert EventStream(client, tmp_path / "cp.json").poll().events == []

    settings.state_file.unlink()
    with Devnet(settings) as net:  # state lost: a new genesis
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        with pytest.raises(ChainResetError, match="reset"):
            deployment.check(chain)
        with pytest.raises(ChainResetError, match="reset"):
            EventStream(LedgerClient(chain, deployment), tmp_path / "cp.json").poll()


def test_a_busy_port_is_reported(tmp_path: Path) -> None:
    port = free_port()
    with Devnet(DevnetSettings(port=port, state_file=tmp_path / "a.json")):
        second = Devnet(DevnetSettings(port=port, state_file=tmp_path / "b.json"))
        with pytest.raises(ChainError, match="already answers"):
            second.start(timeout_s=10)
