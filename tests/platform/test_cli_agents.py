"""The agent commands as a person runs them: ``publish``, ``provider run``, ``validator run``.

Real parts only: an anvil devnet, the contracts, an embedded IPFS node per process, and the
commands as subprocesses (``python -m ledgerlearn.cli``) with their own keystores, the password
in the environment and stdin closed.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from prometheus_client.parser import text_string_to_metric_families

from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment, deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.index import LedgerIndex, RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.cli import api_client, watch
from ledgerlearn.cli.options import POLICY_OPTIONS
from ledgerlearn.cli.provider import provider_run
from ledgerlearn.cli.publish import publish as publish_command
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.core.rules import Status
from ledgerlearn.core.task_params import TaskParams
from tests.platform.chain.conftest import free_port

CLI = [sys.executable, "-m", "ledgerlearn.cli"]
PASSWORD = "cli-agents-test"  # throwaway keys of a test devnet
ETHER = 10**18


def agent_env(home: Path) -> dict[str, str]:
    """The environment of a command: password, no prompt, default dirs under ``home``."""
    return {
        **os.environ,
        "LEDGERLEARN_AGENT__PASSWORD": PASSWORD,
        "LEDGERLEARN_AGENT__STATE_DIR": str(home / "state"),
        "LEDGERLEARN_STORAGE__REPO_DIR": str(home / "ipfs"),
        "OMP_NUM_THREADS": "1",
        "LEDGERLEARN_LOG": "INFO",
        "COLUMNS": "200",
    }


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def assert_clear_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit 1, one ``error:`` line naming the problem, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], errors[0]


def write_keystore(path: Path, account: LocalAccount) -> Path:
    # pbkdf2 with few iterations: throwaway keys, quick to open in every process
    keystore = Account.encrypt(account.key, PASSWORD, kdf="pbkdf2", iterations=1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keystore))
    path.chmod(0o600)
    return path


@dataclass
class Consortium:
    """A devnet with the contracts deployed and members in roles, each with a keystore."""

    url: str
    chain: Chain
    deployment_file: Path
    accounts: dict[str, LocalAccount]
    keystores: dict[str, Path] = field(default_factory=dict)

    @property
    def reader(self) -> LedgerClient:
        return LedgerClient(self.chain, Deployment.load(self.deployment_file))

    def address(self, name: str) -> str:
        return str(self.accounts[name].address)

    def common(self, name: str) -> list[str]:
        """--keystore, --deployment and --rpc of ``name``."""
        return [
            "--keystore", str(self.keystores[name]),
            "--deployment", str(self.deployment_file),
            "--rpc", self.url,
        ]  # fmt: skip


def set_up(net: Devnet, root: Path, roles: dict[str, str | None]) -> Consortium:
    """Deploy, then fund every account and grant it its role (``None``: no role)."""
    chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
    admin = Account.create()
    chain.fund(admin.address, 100 * ETHER)
    deployment = deploy(chain, admin, admin_delay_s=0)
    deployment_file = root / "deployment.json"
    deployment.save(deployment_file)
    admin_client = LedgerClient(chain, deployment, admin)
    consortium = Consortium(net.rpc_url, chain, deployment_file, {})
    for name, role in roles.items():
        account = Account.create()
        chain.fund(account.address, 100 * ETHER)
        if role is not None:
            admin_client.grant_role(role, account.address)
        consortium.accounts[name] = account
        consortium.keystores[name] = write_keystore(root / "keys" / f"{name}.json", account)
    return consortium


def read_index(consortium: Consortium) -> LedgerIndex:
    index = LedgerIndex()
    index.apply_all(EventStream(consortium.reader).poll().events)
    return index


# --- the whole flow -----------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[str]
    stdout: Path
    stderr: Path

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()


def start(name: str, args: list[str], env: dict[str, str], logs: Path) -> Process:
    logs.mkdir(parents=True, exist_ok=True)
    out, err = logs / f"{name}.out", logs / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        popen = subprocess.Popen(
            [*CLI, *args],
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
        )
    return Process(name, popen, out, err)


def wait_for(
    condition: Callable[[], bool], processes: list[Process], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for p in processes:
            if p.popen.poll() is not None and p.popen.returncode != 0:
                out, err = p.output()
                pytest.fail(f"{p.name} exited with {p.popen.returncode}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.3)


def stop(processes: list[Process]) -> None:
    for p in processes:
        if p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
    for p in processes:
        try:
            p.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.popen.kill()
            p.popen.wait()


@dataclass
class AgentRun:
    """What a cast of agent commands left: the consortium, each process's (stdout, stderr)
    and the index of the chain once every process exited."""

    consortium: Consortium
    outputs: dict[str, tuple[str, str]]
    index: LedgerIndex


def run_agent_commands(
    tmp_path: Path,
    providers: int,
    provider_args: Callable[[int, str], list[str]],
    policy: list[str],
    *,
    start_s: float,
    finish_s: float,
    restart_validator: bool = False,
) -> AgentRun:
    """3 validators, ``providers`` providers and a publisher (with ``policy``), each a command
    in its own process on a devnet: the validators register and the providers wait for the
    task (``start_s``), then the publisher publishes and everyone runs until the task closes
    (``finish_s``); with ``restart_validator``, validator-1 then starts again on its state
    (output ``validator-1-again``). Every process must exit 0 without a traceback."""
    roles: dict[str, str | None] = {"publisher": "PUBLISHER"}
    roles |= {f"validator-{i}": "VALIDATOR" for i in range(1, 4)}
    roles |= {f"provider-{i}": "PROVIDER" for i in range(1, providers + 1)}
    settings = DevnetSettings(port=free_port(), state_file=tmp_path / "devnet" / "state.json")
    processes: list[Process] = []
    logs = tmp_path / "logs"
    env = agent_env(tmp_path / "home")  # default state and IPFS dirs: per-account subfolders
    with Devnet(settings, log_file=logs / "devnet.log") as net:
        c = set_up(net, tmp_path, roles)
        validators = [f"validator-{i}" for i in range(1, 4)]
        reader = c.reader
        try:
            for name in validators:
                args = ["validator", "run", *c.common(name), "--until-closed", "1"]
                processes.append(start(name, args, env, logs))
            for i in range(1, providers + 1):  # ready when the task opens
                name = f"provider-{i}"
                args = ["provider", "run", *c.common(name), "--task", "1", "--wait"]
                processes.append(start(name, args + provider_args(i, name), env, logs))
            wait_for(
                lambda: (
                    all(reader.member(c.address(v)).encryption_key for v in validators)
                    and all("waiting for task 1" in p.output()[0] for p in processes[3:])
                ),
                processes,
                start_s,
                "the validators to register, the providers to wait for the task",
            )
            c.chain.set_block_time(1.0)
            committee = ",".join(c.address(v) for v in validators)
            publish = [
                "publish", *c.common("publisher"), "--committee", committee,
                "--preset", "logreg_digits", "--dataset", "digits", "--seed", "1",
                "--quorum", "2", "--max-faulty-validators", "0", *policy,
            ]  # fmt: skip
            processes.append(start("publisher", publish, env, logs))
            wait_for(
                lambda: all(p.popen.poll() is not None for p in processes),
                processes,
                finish_s,
                "every agent to finish",
            )
            if restart_validator:
                args = ["validator", "run", *c.common("validator-1"), "--until-closed", "1"]
                processes.append(start("validator-1-again", args, env, logs))
                wait_for(
                    lambda: processes[-1].popen.poll() is not None,
                    processes,
                    120,
                    "the restarted validator to see the task closed",
                )
        finally:
            stop(processes)
        index = read_index(c)
    outputs = {p.name: p.output() for p in processes}
    for p in processes:
        assert p.popen.returncode == 0, (p.name, *outputs[p.name])
        assert "Traceback" not in outputs[p.name][1], (p.name, outputs[p.name][1])
    return AgentRun(c, outputs, index)


@pytest.mark.slow
def test_a_task_runs_end_to_end_with_the_agent_commands(tmp_path: Path) -> None:
    """3 validators, a publisher and 3 providers, each a command in its own process: the task
    closes, every validator scores every provider's update, every process exits 0."""

    def provider_args(i: int, name: str) -> list[str]:
        home = tmp_path / name
        return [
            "--dataset", "digits", "--part", f"{i}/3",
            "--state-dir", str(home / "state"), "--ipfs-repo", str(home / "ipfs"),
        ]  # fmt: skip

    # the round waits for the 3 updates (up to 300 more blocks): a loaded machine trains slowly
    policy = ["--rounds", "1", "--round-length", "30", "--score-window", "15",
              "--expected-providers", "3", "--min-updates", "3",
              "--round-extension", "300"]  # fmt: skip
    run = run_agent_commands(
        tmp_path, 3, provider_args, policy, start_s=120, finish_s=400, restart_validator=True
    )
    c, outputs, index = run.consortium, run.outputs, run.index
    validators = [f"validator-{i}" for i in range(1, 4)]
    providers = [f"provider-{i}" for i in range(1, 4)]
    task = index.tasks[1]
    assert task.closed and task.final_model_hash is not None
    updates = {u.provider: u for u in task.updates.values()}
    assert set(updates) == {c.address(p) for p in providers}
    assert all(u.status is Status.ACCEPTED for u in updates.values())
    short = {"0x" + u.update.hex()[:12] for u in updates.values()}
    scorers: dict[str, set[str]] = {u: set() for u in short}
    attesters = 0
    for name in validators:
        out = outputs[name][0]
        scored = set(re.findall(r"round 1: scored (0x[0-9a-f]{12}) from 0x", out))
        # the contract decides as soon as 2 of the 3 members agree: a member that syncs only
        # after that has nothing left to score and says so (rare; a member slowed down)
        passed = set(re.findall(r"(0x[0-9a-f]{12}) from 0x\w+ was accepted by the other", out))
        assert scored | passed == short and not scored & passed, (name, out)
        for u in scored:
            scorers[u].add(name)
        attesters += "task 1 round 1: attested aggregate" in out
        assert "task 1 closed" in out
    assert all(len(names) >= 2 for names in scorers.values()), scorers
    assert attesters >= 2
    # restarted after the task closed, a validator does not announce the history again
    again = outputs["validator-1-again"][0]
    assert "on the committee of 0 open tasks" in again and "task 1 closed" in again, again
    assert "attested aggregate" not in again and "scored" not in again, again
    publisher_out = outputs["publisher"][0]
    assert "task 1 published" in publisher_out
    assert task.params.model_spec_cid in publisher_out
    assert "round 1: finalized, 3 of 3 updates accepted" in publisher_out
    assert "task 1 closed; final model" in publisher_out
    for name in providers:
        out = outputs[name][0]
        assert f"round 1: submitted {updates[c.address(name)].cid}" in out, out
        assert "round 1: update accepted" in out
        assert "task 1 closed" in out
    # the default directories are per account, so the validators did not collide
    for name in validators:
        assert (tmp_path / "home" / "state" / c.address(name) / "outbox.jsonl").exists()
        assert (tmp_path / "home" / "ipfs" / c.address(name)).is_dir()


