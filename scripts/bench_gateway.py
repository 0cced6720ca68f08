"""Gateway benchmarks: read throughput, and what hostile input costs the server.

A devnet, the contracts, a task published through the gateway with a round of updates and
scores, the gateway as its own process (uvicorn, one worker) on 127.0.0.1. Then:

- ``reads``: 50 clients (asyncio + httpx, keep-alive) each send a fixed number of reads
  cycling through the read routes: requests/s and latency percentiles;
- ``uploads``: 16 parallel unsigned 31 MiB uploads to ``POST /tasks``: the server's peak RSS
  above its baseline (sampled from /proc) and what it still holds afterwards;
- ``flood``: 20 clients download a CID the chain records but nobody serves, over and over,
  while a probe measures ``/health`` and the download of an available model: p50/p95/max;
- ``bombs``: a publisher's ``.npz`` of 1 MB that inflates to 2e6 x 64 float64 and a 30 MB
  CSV: time to the answer, the server's peak RSS above baseline, the slowest ``/health``
  meanwhile.

Bounded in count and time; loopback only. Client and server share the machine's cores, so
the figures are a floor for the server alone. The script only uses the gateway's HTTP API
and ``GatewayClient``, so it runs unchanged against an older checkout (copy it there) to
compare before and after.

    python scripts/bench_gateway.py [--only reads,uploads,flood,bombs] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import DevnetSettings
from ledgerlearn.core.rules import to_fixed
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn_gateway.client import GatewayClient
from tests.api.conftest import GatewayProcess, World, free_port, make_world, publication_form
from tests.api.test_publish_and_read import request_for

MIB = 2**20


# -- measuring the server ----------------------------------------------------------------
def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class RssSampler:
    """Samples a process's RSS every few milliseconds while in a ``with`` block."""

    def __init__(self, pid: int, every_s: float = 0.005) -> None:
        self.pid = pid
        self.every_s = every_s
        self.baseline = rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(self.every_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_above_baseline_mib(self) -> float:
        return (self.peak - self.baseline) / MIB


class Prober:
    """Times GET requests to some paths in a loop, in a thread, while in a ``with`` block."""

    def __init__(self, base: str, paths: list[str], every_s: float = 0.05) -> None:
        self.base = base
        self.paths = paths
        self.every_s = every_s
        self.latencies: dict[str, list[float]] = {p: [] for p in paths}
        self.statuses: dict[str, list[int]] = {p: [] for p in paths}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as http:
            while not self._stop.is_set():
                for path in self.paths:
                    started = time.perf_counter()
                    try:
                        status = http.get(path).status_code
                    except httpx.HTTPError:
                        status = -1
                    self.latencies[path].append(time.perf_counter() - started)
                    self.statuses[path].append(status)
                self._stop.wait(self.every_s)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000 if values else float("nan")


def describe(values: list[float]) -> str:
    if not values:
        return "no probe answered (the request was done before the first one)"
    return (
        f"n {len(values)}, p50 {percentile(values, 50):.1f} ms, "
        f"p95 {percentile(values, 95):.1f} ms, max {max(values, default=0) * 1000:.1f} ms"
    )


# -- reads ---------------------------------------------------------------------------------
async def client_loop(
    base: str,
    paths: list[str],
    count: int,
    offset: int,
    latencies: dict[str, list[float]],
    errors: list[str],
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for i in range(count):
            path = paths[(offset + i) % len(paths)]
            started = time.perf_counter()
            response = await http.get(path)
            latencies[path].append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code}")


async def load(
    base: str, paths: list[str], clients: int, per_client: int
) -> tuple[float, dict[str, list[float]], list[str]]:
    latencies: dict[str, list[float]] = {p: [] for p in paths}
    errors: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(client_loop(base, paths, per_client, c, latencies, errors) for c in range(clients))
    )
    return time.perf_counter() - started, latencies, errors


