"""The council from the command line, as a person runs it on a devnet (J1): a consortium
deployed with founders, an organisation admitted by a majority's vote after the timelock's
delay; no single key changes a role; mistakes end in one line."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.council import Council, ProposalState
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.config import ChainSettings
from tests.platform.chain.conftest import free_port
from tests.platform.test_cli_operator import CLI, base_env, one_line_error, run, wait_for_node


@dataclass
class World:
    env: dict[str, str]
    work: Path
    accounts: dict[str, str]  # name -> address
    url: str

    def key(self, name: str) -> str:
        return str(self.work / f"{name}.json")

    def council(self) -> Council:
        chain = connect(ChainSettings(backend="rpc", rpc_url=self.url))
        return Council(LedgerClient(chain, Deployment.load(self.work / "deployment.json")))


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("council")
    env = base_env(work)
    port = free_port()
    devnet = subprocess.Popen(
        [*CLI, "devnet", "up", "--port", str(port), "--state-file", str(work / "state.json")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_node(url, devnet)
        accounts = {}
        chain = connect(ChainSettings(backend="rpc", rpc_url=url))
        for name in ("deployer", "f1", "f2", "f3", "candidate"):
            made = run("account", "new", str(work / f"{name}.json"), env=env)
            assert made.returncode == 0, made.stderr
            accounts[name] = made.stdout.split()[0]
            chain.fund(accounts[name], 10**21)  # gas for every organisation (devnet faucet)
        env = {
            **env,
            "LEDGERLEARN_CHAIN__RPC_URL": url,
            "LEDGERLEARN_CHAIN__DEPLOYMENT_FILE": str(work / "deployment.json"),
        }
        deployed = run(
            "chain", "deploy", "--keystore", str(work / "deployer.json"),
            "--founder", f"{accounts['f1']}:publisher",
            "--founder", f"{accounts['f2']}:validator",
            "--founder", f"{accounts['f3']}:validator,provider",
            "--voting-delay", "1", "--voting-period", "30", "--timelock-delay", "3",
            env=env,
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stderr
        assert "a council of 3 founding organisations governs it" in deployed.stdout
        assert f"{accounts['deployer']} holds no role" in deployed.stdout
        yield World(env, work, accounts, url)
    finally:
        devnet.send_signal(signal.SIGTERM)
        devnet.communicate(timeout=30)


def test_no_single_key_grants_a_role(world: World) -> None:
    granted = run(
        "chain", "grant", "PROVIDER", world.accounts["candidate"],
        "--keystore", world.key("deployer"), env=world.env,
    )  # fmt: skip
    one_line_error(granted, "a council governs this consortium", "council propose grant")
    stranger = run(
        "council", "propose", "admit", world.accounts["candidate"], "--roles", "provider",
        "--keystore", world.key("candidate"), env=world.env,
    )  # fmt: skip
    one_line_error(stranger, "is not a member of the council")
    bad_role = run(
        "council", "propose", "grant", "ADMIN", world.accounts["candidate"],
        "--keystore", world.key("f1"), env=world.env,
    )  # fmt: skip
    one_line_error(bad_role, "unknown role 'ADMIN'")


def test_an_organisation_is_admitted_by_a_majority_after_the_delay(world: World) -> None:
    candidate = world.accounts["candidate"]
    proposed = run(
        "council", "propose", "admit", candidate, "--roles", "provider",
        "-m", "admit the candidate hospital", "--keystore", world.key("f1"), env=world.env,
    )  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    pid = int(proposed.stdout.split()[1].rstrip(":"))
    assert f"grant PROVIDER to {candidate}" in proposed.stdout
    council = world.council()
    wait_until(lambda: council.proposal(pid).state is ProposalState.ACTIVE, "the vote to open")
    voted = run("council", "vote", str(pid), "for", "--keystore", world.key("f1"), env=world.env)
    assert voted.returncode == 0, voted.stderr
    assert "1 for, 0 against, 0 abstain; it needs 2 for" in voted.stdout
    again = run(
        "council", "vote", str(pid), "against", "--keystore", world.key("f1"), env=world.env
    )
    one_line_error(again, "already voted on proposal")
    second = run(
        "council", "vote", str(pid), "for", "--reason", "we audited them",
        "--keystore", world.key("f2"), env=world.env,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    wait_until(lambda: council.proposal(pid).state is ProposalState.SUCCEEDED, "the vote to end")
    queued = run("council", "execute", str(pid), "--keystore", world.key("f3"), env=world.env)
    assert f"proposal {pid}: queued" in queued.stdout, queued.stdout + queued.stderr

    def executed() -> bool:
        out = run("council", "execute", str(pid), "--keystore", world.key("f3"), env=world.env)
        assert out.returncode == 0, out.stderr
        return f"proposal {pid}: executed" in out.stdout

    wait_until(executed, "the timelock's delay")
    client = council.client
    assert client.has_role("PROVIDER", candidate)
    assert candidate in council.members()
    status = run("council", "status", env=world.env)
    assert status.returncode == 0, status.stderr
    assert "executed" in status.stdout and "admit the candidate hospital" in status.stdout
    assert "4 member organisations" in status.stdout