@pytest.mark.slow
def test_a_dag_task_runs_end_to_end_with_the_agent_commands(tmp_path: Path) -> None:
    """The same commands on a dag task: the publisher describes it and closes it after
    ``--duration`` blocks, the providers build on tips and follow their own updates, and every
    process prints its flow's lines and exits 0."""
    policy = ["--flow", "dag", "--duration", "40", "--max-parents", "2", "--score-window", "10",
              "--threshold-mode", "relative", "--threshold", "-0.05"]  # fmt: skip
    run = run_agent_commands(
        tmp_path,
        2,
        lambda i, name: ["--dataset", "digits", "--part", f"{i}/2"],
        policy,
        start_s=300,  # five processes importing torch on a loaded machine
        finish_s=300,
    )
    c, outputs, index = run.consortium, run.outputs, run.index
    validators = [f"validator-{i}" for i in range(1, 4)]
    providers = [f"provider-{i}" for i in range(1, 3)]
    task = index.tasks[1]
    assert task.closed and task.accepted
    closed = re.compile(r"task 1 closed with \d+ accepted updates and \d+ tips; its consensus")
    publisher_out = outputs["publisher"][0]
    shape = "  dag: up to 2 parents per update, 10 blocks to score each, open for 40 blocks, "
    assert shape + "quorum 2" in publisher_out, publisher_out
    assert re.search(r"update 0x[0-9a-f]{12} from 0x\w+ accepted \(committee score", publisher_out)
    assert closed.search(publisher_out) and "`ledgerlearn dag consensus --task 1`" in publisher_out
    for name in providers:
        out = outputs[name][0]
        assert "1 epoch per dag update" in out, out
        mine = {
            "0x" + u.update.hex()[:12]
            for u in task.updates.values()
            if u.provider == c.address(name)
        }
        shown = set(re.findall(r"submitted (0x[0-9a-f]{12}) on [12] parent\(s\)", out))
        assert shown and shown <= mine, (mine, out)
        assert closed.search(out), out
    assert any("accepted (committee score" in outputs[name][0] for name in providers)
    for name in validators:  # a dag update has no round
        out = outputs[name][0]
        assert re.search(r"task 1: scored 0x[0-9a-f]{12} from 0x", out) or "by the other" in out
        assert "round" not in out and "task 1 closed" in out


