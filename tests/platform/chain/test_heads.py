"""Blocks pushed by the node (issue 15, section 4), against anvil: every mined block is
announced over the WebSocket subscription; when the node goes away the watcher says so and
the waits time out (the agent polls); when it comes back the subscription resumes by itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.heads import HeadWatcher, websocket_url
from ledgerlearn.config import ChainSettings, DevnetSettings
from tests.platform.chain.conftest import free_port


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_websocket_urls() -> None:
    assert websocket_url("http://127.0.0.1:8545") == "ws://127.0.0.1:8545"
    assert websocket_url("https://node.example:443/rpc") == "wss://node.example:443/rpc"
    with pytest.raises(ValueError, match="not an HTTP"):
        websocket_url("ftp://x")
    # a node serving WebSocket on its own port (Besu: --rpc-ws-port) is named in the settings
    assert ChainSettings(ws_url="ws://10.0.0.2:8546").ws_url == "ws://10.0.0.2:8546"
    with pytest.raises(ValueError, match="not a WebSocket URL"):
        ChainSettings(ws_url="http://10.0.0.2:8546")


def test_every_block_is_announced_and_the_subscription_survives_a_restart(
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = DevnetSettings(port=port, state_file=tmp_path / "state.json")
    net = Devnet(settings)
    net.start()
    watcher = HeadWatcher(net.rpc_url, reconnect_max_s=1.0).start()
    try:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        wait_until(lambda: watcher.connected, "the subscription")
        start = int(chain.w3.eth.block_number)
        before = watcher.heads
        chain.mine(5)
        assert watcher.wait(after=start + 4, timeout_s=10) == start + 5
        assert watcher.heads - before == 5  # one announcement per block
        # nothing new: the wait ends at its timeout with the same head
        began = time.monotonic()
        assert watcher.wait(after=start + 5, timeout_s=0.3) == start + 5
        assert time.monotonic() - began >= 0.3
        # the node goes away: the watcher says so; it comes back: announcements resume
        net.stop()
        wait_until(lambda: not watcher.connected, "the subscription to drop")
        net = Devnet(settings)
        net.start()
        wait_until(lambda: watcher.connected, "the subscription to resume")
        assert watcher.connections == 2
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        head = int(chain.w3.eth.block_number)
        chain.mine(1)
        assert watcher.wait(after=head, timeout_s=10) == head + 1
    finally:
        watcher.stop()
        net.stop()
