"""The operator's commands as a person runs them (``devnet up``, ``account new/show``,
``chain deploy/grant/info``, ``gateway``): one way to find the node and the deployment, and a
one-line ``error:`` for every mistake.

Real parts: the commands as subprocesses against an anvil devnet started with ``ledgerlearn
devnet up``; nothing is mocked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.config import ChainSettings
from tests.platform.chain.conftest import free_port

CLI = [sys.executable, "-m", "ledgerlearn.cli"]
PASSWORD = "operator-test"  # throwaway keys of a test devnet


def run(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=180,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The command failed with exit code 1 and a single ``error:`` line holding ``expected``."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLEARN_")}
    return {
        **env,
        "HOME": str(home),
        "LEDGERLEARN_AGENT__PASSWORD": PASSWORD,
        "COLUMNS": "200",
    }


@dataclass
class Operator:
    """A devnet started with ``devnet up``, the contracts deployed, and keys."""

    url: str
    work: Path
    env: dict[str, str]
    admin: str
    member: str
    devnet_out: list[str]

    def keystore(self, name: str) -> str:
        return str(self.work / f"{name}.json")


def wait_for_node(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "devnet up exited"
        try:
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("the devnet never answered")


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    work = tmp_path_factory.mktemp("operator")
    env = base_env(work)
    port = free_port()
    state = work / "state.json"
    devnet = subprocess.Popen(
        [*CLI, "devnet", "up", "--port", str(port), "--state-file", str(state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    out: list[str] = []
    try:
        wait_for_node(url, devnet)
        admin = run("account", "new", str(work / "admin.json"), env=env)
        assert admin.returncode == 0, admin.stderr
        member = run("account", "new", str(work / "member.json"), env=env)
        assert member.returncode == 0, member.stderr
        # the deployment goes where the settings say, with the node from the settings
        env_node = {
            **env,
            "LEDGERLEARN_CHAIN__RPC_URL": url,
            "LEDGERLEARN_CHAIN__DEPLOYMENT_FILE": str(work / "consortium.json"),
        }
        deployed = run(
            "chain", "deploy", "--keystore", str(work / "admin.json"), "--fund", env=env_node
        )
        assert deployed.returncode == 0, deployed.stderr
        assert (work / "consortium.json").exists()
        yield Operator(url, work, env_node, admin.stdout.split()[0], member.stdout.split()[0], out)
    finally:
        devnet.send_signal(signal.SIGTERM)
        stdout, _ = devnet.communicate(timeout=30)
        out.append(stdout)
    assert devnet.returncode == 0, stdout
    assert state.exists()  # anvil wrote its state on the way out


def test_devnet_up_mines_a_block_every_second_by_default(operator: Operator) -> None:
    # rounds are counted in blocks: a devnet mining only per transaction never ends them
    def head() -> int:
        answer = requests.post(
            operator.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"},
            timeout=5,
        )
        return int(answer.json()["result"], 16)

    first = head()
    deadline = time.monotonic() + 30
    while head() < first + 2:  # no transaction is sent meanwhile
        assert time.monotonic() < deadline, "no block mined without transactions"
        time.sleep(0.2)


def test_every_command_finds_the_node_and_deployment_in_the_settings(operator: Operator) -> None:
    granted = run(
        "chain", "grant", "validator", operator.member, "--keystore", operator.keystore("admin"),
        env=operator.env,
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    client = LedgerClient(
        connect(ChainSettings(backend="rpc", rpc_url=operator.url)),
        Deployment.load(operator.work / "consortium.json"),
    )
    assert client.has_role("VALIDATOR", operator.member)  # in the settings' deployment
    info = run("chain", "info", env=operator.env)  # no --rpc, no -d: the settings
    assert info.returncode == 0, info.stderr
    assert "chain 31337, block" in info.stdout
    # the options still win over the settings; the old default names in the working folder
    (operator.work / "cwd").mkdir(exist_ok=True)
    (operator.work / "cwd" / "deployment.json").write_bytes(
        (operator.work / "consortium.json").read_bytes()
    )
    bare = {k: v for k, v in operator.env.items() if not k.startswith("LEDGERLEARN_CHAIN__")}
    here = run("chain", "info", "--rpc", operator.url, env=bare, cwd=operator.work / "cwd")
    assert here.returncode == 0 and "chain 31337, block" in here.stdout, here.stderr
    (operator.work / "cwd" / "deployment.json").unlink()
    one_line_error(
        run("chain", "info", "--rpc", operator.url, env=bare, cwd=operator.work / "cwd"),
        "deployment.json",
    )


def test_account_show_prints_the_address_without_the_password(operator: Operator) -> None:
    no_password = {k: v for k, v in operator.env.items() if k != "LEDGERLEARN_AGENT__PASSWORD"}
    shown = run("account", "show", operator.keystore("member"), env=no_password)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[0] == operator.member
    quiet = run("account", "show", "-q", operator.keystore("member"), env=no_password)
    assert quiet.returncode == 0 and quiet.stdout == operator.member + "\n", quiet
    verified = run("account", "show", operator.keystore("member"), "--verify", env=operator.env)
    assert verified.returncode == 0 and "key verified" in verified.stdout, verified.stderr
    wrong = {**operator.env, "LEDGERLEARN_AGENT__PASSWORD": "not-it"}
    one_line_error(
        run("account", "show", operator.keystore("member"), "--verify", env=wrong),
        "cannot decrypt",
    )
    from_settings = {**no_password, "LEDGERLEARN_AGENT__KEYSTORE": operator.keystore("admin")}
    assert run("account", "show", env=from_settings).stdout.split()[0] == operator.admin
    one_line_error(run("account", "show", str(operator.work), env=no_password), "a folder")


def test_keys_and_grants_for_several_members_at_once(operator: Operator) -> None:
    """``account new A B``, ``$(account show -q A B)`` and ``chain grant ROLE X Y``: what the
    guides run for a committee; a malformed address among them sends nothing."""
    paths = [str(operator.work / f"several-{i}.json") for i in (1, 2)]
    made = run("account", "new", *paths, env=operator.env)
    assert made.returncode == 0, made.stderr
    shown = run("account", "show", "-q", *paths, env=operator.env)
    addresses = shown.stdout.split("\n")[:-1]
    assert addresses == [line.split()[0] for line in made.stdout.splitlines()], shown.stdout
    one_line_error(run("account", "new", paths[1], env=operator.env), "exists")
    admin = operator.keystore("admin")
    one_line_error(
        run("chain", "grant", "provider", addresses[0], "0xBob", "--keystore", admin,
            env=operator.env),
        "not an address",
    )  # fmt: skip
    client = LedgerClient(
        connect(ChainSettings(backend="rpc", rpc_url=operator.url)),
        Deployment.load(operator.work / "consortium.json"),
    )
    assert not client.has_role("PROVIDER", addresses[0])
    granted = run("chain", "grant", "provider", *addresses, "--keystore", admin, env=operator.env)
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.splitlines() == [f"granted PROVIDER to {a}" for a in addresses]
    assert all(client.has_role("PROVIDER", a) for a in addresses)


def test_grant_mistakes_are_one_line(operator: Operator) -> None:
    admin = operator.keystore("admin")
    member = operator.keystore("member")
    one_line_error(
        run("chain", "grant", "provider", "0xAlice", "--keystore", admin, env=operator.env),
        "not an address",
    )
    mistyped = operator.member[:2] + operator.member[2:].swapcase()
    if mistyped[2:] not in (mistyped[2:].lower(), mistyped[2:].upper()):
        one_line_error(
            run("chain", "grant", "provider", mistyped, "--keystore", admin, env=operator.env),
            "checksum is wrong",
        )
    one_line_error(
        run("chain", "grant", "oracle", operator.member, "--keystore", admin, env=operator.env),
        "unknown role 'ORACLE'",
    )
    one_line_error(
        run("chain", "grant", "provider", operator.admin, "--keystore", member, env=operator.env),
        f"{operator.member} is not the consortium's admin",
        "chain deploy",
    )


def test_no_node_is_one_line_naming_the_command_that_starts_one(operator: Operator) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = {**operator.env, "LEDGERLEARN_CHAIN__RPC_URL": dead}
    for args in (
        ("chain", "info"),
        ("chain", "deploy", "--keystore", operator.keystore("admin"), "-o", "x.json"),
        ("gateway", "--port", "0", "--state-dir", str(operator.work / "gw")),
    ):
        one_line_error(run(*args, env=env), f"no JSON-RPC node answers at {dead}", "devnet up")
    embedded = {**operator.env, "LEDGERLEARN_CHAIN__BACKEND": "embedded"}
    one_line_error(run("chain", "info", env=embedded), "talk to a node")


def test_gateway_on_a_busy_port_is_one_line(operator: Operator) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run(
            "gateway", "--port", str(port), "--state-dir", str(operator.work / "gw"),
            env=operator.env,
        )  # fmt: skip
    one_line_error(result, f"cannot listen on 127.0.0.1:{port}", "--port")
    assert "gateway on" not in result.stdout  # "serving" is printed only once it serves


def test_the_gateway_url_follows_the_settings_scheme(operator: Operator) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    new = run("api", "tasks", env={**operator.env, "LEDGERLEARN_GATEWAY__URL": dead})
    assert new.returncode == 1 and dead.split("//")[1] in new.stderr, new.stderr
    old = run("api", "tasks", env={**operator.env, "LEDGERLEARN_GATEWAY_URL": dead})
    assert old.returncode == 1 and dead.split("//")[1] in old.stderr, old.stderr
    assert "LEDGERLEARN_GATEWAY_URL is deprecated" in old.stderr
    assert "Traceback" not in new.stderr + old.stderr