# --- clear errors -----------------------------------------------------------------------------


@dataclass
class Published:
    """A consortium with task 1 published and its content served by this test's IPFS node."""

    consortium: Consortium
    env: dict[str, str]
    root: Path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.agents.publisher import Publisher
    from ledgerlearn.config import StorageSettings
    from ledgerlearn.data import load_bundled
    from ledgerlearn.flows.policy import Policy
    from ledgerlearn.model.presets import logreg_digits
    from ledgerlearn.storage import IpfsNode

    root = tmp_path_factory.mktemp("published")
    roles: dict[str, str | None] = {"publisher": "PUBLISHER", "publisher-2": "PUBLISHER"}
    roles |= {f"validator-{i}": "VALIDATOR" for i in range(1, 5)}  # 4: on no committee
    roles |= {"provider": "PROVIDER", "provider-2": "PROVIDER", "outsider": None}
    settings = DevnetSettings(port=free_port(), state_file=root / "devnet" / "state.json")
    with Devnet(settings) as net:
        c = set_up(net, root, roles)
        storage = StorageSettings(repo_dir=root / "publisher-ipfs")
        with IpfsNode(storage, handle_signals=False) as node:
            address = node.multiaddrs[0]
            for name in ["publisher", "validator-1", "validator-2", "validator-3"]:
                account = c.accounts[name]
                c.reader.with_account(account).register_member(address)
            client = c.reader.with_account(c.accounts["publisher"])
            participant = Participant(client, node, root / "publisher-state")
            participant.sync()
            spec = logreg_digits()
            validation = load_bundled("digits", "test")
            policy = Policy(quorum=2, max_faulty_validators=0, rounds=1, round_length=1000)
            committee = [c.address(f"validator-{i}") for i in range(1, 4)]
            publisher = Publisher(participant)
            assert (
                publisher.publish(publisher.prepare(spec, validation, committee, policy)).task_id
                == 1
            )
            yield Published(c, agent_env(root / "home"), root)


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def provider_args(p: Published, name: str, *extra: str) -> list[str]:
    return ["provider", "run", *p.consortium.common(name), *extra]


