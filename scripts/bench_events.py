"""Agents woken by pushed blocks against agents polling, side by side in one run (issue 15,
section 4).

1. Idle CPU: two real ``ledgerlearn validator run`` processes on one devnet, one polling
   (LEDGERLEARN_CHAIN__SUBSCRIBE=false, every 0.5 s) and one subscribed to new heads; each
   process's CPU time (user + system, the process alone, not its fetch worker) over a window
   once both are idle, as a share of one core. Measured on a devnet that mines only on
   transactions (nothing happens: no blocks) and on one that mines a block every second (what
   the demo runs and what a QBFT chain does).
2. Reaction latency: two agents' loops in this process (the same ``run_agent`` the commands
   run), one polling and one subscribed; the main thread publishes tasks one by one and
   records, for each, the time from its receipt to each agent's index showing it.

Run: ``.venv/bin/python scripts/bench_events.py [--window 30] [--tasks 20]`` (about 3 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.table import Table

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.runner import run_agent
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.heads import HeadWatcher
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn.storage import IpfsNode

PASSWORD = "bench"
TICKS = os.sysconf("SC_CLK_TCK")
console = Console()


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class World:
    """A devnet with a laboratory deployment, a publisher and two validators."""

    def __init__(self, root: Path, block_time_s: float | None) -> None:
        self.root = root
        self.net = Devnet(
            DevnetSettings(
                port=free_port(), state_file=root / "state.json", block_time_s=block_time_s
            )
        )
        self.net.start()
        self.chain = connect(ChainSettings(backend="rpc", rpc_url=self.net.rpc_url))
        admin, self.publisher = Account.create(), Account.create()
        self.validators = [Account.create() for _ in range(2)]
        for account in [admin, self.publisher, *self.validators]:
            self.chain.fund(account.address, 10**21)
        self.deployment = deploy(self.chain, admin, admin_delay_s=0)
        self.deployment.save(root / "deployment.json")
        admin_client = LedgerClient(self.chain, self.deployment, admin)
        admin_client.grant_role("PUBLISHER", self.publisher.address)
        for v in self.validators:
            admin_client.grant_role("VALIDATOR", v.address)
            (root / f"{v.address}.json").write_text(json.dumps(Account.encrypt(v.key, PASSWORD)))

    def stop(self) -> None:
        self.net.stop()


def idle_cpu(world: World, window_s: float) -> dict[str, float]:
    """CPU share of one core of a polling and a subscribed validator process, both idle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGERLEARN_")}
    env.update(
        LEDGERLEARN_AGENT__PASSWORD=PASSWORD,
        LEDGERLEARN_CHAIN__RPC_URL=world.net.rpc_url,
        LEDGERLEARN_CHAIN__DEPLOYMENT_FILE=str(world.root / "deployment.json"),
        LEDGERLEARN_AGENT__STATE_DIR=str(world.root / "state"),
        LEDGERLEARN_STORAGE__REPO_DIR=str(world.root / "ipfs"),
    )
    processes = {}
    for mode, validator in zip(("polling", "subscribed"), world.validators, strict=True):
        processes[mode] = subprocess.Popen(
            [sys.executable, "-m", "ledgerlearn.cli", "validator", "run", "--keystore",
             str(world.root / f"{validator.address}.json")],
            env={**env, "LEDGERLEARN_CHAIN__SUBSCRIBE": str(mode == "subscribed").lower()},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        client = LedgerClient(world.chain, world.deployment)
        deadline = time.monotonic() + 120
        while not all(client.member(v.address).peer_address for v in world.validators):
            if time.monotonic() > deadline:
                raise RuntimeError("the validators did not register")
            time.sleep(0.5)
        time.sleep(5)  # past their start
        before = {m: cpu_seconds(p.pid) for m, p in processes.items()}
        began = time.monotonic()
        time.sleep(window_s)
        elapsed = time.monotonic() - began
        return {m: (cpu_seconds(p.pid) - before[m]) / elapsed for m, p in processes.items()}
    finally:
        for p in processes.values():
            p.terminate()
        for p in processes.values():
            p.wait(timeout=60)


def reaction(world: World, tasks: int) -> dict[str, list[float]]:
    """Seconds from each task's receipt to each agent's index showing it."""
    seen: dict[str, dict[int, float]] = {"polling": {}, "subscribed": {}}
    stop = threading.Event()
    nodes = []
    threads = []
    heads = HeadWatcher(world.net.rpc_url).start()
    for mode in seen:
        storage = StorageSettings(repo_dir=world.root / f"reader-{mode}")
        node = IpfsNode(storage, handle_signals=False).start()
        nodes.append(node)
        reader = LedgerClient(world.chain, world.deployment)
        participant = Participant(reader, node, world.root / f"reader-state-{mode}")
        mine = seen[mode]

        def until(p: Participant = participant, mine: dict[int, float] = mine) -> bool:
            now = time.perf_counter()
            for task_id in p.index.tasks:
                mine.setdefault(task_id, now)
            return stop.is_set()

        kwargs = {"heads": heads} if mode == "subscribed" else {}
        thread = threading.Thread(
            target=run_agent, args=(participant, lambda: False), kwargs={"until": until, **kwargs}
        )
        thread.start()
        threads.append(thread)
    publisher = LedgerClient(world.chain, world.deployment, world.publisher)
    committee = tuple(v.address for v in world.validators)
    receipts: dict[int, float] = {}
    try:
        for i in range(tasks):
            params = TaskParams(
                model_spec_hash=sha("spec"),
                model_spec_cid="bafy-spec",
                initial_weights_hash=sha(f"weights-{i}"),
                initial_weights_cid=f"bafy-weights-{i}",
                committee=committee,
                fragment_hashes=tuple(sha(f"f-{i}-{j}") for j in range(2)),
                fragment_cids=tuple(f"bafy-f-{i}-{j}" for j in range(2)),
                quorum=2,
                max_faulty_validators=0,
                threshold=500_000,
            )
            task_id = publisher.publish_task(params)
            receipts[task_id] = time.perf_counter()
            deadline = time.monotonic() + 30
            while not all(task_id in s for s in seen.values()):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"task {task_id} was not seen")
                time.sleep(0.01)
            time.sleep(0.3)  # the agents settle into their wait again
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        heads.stop()
        for node in nodes:
            node.stop()
    return {mode: [max(0.0, s[t] - receipts[t]) for t in receipts] for mode, s in seen.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=30.0, help="Idle CPU window, seconds.")
    parser.add_argument("--tasks", type=int, default=20, help="Tasks for the latency.")
    parser.add_argument(
        "--quick", action="store_true", help="Only the devnet that mines on transactions."
    )
    args = parser.parse_args()
    devnets = [("mines on transactions", None), ("a block per second", 1.0)]
    table = Table(title="Idle agents: CPU share of one core (validator run, the process alone)")
    for column in ("devnet", "polling (0.5 s)", "subscribed (new heads)", "ratio"):
        table.add_column(column, justify="right" if column != "devnet" else "left")
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        for label, block_time in devnets[:1] if args.quick else devnets:
            root = Path(tmp) / label.replace(" ", "-")
            root.mkdir()
            world = World(root, block_time)
            try:
                cpu = idle_cpu(world, args.window)
                if block_time is None:
                    latency = reaction(world, args.tasks)
            finally:
                world.stop()
            ratio = cpu["polling"] / cpu["subscribed"] if cpu["subscribed"] else float("inf")
            table.add_row(
                label, f"{100 * cpu['polling']:.2f}%", f"{100 * cpu['subscribed']:.2f}%",
                f"{ratio:.1f}x",
            )  # fmt: skip
    console.print(table)
    reactions = Table(title=f"Reaction: a task's receipt to the agent's index ({args.tasks} tasks)")
    for column in ("agent loop", "median ms", "p95 ms", "max ms"):
        reactions.add_column(column, justify="right" if column != "agent loop" else "left")
    for mode, values in latency.items():
        ms = sorted(1000 * v for v in values)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        reactions.add_row(mode, f"{statistics.median(ms):.0f}", f"{p95:.0f}", f"{ms[-1]:.0f}")
    console.print(reactions)


if __name__ == "__main__":
    main()
