"""The main job: a full learning task with every agent as a separate process on a devnet.

A devnet (anvil, one block per second), the contracts, a publisher process (it publishes the
task and keeps the rounds), the validators and the providers (some Byzantine), each with its
own key, its own embedded IPFS node and its own state. The run ends when the task closes; the
history is then read back from the chain and IPFS and written as a report.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.process
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from ledgerlearn import strict_json
from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.events import EventStream
from ledgerlearn.chain.index import LedgerIndex, TaskRecord
from ledgerlearn.chain.vetting import Vetting
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.errors import LedgerlearnError, NodeUnreachableError
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.lab.background_load import BackgroundLoad
from ledgerlearn.lab.cast import Cast
from ledgerlearn.lab.consortium import deploy_cast, withdraw_rewards
from ledgerlearn.lab.consortium_results import collect_consortium
from ledgerlearn.lab.hosts import HostNetwork
from ledgerlearn.lab.registry import LAB_FLOWS
from ledgerlearn.lab.results import RunResult, agent_seconds
from ledgerlearn.lab.round_timing import BlockClock, round_timings
from ledgerlearn.lab.simulate import ETHER, RunConfig, make_cast
from ledgerlearn.stopwatch import Stopwatch
from ledgerlearn.storage import IpfsNode
from ledgerlearn.storage.swarm_key import SwarmKey

log = logging.getLogger(__name__)

DEMO_PASSWORD = "ledgerlearn-demo"  # noqa: S105 (throwaway keys of a local demo)


class DemoError(LedgerlearnError):
    """The demo could not complete (an agent died, or the task did not finish in time)."""


class ForkedProcess:
    """An agent forked from the fork server, with the part of ``Popen``'s interface used here."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        """The agent's process id."""
        assert self._process.pid is not None
        return self._process.pid

    def poll(self) -> int | None:
        """Exit code (negative: killed by that signal), None while running."""
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the agent."""
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; raises ``subprocess.TimeoutExpired`` after ``timeout``."""
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired("agent", timeout or 0.0)
        return self._process.exitcode

    def kill(self) -> None:
        """SIGKILL the agent."""
        self._process.kill()


_forkserver: multiprocessing.context.ForkServerContext | None = None


def _context() -> multiprocessing.context.ForkServerContext:
    """The fork server, started once with the agent module (torch, web3, ...) imported and
    torch warmed up (:mod:`~ledgerlearn.lab.forkserver_preload`): 16 agents forked from it
    start in a fraction of the time 16 fresh interpreters take."""
    global _forkserver
    if _forkserver is None:
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(["ledgerlearn.lab.forkserver_preload"])
    return _forkserver


@dataclass
class Agent:
    """A running agent process."""

    name: str
    process: ForkedProcess
    log_path: Path
    restarts: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(
    config: RunConfig,
    out_dir: Path,
    *,
    block_time_s: float = 1.0,
    timeout_s: float = 900.0,
    progress: Callable[[str], None] | None = None,
    agent_env: dict[str, dict[str, str]] | None = None,
    restart_killed: bool = False,
    background_load: int = 0,
    on_chain_ready: Callable[[str, Path], None] | None = None,
    on_finished: Callable[[RunResult], None] | None = None,
    on_teardown: Callable[[], None] | None = None,
    hosts: HostNetwork | None = None,
    watch: Callable[[TaskRecord], None] | None = None,
) -> RunResult:
    """Run ``config`` as separate processes on a fresh devnet; returns the recorded result.

    ``on_chain_ready(rpc_url, deployment_file)`` is called once the contracts are deployed and
    the roles granted (the CLI starts the dashboard's gateway there); ``on_finished(result)``
    once the task closed and its history was read back, while the devnet and the agents still
    run and serve the task's content (the CLI writes the report there and, when asked, keeps
    serving the finished task until Ctrl-C); ``on_teardown()`` first thing when the run ends,
    however it ends, while the devnet still runs (the CLI stops the dashboard's gateway there,
    before the chain it reads goes away).

    ``agent_env`` adds environment variables per agent name (``validator-0``, ...), e.g. a
    crash point (:mod:`ledgerlearn.faults`); with ``restart_killed`` an agent killed by
    SIGKILL is started again on its own state (keys, outbox, IPFS repo), as an operator would.
    ``background_load`` keeps that many cores busy with a CPU hog from the agents' start to
    the task's end (:class:`~ledgerlearn.lab.background_load.BackgroundLoad`).

    With ``hosts`` (a started :class:`~ledgerlearn.lab.hosts.HostNetwork`) the devnet and
    every agent run on test hosts of their own (``chain``, ``publisher-0``, ``validator-0``,
    ...: one organisation each), reaching each other over the network's bridge, in a private
    IPFS swarm (a swarm key the run generates). ``watch(record)`` is called with the task's
    record at each progress check once it is published (e.g. to cut a host's link when a round
    starts and restore it later); a chain node that does not answer then is waited for.
    """
    say = progress or (lambda message: log.info("%s", message))
    if (out_dir / "run.json").exists() or (out_dir / "task.json").exists():
        raise DemoError(f"{out_dir} already holds a run (run.json): choose another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # A block per transaction while the consortium is set up, then one every block_time_s.
    chain_host = hosts.add("chain") if hosts is not None else None
    settings = DevnetSettings(
        host=chain_host.address if chain_host is not None else "127.0.0.1",
        port=_free_port(),
        state_file=out_dir / "devnet" / "state.json",
    )
    wrapper = chain_host.command([]) if chain_host is not None else None
    agents: list[Agent] = []
    with Devnet(settings, log_file=out_dir / "logs" / "devnet.log", wrapper=wrapper) as net:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        cast = make_cast(config)
        say(f"devnet at {net.rpc_url}")
        keystores: dict[str, list[str]] = {"publisher": [], "validator": [], "provider": []}
        keydir = out_dir / "keys"
        keydir.mkdir(parents=True, exist_ok=True)
        for role, accounts in (
            ("publisher", [cast.publisher]),
            ("validator", cast.validators),
            ("provider", cast.providers),
        ):
            for i, account in enumerate(accounts):
                path = keydir / f"{role}-{i}.json"
                # pbkdf2 with few iterations: throwaway demo keys, quick to open in 16 processes
                keystore = Account.encrypt(
                    account.key, DEMO_PASSWORD, kdf="pbkdf2", iterations=1000
                )
                strict_json.write_file(path, keystore, mode=0o600)
                keystores[role].append(str(path))
        for account in [cast.admin, cast.publisher, *cast.validators, *cast.providers]:
            chain.fund(account.address, 100 * ETHER)
        deployment = deploy_cast(chain, cast, consortium=config.consortium, by_vote=True, say=say)
        deployment.save(out_dir / "deployment.json")
        reader = LedgerClient(chain, deployment)
        run = {
            "config": config.model_dump(mode="json"),
            "rpc_url": net.rpc_url,
            "deployment": str(out_dir / "deployment.json"),
            "keystores": keystores,
            # a consortium's committee is drawn from the validators' pool
            "committee": [] if config.consortium else [v.address for v in cast.validators],
            "byzantine": [a for a, b in cast.behaviours.items() if b != "honest"],
            "timeout_s": timeout_s,
        }
        if hosts is not None:
            run["hosts"] = {
                name: {"netns": host.netns, "address": host.address}
                for name in _agent_names(cast)
                for host in [hosts.add(name)]
            }
            key = out_dir / "swarm.key"
            SwarmKey.generate().write(key)
            run["swarm_key"] = str(key)
        strict_json.write_file(out_dir / "run.json", run, indent=1)
        if on_chain_ready is not None:
            on_chain_ready(net.rpc_url, out_dir / "deployment.json")
        chain.set_block_time(block_time_s)
        env = {**os.environ, "LEDGERLEARN_AGENT__PASSWORD": DEMO_PASSWORD}
        extra = agent_env or {}

        def spawn(role: str, i: int) -> Agent:
            return _spawn(role, i, out_dir, {**env, **extra.get(f"{role}-{i}", {})})

        clock: BlockClock | None = None
        load = BackgroundLoad(background_load)
        try:
            if background_load:
                load.start()
                say(f"background load: {background_load} busy cores ({load.tool})")
            say(f"starting {len(cast.validators)} validators and {len(cast.providers)} providers")
            agents += [spawn("validator", i) for i in range(len(cast.validators))]
            agents += [spawn("provider", i) for i in range(len(cast.providers))]
            members = [*cast.validators, *cast.providers]
            restart = spawn if restart_killed else None
            _wait(
                lambda: all(reader.member(m.address).peer_address for m in members),
                agents,
                300,
                "every agent to start and register its IPFS node",
                restart,
            )
            if config.consortium:
                pool = Vetting(reader)
                _wait(
                    lambda: len(pool.pool()) == len(cast.validators),
                    agents,
                    120,
                    "every validator to join the pool committees are drawn from",
                    restart,
                )
            say("every agent is up; starting the publisher")
            ticker = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))  # own connection
            clock = BlockClock(lambda: int(ticker.w3.eth.block_number)).start()
            agents.append(spawn("publisher", 0))
            _wait(
                lambda: (out_dir / "task.json").exists(),
                agents,
                180,
                "the task to be published",
                restart,
            )
            published = strict_json.load_file(out_dir / "task.json")
            task_id, vetted = int(published["task_id"]), [int(t) for t in published["vetted"]]
            say(f"task {task_id} published")
            strategy = FLOWS[reader.task(task_id).flow]
            stream, index = EventStream(reader), LedgerIndex()
            said: object = None

            def finished() -> bool:
                nonlocal said
                try:
                    task = reader.task(task_id)
                    batch = stream.poll(verify=False)
                except NodeUnreachableError as exc:  # a test cut the chain's host off
                    log.info("%s; waiting", exc)
                    if watch is not None and task_id in index.tasks:
                        watch(index.tasks[task_id])  # e.g. to restore it
                    return False
                index.apply_all(batch.events)
                stream.commit(batch)
                record = index.tasks[task_id]
                if watch is not None:
                    watch(record)
                if strategy.milestone(record) != said:
                    said = strategy.milestone(record)
                    say(strategy.progress(record))
                return task.closed

            _wait(finished, agents, timeout_s, "the task to finish", restart)
            load.stop()
            clock.stop()
            clock.save(out_dir / "blocks.json")
            say("task finished; reading the history back from the chain and IPFS")
            if config.consortium and config.reward:  # a laboratory ledger has no escrow
                paid = withdraw_rewards(
                    chain, deployment, [*cast.validators, *cast.providers], task_id
                )
                say(f"{len(paid)} earners withdrew their share of the reward")
            result = _collect(
                chain, deployment, task_id, vetted, config, cast, out_dir, block_time_s,
                swarm_key=str(run["swarm_key"]) if "swarm_key" in run else None,
            )  # fmt: skip
            result.timings["wall_s"] = time.perf_counter() - started
            if load.report is not None:
                result.background_load = load.report.describe()
            if on_finished is not None:
                on_finished(result)
        finally:
            if on_teardown is not None:
                on_teardown()
            load.stop()
            if clock is not None:
                clock.stop()
            _stop(agents)
    return result


def _agent_names(cast: Cast) -> list[str]:
    return [
        "publisher-0",
        *(f"validator-{i}" for i in range(len(cast.validators))),
        *(f"provider-{i}" for i in range(len(cast.providers))),
    ]


def _spawn(role: str, index: int, out_dir: Path, env: dict[str, str]) -> Agent:
    from ledgerlearn.lab.agent_process import forked_main

    log_path = out_dir / "logs" / f"{role}-{index}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process = _context().Process(
        target=forked_main, args=(role, index, out_dir, log_path, env), name=f"{role}-{index}"
    )
    process.start()
    return Agent(f"{role}-{index}", ForkedProcess(process), log_path)


def _wait(
    condition: Callable[[], bool],
    agents: list[Agent],
    timeout_s: float,
    what: str,
    restart: Callable[[str, int], Agent] | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        for i, agent in enumerate(agents):
            code = agent.process.poll()
            if code == -signal.SIGKILL and restart is not None:
                role, index = agent.name.rsplit("-", 1)
                log.warning("%s was killed; restarting it", agent.name)
                agents[i] = restart(role, int(index))
                agents[i].restarts = agent.restarts + 1
                continue
            if code is not None and code != 0:
                tail = agent.log_path.read_text(errors="replace").splitlines()[-15:]
                raise DemoError(f"{agent.name} exited with code {code}:\n" + "\n".join(tail))
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.5)


def _stop(agents: list[Agent]) -> None:
    for agent in agents:
        if agent.process.poll() is None:
            agent.process.send_signal(signal.SIGTERM)
    for agent in agents:
        try:
            agent.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            agent.process.kill()
            agent.process.wait()


def _collect(
    chain: Chain,
    deployment: Deployment,
    task_id: int,
    vetted: list[int],
    config: RunConfig,
    cast: Cast,
    out_dir: Path,
    block_time_s: float = 1.0,
    swarm_key: str | None = None,
) -> RunResult:
    reader = LedgerClient(chain, deployment)
    _, _, _, test = config.data()
    storage = StorageSettings(
        repo_dir=out_dir / "agents" / "reporter" / "ipfs",
        swarm_key_file=Path(swarm_key) if swarm_key else None,
    )
    with IpfsNode(storage) as node:  # Ctrl-C / SIGTERM still stop the demo
        participant = Participant(reader, node, out_dir / "agents" / "reporter")
        participant.sync()
        for _, (address, _) in participant.index.members.items():
            try:
                node.connect(address)
            except Exception as exc:  # the agents were just stopped: their content was pinned
                log.debug("cannot connect to %s: %s", address, exc)
        names, behaviours = cast.names, cast.behaviours
        task = participant.task(task_id)
        result = LAB_FLOWS[task.flow].collect(
            participant,
            task_id,
            test,
            names,
            behaviours,
            top_k=config.consensus_top_k,
            margin=config.consensus_margin,
            block_time_s=block_time_s,
            dropped=None,  # each provider process knows its own
        )
        if config.consortium:
            liars = config.validator_behaviours or ["honest"] * len(cast.validators)
            shown: dict[str, str] = dict(behaviours)
            shown.update((v.address, b) for v, b in zip(cast.validators, liars, strict=True))
            result.consortium = collect_consortium(participant, task_id, vetted, names, shown)
    roles: dict[str, list[Stopwatch]] = {"publisher": [], "validators": [], "providers": []}
    for path in sorted((out_dir / "agents").glob("*/timings.json")):
        role = path.parent.name.rsplit("-", 1)[0]
        roles["publisher" if role == "publisher" else role + "s"].append(Stopwatch.load(path))
    result.agent_seconds = agent_seconds(roles)
    blocks = out_dir / "blocks.json"
    if blocks.exists():
        result.round_timings = round_timings(task, BlockClock.load(blocks), roles)
    return result