def test_provider_refuses_a_malformed_npz_file(published: Published, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    bad = write_npz(tmp_path / "bad.npz", x=rng.random((20, 64)), labels=np.zeros(20, np.int64))
    result = run(
        *provider_args(published, "provider", "--task", "1", "--data", str(bad)), env=published.env
    )
    assert_clear_error(result, "bad.npz", "expected exactly the arrays 'x' and 'y'")


def test_provider_refuses_a_malformed_csv_file(published: Published, tmp_path: Path) -> None:
    rows = [",".join(["0.5"] * 64 + ["3"]) for _ in range(5)]
    rows[2] = ",".join(["0.5"] * 10 + ["oops"] + ["0.5"] * 53 + ["3"])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    result = run(
        *provider_args(published, "provider", "--task", "1", "--data", str(bad)), env=published.env
    )
    assert_clear_error(result, "bad.csv", "line 3", "'oops' is not a number")


def test_provider_refuses_labels_outside_the_models_classes(
    published: Published, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(20, dtype=np.int64) % 12  # the model has 10 classes
    bad = write_npz(tmp_path / "labels.npz", x=rng.random((20, 64)).astype(np.float32), y=y)
    result = run(
        *provider_args(published, "provider", "--task", "1", "--data", str(bad)), env=published.env
    )
    assert_clear_error(result, "labels lie outside [0, 10)", "10 classes")


def test_provider_with_raw_pixels_is_warned_with_the_numbers_before_it_trains(
    published: Published, tmp_path: Path
) -> None:
    from ledgerlearn.data import load_bundled

    digits = load_bundled("digits", "test")
    raw = (digits.x * 16).round().astype(int)  # 0-16, as scikit-learn ships them
    share = round(100 * float(np.mean(raw > 1)))
    rows = [",".join(f"pixel{i}" for i in range(64)) + ",label"]
    rows += [",".join(map(str, [*row, label])) for row, label in zip(raw, digits.y, strict=True)]
    data = tmp_path / "raw.csv"
    data.write_text("\n".join(rows) + "\n")
    args = provider_args(published, "provider-2", "--task", "1", "--data", str(data))
    process = start("provider", args, published.env, tmp_path / "logs")
    try:
        wait_for(
            lambda: "warning:" in process.output()[1],
            [process],
            90,
            "the provider's warning about its data",
        )
        process.popen.send_signal(signal.SIGINT)
        process.popen.wait(timeout=30)
    finally:
        stop([process])
    out, err = process.output()
    assert "raw.csv: line 1 is a header (detected: it names the columns)" in out
    warning = next(line for line in err.splitlines() if line.startswith("warning:"))
    assert f"{share}% of values lie outside [0, 1] (min 0, max 16, mean" in warning, warning
    assert "the task says: 8x8 digit images" in warning and "preprocess your data" in warning
    logged = [line for line in err.splitlines() if " WARNING " in line]
    assert any(
        "my data do not fit the model's input" in line and "max 16" in line for line in logged
    )
    assert "Traceback" not in err, err


def test_provider_asks_whether_a_line_of_column_numbers_is_a_header(
    published: Published, tmp_path: Path
) -> None:
    rows = [",".join(str(i) for i in range(65))]  # a dataframe's column numbers, or data?
    rows += [",".join(["0.5"] * 64 + ["3"]) for _ in range(5)]
    data = tmp_path / "numbered.csv"
    data.write_text("\n".join(rows) + "\n")
    args = provider_args(published, "provider", "--task", "1", "--data", str(data))
    result = run(*args, env=published.env)
    assert_clear_error(result, "numbered.csv: line 1 reads 0, 1, 2, ..., 64", "give --header")
    bundled = provider_args(
        published, "provider", "--task", "1", "--dataset", "digits", "--part", "1/2", "--header"
    )
    refused = run(*bundled, env=published.env)
    assert refused.returncode == 2, refused.stderr
    assert "--header/--no-header apply to a .csv --data file" in refused.stderr


def test_provider_refuses_an_account_without_the_provider_role(published: Published) -> None:
    args = provider_args(
        published, "outsider", "--task", "1", "--dataset", "digits", "--part", "1/2"
    )
    result = run(*args, env=published.env)
    outsider = published.consortium.address("outsider")
    assert_clear_error(result, outsider, "does not hold PROVIDER_ROLE", "chain grant provider")


def test_data_check_reads_the_spec_of_a_published_task(
    published: Published, tmp_path: Path
) -> None:
    """``data check --task``: the spec from the chain and the publisher's IPFS node."""
    from ledgerlearn.data import load_bundled

    digits = load_bundled("digits", "test")
    raw = write_npz(tmp_path / "raw.npz", x=digits.x * 16, y=digits.y)  # the task wants [0, 1]
    c = published.consortium
    where = ["--deployment", str(c.deployment_file), "--rpc", c.url]
    result = run("data", "check", str(raw), "--task", "1", *where, env=published.env)
    assert result.returncode == 0, result.stderr
    assert f"raw.npz: {len(digits)} samples of 64 values; labels of all 10" in result.stdout
    assert "warning: raw.npz: " in result.stderr
    assert "% of values lie outside [0, 1] (min 0, max 16" in result.stderr
    unknown = run("data", "check", str(raw), "--task", "7", *where, env=published.env)
    assert_clear_error(unknown, "task 7 is not published on this chain")


def test_provider_refuses_an_unknown_task(published: Published) -> None:
    args = provider_args(
        published, "provider", "--task", "7", "--dataset", "digits", "--part", "1/2"
    )
    result = run(*args, env=published.env)
    assert_clear_error(result, "task 7 is not published on this chain")


def test_validator_refuses_an_account_without_the_validator_role(published: Published) -> None:
    args = ["validator", "run", *published.consortium.common("provider"), "--until-closed", "1"]
    result = run(*args, env=published.env)
    assert_clear_error(result, "does not hold VALIDATOR_ROLE")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_validator_stops_cleanly_on_a_signal(
    published: Published, signum: signal.Signals, tmp_path: Path
) -> None:
    """Also, as a systemd unit runs it (SIGTERM): the password from a file
    (``LoadCredential=``), and metrics served while it runs."""
    c = published.consortium
    args = ["validator", "run", *c.common("validator-4")]
    env = published.env
    if signum == signal.SIGTERM:
        args += ["--metrics-port", "0"]
        secret = tmp_path / "credentials" / "keystore-password"
        secret.parent.mkdir()
        secret.write_text(PASSWORD + "\n")
        env = {k: v for k, v in env.items() if k != "LEDGERLEARN_AGENT__PASSWORD"}
        env["LEDGERLEARN_AGENT__PASSWORD_FILE"] = str(secret)
    process = start("validator", args, env, tmp_path)
    try:
        wait_for(
            lambda: "encryption key registered" in process.output()[0],
            [process],
            90,
            "the validator to register",
        )
        if signum == signal.SIGTERM:
            found = re.search(r"metrics at (http://127\.0\.0\.1:\d+/metrics)", process.output()[0])
            assert found, process.output()
            started = time.perf_counter()
            response = httpx.get(found.group(1), timeout=10)
            assert time.perf_counter() - started < 2.0
            families = {f.name: f for f in text_string_to_metric_families(response.text)}
            (info,) = families["ledgerlearn_agent_info"].samples
            assert info.labels == {"account": c.address("validator-4"), "role": "validator"}
            assert families["ledgerlearn_chain_head_block"].samples[0].value > 0
            assert families["ledgerlearn_scores_sent"].samples[0].value == 0  # on no committee
            peers = families["ledgerlearn_ipfs_peers"].samples[0].value
            assert peers >= 1, response.text  # the test's node, which serves task 1
        process.popen.send_signal(signum)
        process.popen.wait(timeout=30)
    finally:
        stop([process])
    out, err = process.output()
    assert process.popen.returncode == 0, (out, err)
    assert "Traceback" not in err, err
    if signum == signal.SIGINT:
        assert "validator stopped" in out


def test_publish_refuses_a_committee_member_without_an_encryption_key(
    published: Published,
) -> None:
    c = published.consortium
    committee = ",".join(
        [c.address("validator-1"), c.address("validator-2"), c.address("outsider")]
    )
    args = [
        "publish", *c.common("publisher-2"), "--preset", "logreg_digits", "--dataset", "digits",
        "--committee", committee, "--quorum", "2", "--max-faulty-validators", "0", "--no-keep",
    ]  # fmt: skip
    result = run(*args, env=published.env)
    assert_clear_error(result, c.address("outsider"), "has not registered an encryption key")
    assert read_index(c).tasks.keys() == {1}  # nothing published


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("--quorum 4", "unsafe committee policy: quorum k=4, tolerated liars f=1, committee n=3"),
        ("--quorum 40", "invalid policy: --quorum: Input should be less than or equal to 24"),
        ("--rule averaging", "aggregation_rule 'averaging' is unknown"),
        (
            "--quorum 2 --max-faulty-validators 0 --rule krum --num-byzantine 2 "
            "--expected-providers 4",
            "krum needs n >= 2*num_byzantine + 3",
        ),
    ],
    ids=["quorum-too-large", "quorum-above-cap", "unknown-rule", "beyond-breakdown"],
)
def test_publish_refuses_an_invalid_policy(options: str, expected: str, tmp_path: Path) -> None:
    # checked before the keystore is opened or the chain contacted: no devnet needed
    committee = ",".join(Account.create().address for _ in range(3))
    args = [
        "publish", "--keystore", str(tmp_path / "missing.json"), "--rpc", "http://127.0.0.1:9",
        "--preset", "logreg_digits", "--dataset", "digits", "--committee", committee,
        *options.split(),
    ]  # fmt: skip
    assert_clear_error(run(*args, env=agent_env(tmp_path)), expected)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("--threshold nan", "--threshold: Input should be a finite number"),
        ("--threshold inf", "--threshold: Input should be a finite number"),
        ("--threshold -1e9", "--threshold: Input should be greater than or equal to -1000"),
        ("--rounds 4294967296", "--rounds: 4294967296 does not fit the contract's"),
        ("--round-length 1099511627776", "TaskParams.roundLength (uint32"),
        ("--num-byzantine 70000", "TaskParams.numByzantine (uint16: 0 to 65535)"),
    ],
    ids=["nan-threshold", "infinite-threshold", "absurd-threshold", "rounds", "length", "f"],
)
def test_publish_refuses_values_the_contract_cannot_hold(
    options: str, expected: str, tmp_path: Path
) -> None:
    # a NaN threshold would become the smallest int64, which every score clears; values
    # beyond the ABI's types used to fail only when the transaction was built
    committee = ",".join(Account.create().address for _ in range(3))
    args = [
        "publish", "--keystore", str(tmp_path / "missing.json"), "--rpc", "http://127.0.0.1:9",
        "--preset", "logreg_digits", "--dataset", "digits", "--committee", committee,
        *options.split(),
    ]  # fmt: skip
    assert_clear_error(run(*args, env=agent_env(tmp_path)), expected)