def bench_reads(gateway: GatewayProcess, paths: list[str], clients: int, per_client: int) -> bool:
    asyncio.run(load(gateway.url, paths, 5, 10))  # warm-up
    seconds, latencies, errors = asyncio.run(load(gateway.url, paths, clients, per_client))
    every = [x for v in latencies.values() for x in v]
    total = len(every)
    print(
        f"\n== reads: {clients} concurrent clients x {per_client} requests, loopback, one "
        "uvicorn worker, 2 cores shared with the clients"
    )
    print(f"{'route':<58} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for path, values in latencies.items():
        print(
            f"{path[:58]:<58} {len(values):>6} {percentile(values, 50):>8.1f} "
            f"{percentile(values, 95):>8.1f}"
        )
    print(
        f"{'all reads':<58} {total:>6} {percentile(every, 50):>8.1f} {percentile(every, 95):>8.1f}"
    )
    print(
        f"throughput: {total / seconds:.0f} requests/s ({total} in {seconds:.1f} s), "
        f"p95 {percentile(every, 95):.1f} ms, p99 {percentile(every, 99):.1f} ms, "
        f"mean {statistics.fmean(every) * 1000:.1f} ms, errors {len(errors)}"
    )
    if errors:
        print("first errors:", errors[:5])
    return not errors


# -- unsigned uploads ------------------------------------------------------------------------
def bench_uploads(gateway: GatewayProcess, parallel: int = 16, size: int = 31 * MIB) -> None:
    assert gateway.process is not None
    body = b"\0" * size  # shared by every sender: the client holds one copy
    outcomes: list[str] = []

    def upload() -> None:
        try:
            response = httpx.post(
                gateway.url + "/tasks",
                content=body,
                headers={"Content-Type": "multipart/form-data; boundary=x"},
                timeout=120,
            )
            outcomes.append(str(response.status_code))
        except httpx.HTTPError as exc:
            outcomes.append(f"closed ({type(exc).__name__})")

    time.sleep(1.0)
    with RssSampler(gateway.process.pid) as sampler:
        started = time.perf_counter()
        threads = [threading.Thread(target=upload) for _ in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
    time.sleep(2.0)
    held = (rss_bytes(gateway.process.pid) - sampler.baseline) / MIB
    counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    print(f"\n== {parallel} parallel unsigned {size // MIB} MiB uploads to POST /tasks")
    print(
        f"server peak RSS +{sampler.peak_above_baseline_mib:.0f} MiB above baseline "
        f"({sampler.baseline / MIB:.0f} MiB), still held 2 s after: +{held:.0f} MiB; "
        f"{seconds:.1f} s; answers {counts}"
    )


# -- flood of an unavailable CID ----------------------------------------------------------------
FLOOD = """
import json, signal, sys, threading, httpx
url, clients = sys.argv[1], int(sys.argv[2])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock = threading.Lock()
def attack():
    with httpx.Client(timeout=120) as http:
        while not stop.is_set():
            try:
                status = http.get(url).status_code
            except httpx.HTTPError:
                status = -1
            with lock:
                print(status, flush=True)
threads = [threading.Thread(target=attack) for _ in range(clients)]
for t in threads: t.start()
for t in threads: t.join()
"""
"""The flood's clients, in a process of their own (threads of the measuring process would
hold its GIL and slow the probe, not the server)."""


def bench_flood(
    gateway: GatewayProcess,
    dead_cid: str,
    live_cids: dict[str, str],
    clients: int = 20,
    seconds: float = 20.0,
) -> None:
    attack = subprocess.Popen(
        [sys.executable, "-c", FLOOD, f"{gateway.url}/models/{dead_cid}", str(clients)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        paths = ["/health", *(f"/models/{cid}" for cid in live_cids.values())]
        with Prober(gateway.url, paths, every_s=0.05) as probe:
            time.sleep(seconds)
    finally:
        attack.terminate()
        out, _ = attack.communicate(timeout=180)
    answers = [int(line) for line in out.split()]
    health = probe.latencies["/health"]
    counts = {s: answers.count(s) for s in sorted(set(answers))}
    print(
        f"\n== {clients} clients download an unavailable CID for {seconds:.0f} s "
        "(the chain records it, nobody serves it)"
    )
    print(f"/health: {describe(health)}")
    for what, cid in live_cids.items():
        live = probe.latencies[f"/models/{cid}"]
        status = probe.statuses[f"/models/{cid}"]
        print(
            f"{what}: {describe(live)}; answers "
            f"{ {s: status.count(s) for s in sorted(set(status))} }"
        )
    print(f"flood answers: {counts}")


# -- decompression and parse bombs -----------------------------------------------------------------
def npz_bomb(rows: int = 2_000_000, features: int = 64) -> bytes:
    """An .npz whose x inflates to rows x features float64 (zeros), written in chunks."""
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (rows, features)}
    )
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            chunk = bytes(8 * features * 10_000)
            for _ in range(rows // 10_000):
                member.write(chunk)
        y = io.BytesIO()
        np.lib.format.write_array(y, np.zeros(rows, dtype=np.int64))
        archive.writestr("y.npy", y.getvalue())
    return buffer.getvalue()


def big_csv(target_bytes: int = 30_000_000) -> bytes:
    """About 30 MB of CSV packed with values (one digit each: 14.8 M values, under the cap of
    16.7 M), the densest text a parser has to turn into numbers."""
    rows = np.random.default_rng(0).integers(0, 10, size=(1000, 64))
    block = "".join(",".join(map(str, row)) + f",{i % 10}\n" for i, row in enumerate(rows))
    data = block.encode()
    return data * (target_bytes // len(data))


def bench_bomb(
    gateway: GatewayProcess, world: World, name: str, content: bytes, label: str
) -> None:
    assert gateway.process is not None
    files, data = publication_form(world)
    files["validation"] = (name, content, "application/octet-stream")
    time.sleep(1.0)
    with GatewayClient(gateway.url, world.publisher) as client:
        client.info  # noqa: B018 - fetched before the measurement
        with RssSampler(gateway.process.pid) as sampler, Prober(gateway.url, ["/health"]) as probe:
            started = time.perf_counter()
            response = client.request("POST", "/tasks", signed=True, files=files, data=data)
            seconds = time.perf_counter() - started
    message = ""
    if response.status_code >= 400:
        message = ": " + str(response.json().get("message", ""))[:150]
    print(
        f"{label} ({len(content) / 1e6:.1f} MB): {response.status_code}{message} in "
        f"{seconds:.1f} s, server peak RSS +{sampler.peak_above_baseline_mib:.0f} MiB; "
        f"/health meanwhile: {describe(probe.latencies['/health'])}"
    )


def bench_bombs(gateway: GatewayProcess, world: World) -> None:
    print("\n== a publisher's decompression and parse bombs (POST /tasks, signed)")
    bench_bomb(gateway, world, "bomb.npz", npz_bomb(), "npz inflating to 2e6 x 64 float64")
    bench_bomb(gateway, world, "big.csv", big_csv(), "CSV of 64 features")


# -- setup ---------------------------------------------------------------------------------------
def setup_task(
    world: World, gateway: GatewayProcess
) -> tuple[int, list[bytes], str, dict[str, str]]:
    """A published task, a round of scored updates (on the members' node), and a recorded CID
    nobody serves."""
    with GatewayClient(gateway.url, world.publisher) as client:
        published = client.publish(request_for(world, round_length=200))
    task_id = int(published["task_id"])
    spec = logreg_digits()
    updates, cids = [], []
    for i, provider in enumerate(world.providers[:-1]):
        cid, digest = world.node.put(
            encode(dict(state_dict_to_arrays(build(spec, seed=10 + i))), spec=spec)
        )
        c = world.client(provider)
        c.join_task(task_id)
        c.submit_update(task_id, 1, digest, cid, 100)
        updates.append(digest)
        cids.append(cid)
    for v in world.validators:
        world.client(v).submit_scores(task_id, updates, [to_fixed(0.5)] * len(updates))
    # an update whose content nobody has: its CID is computed, never stored
    ghost = encode(dict(state_dict_to_arrays(build(spec, seed=99))), spec=spec)
    ghost = ghost + secrets.token_bytes(8)
    dead_cid = world.node.compute_cid(ghost)
    extra = world.client(world.providers[-1])
    extra.join_task(task_id)
    extra.submit_update(task_id, 1, hashlib.sha256(ghost).digest(), dead_cid, 100)
    live = {
        "available model on the gateway's node": str(published["params"]["initial_weights_cid"]),
        "available model on another node": cids[0],
    }
    return task_id, updates, dead_cid, live


def wait_for(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise RuntimeError("timed out waiting for the gateway to index the setup")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="reads,uploads,flood,bombs")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests-per-client", type=int, default=100)
    parser.add_argument("--flood-seconds", type=float, default=20.0)
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        net = Devnet(DevnetSettings(port=free_port(), state_file=root / "devnet" / "state.json"))
        net.start()
        try:
            world = make_world(root, net)
            gateway = GatewayProcess(world, root / "gateway").start()
            try:
                task_id, updates, dead_cid, live_cids = setup_task(world, gateway)
                http = httpx.Client(base_url=gateway.url, timeout=30)

                def indexed() -> bool:
                    found = http.get(f"/tasks/{task_id}/updates", params={"limit": 500})
                    return found.status_code == 200 and found.json()["total"] == len(updates) + 1

                wait_for(indexed)
                print(
                    f"server pid {gateway.process.pid if gateway.process else '?'}, "
                    f"python {sys.version.split()[0]}, {os.cpu_count()} cores"
                )
                if "reads" in wanted:
                    paths = [
                        "/tasks",
                        f"/tasks/{task_id}",
                        f"/tasks/{task_id}/rounds",
                        f"/tasks/{task_id}/rounds/1",
                        f"/tasks/{task_id}/updates",
                        f"/tasks/{task_id}/updates/0x{updates[0].hex()}",
                        "/members",
                        f"/tasks/{task_id}/model",
                        f"/tasks/{task_id}/metrics",
                    ]
                    ok = bench_reads(gateway, paths, args.clients, args.requests_per_client) and ok
                if "uploads" in wanted:
                    bench_uploads(gateway)
                if "flood" in wanted:
                    bench_flood(gateway, dead_cid, live_cids, seconds=args.flood_seconds)
                if "bombs" in wanted:
                    bench_bombs(gateway, world)
                alive = gateway.process is not None and gateway.process.poll() is None
                print(f"\ngateway still running: {alive}")
            finally:
                gateway.stop()
            world.node.stop()
        finally:
            net.stop()
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
