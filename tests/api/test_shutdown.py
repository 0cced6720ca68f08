"""``ledgerlearn gateway`` stops on SIGTERM and Ctrl-C although its embedded kubo node takes
those signals over when it starts."""

from __future__ import annotations

import signal
import time

import pytest

from tests.api.conftest import GatewayProcess, World


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_gateway_stops_on_a_signal(world: World, sig: signal.Signals) -> None:
    gateway = GatewayProcess(world, world.root / f"gateway-stop-{sig.name}").start()
    assert gateway.process is not None
    started = time.monotonic()
    gateway.process.send_signal(sig)
    try:
        code = gateway.process.wait(timeout=20)
    finally:
        gateway.kill()
    # uvicorn shuts down cleanly, then re-raises the signal it caught (its documented
    # behaviour), so the exit status is the signal's
    assert code in (0, -sig, 128 + sig), gateway.tail()
    assert "Application shutdown complete" in gateway.tail(), gateway.tail()
    assert time.monotonic() - started < 20