def test_publish_refuses_a_committee_address_with_a_wrong_checksum(tmp_path: Path) -> None:
    good = [Account.create().address for _ in range(3)]
    first = good[0]
    i = next(i for i, c in enumerate(first) if i > 1 and c.isalpha())
    typo = first[:i] + first[i].swapcase() + first[i + 1 :]  # same digits, checksum broken
    args = [
        "publish", "--keystore", str(tmp_path / "missing.json"), "--rpc", "http://127.0.0.1:9",
        "--preset", "logreg_digits", "--dataset", "digits", "--committee",
        ",".join([typo, *good[1:]]), "--quorum", "2", "--max-faulty-validators", "0",
    ]  # fmt: skip
    assert_clear_error(run(*args, env=agent_env(tmp_path)), "--committee", "EIP-55 checksum")


def test_publish_names_a_committee_or_draws_one_never_both(tmp_path: Path) -> None:
    base = [
        "publish", "--keystore", str(tmp_path / "missing.json"), "--rpc", "http://127.0.0.1:9",
        "--preset", "logreg_digits", "--dataset", "digits", "--quorum", "2",
        "--max-faulty-validators", "0",
    ]  # fmt: skip
    env = agent_env(tmp_path)
    named = ",".join(Account.create().address for _ in range(3))
    both = run(*base, "--draw-size", "3", "--committee", named, env=env)
    assert_clear_error(both, "--committee", "draws a committee of 3", "name no committee")
    neither = run(*base, env=env)
    assert_clear_error(neither, "--committee", "give the validators' addresses", "--draw-size")


def test_usage_errors_name_the_options(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    both = run("provider", "run", "--task", "1", "--data", "x.npz", "--dataset", "digits", env=env)
    assert both.returncode == 2 and "exactly one of --data FILE and --dataset NAME" in both.stderr
    part = run("provider", "run", "--task", "1", "--dataset", "digits", "--part", "4/3", env=env)
    assert part.returncode == 2 and "expected I/N with 1 <= I <= N" in part.stderr
    for result in (both, part):
        assert "Traceback" not in result.stderr


def test_option_defaults_are_the_librarys() -> None:
    """The commands show the Policy's and TrainingConfig's defaults: they must be the same."""
    from ledgerlearn.flows.dag.updates import DagSettings
    from ledgerlearn.flows.policy import Policy
    from ledgerlearn.training import TrainingConfig

    policy = Policy()
    assert set(POLICY_OPTIONS) == set(Policy.model_fields)
    for command in (publish_command, api_client.publish):  # directly, and through the gateway
        parameters = inspect.signature(command).parameters
        for field_name, option in POLICY_OPTIONS.items():
            parameter = option.removeprefix("--").replace("-", "_")
            assert parameter in parameters, f"{command.__module__}: no {option}"
            assert parameters[parameter].default == getattr(policy, field_name), option
    run = inspect.signature(provider_run).parameters
    training = TrainingConfig()
    for name in ("epochs", "batch_size", "lr"):
        assert run[name].default == getattr(training, name), name
    dag = DagSettings()
    for option, field_name in (
        ("parents", "parents"),
        ("walk_alpha", "alpha"),
        ("publish_if_better", "publish_if_better"),
        ("held_out", "held_out_fraction"),
        ("rotate_held_out", "rotate_held_out"),
        ("staleness_beta", "staleness_beta"),
    ):
        assert run[option].default == getattr(dag, field_name), option


def test_both_publish_commands_show_the_policys_options_and_help() -> None:
    """One definition: the same option names, defaults and help in ``publish`` and ``api
    publish``, the help being the Policy field's description with fields named as options."""
    from typer.main import get_command

    from ledgerlearn.cli import app

    def options(*path: str) -> dict[str, tuple[object, str]]:
        command = get_command(app)
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        return {
            p.opts[0]: (p.default, p.help or "")
            for p in command.params
            if p.opts[0] in POLICY_OPTIONS.values()
        }

    direct, relayed = options("publish"), options("api", "publish")
    assert direct == relayed and set(direct) == set(POLICY_OPTIONS.values())
    assert direct["--rule"][0] == "median"
    assert "(up to --round-extension blocks)" in direct["--min-updates"][1]
    assert "`" not in "".join(help_text for _, help_text in direct.values())


def test_help_does_not_import_torch_or_web3() -> None:
    code = (
        "import sys\n"
        "from ledgerlearn.cli import app\n"
        "sys.argv = ['ledgerlearn', 'publish', '--help']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'web3', 'eth_account') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


def _round_waiting_for_updates(submissions: tuple[int, ...]) -> TaskRecord:
    """Round 1 starts at block 10: 10 blocks, waits up to 10 more for 2 updates."""
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="w0",
        committee=("0xv",),
        fragment_hashes=(b"\x03" * 32,),
        fragment_cids=("f",),
        quorum=1,
        max_faulty_validators=0,
        threshold=0,
        round_length=10,
        score_window=5,
        min_updates=2,
        round_extension=10,
        score_extension=3,
    )
    task = TaskRecord(1, "0xp", params, published_block=1)
    task.rounds[1] = RoundRecord(1, b"\x02" * 32, "w0", start_block=10)
    for i, block in enumerate(submissions):
        u = bytes([10 + i]) * 32
        task.updates[u] = UpdateRecord(1, u, f"0x{i}", 1, 5, f"cid{i}", [], block)
        task.rounds[1].updates.append(u)
    return task


def test_the_publisher_prints_the_extended_window_of_a_round() -> None:
    waiting = watch.round_opening(_round_waiting_for_updates(()), 1)
    assert waiting == (
        "round 1: open for updates until block 20, up to block 30 while fewer than 2 arrived; "
        "scores until 5 blocks after (+3 for updates short of a quorum)"
    )
    reached = watch.round_opening(_round_waiting_for_updates((12, 24)), 1)
    assert reached == (
        "round 1: open for updates until block 25, scores until block 30 "
        "(+3 for updates short of a quorum)"
    )


def test_a_provider_has_not_missed_a_round_that_waits_for_updates() -> None:
    task = _round_waiting_for_updates((12,))
    assert not watch.submissions_closed(task, 1, head=19)  # past round_length: waits
    assert not watch.submissions_closed(task, 1, head=28)
    assert watch.submissions_closed(task, 1, head=29)  # the next block is the 30th
    reached = _round_waiting_for_updates((12, 14))
    assert not watch.submissions_closed(reached, 1, head=18)
    assert watch.submissions_closed(reached, 1, head=19)
