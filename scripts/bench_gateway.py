"""Gateway read throughput: requests/s and latency percentiles with 50 concurrent clients.

A devnet, the contracts, a task published through the gateway with a round of updates and
scores, the gateway as its own process (uvicorn, one worker) on 127.0.0.1; then 50 clients
(asyncio + httpx, keep-alive) each send a fixed number of reads cycling through the read
routes. Bounded in count and time; loopback only. Client and server share the machine's
cores, so the figures are a floor for the server alone.

    python scripts/bench_gateway.py [--clients 50] [--requests-per-client 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.client import GatewayClient
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.types import to_fixed
from ledgerlearn.config import DevnetSettings
from ledgerlearn.model import build
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from tests.api.conftest import GatewayProcess, free_port, make_world
from tests.api.test_publish_and_read import request_for


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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests-per-client", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        net = Devnet(DevnetSettings(port=free_port(), state_file=root / "devnet" / "state.json"))
        net.start()
        try:
            world = make_world(root, net)
            gateway = GatewayProcess(world, root / "gateway").start()
            try:
                with GatewayClient(gateway.url, world.publisher) as client:
                    task_id = client.publish(request_for(world, round_length=40))["task_id"]
                spec = logreg_digits()
                updates = []
                for i, provider in enumerate(world.providers):
                    cid, digest = world.node.put(
                        encode(dict(state_dict_to_arrays(build(spec, seed=i))), spec=spec)
                    )
                    c = world.client(provider)
                    c.join_task(task_id)
                    c.submit_update(task_id, 1, digest, cid, 100)
                    updates.append(digest)
                for v in world.validators:
                    world.client(v).submit_scores(task_id, updates, [to_fixed(0.5)] * len(updates))
                time.sleep(2)
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
                asyncio.run(load(gateway.url, paths, 5, 10))  # warm-up
                seconds, latencies, errors = asyncio.run(
                    load(gateway.url, paths, args.clients, args.requests_per_client)
                )
            finally:
                gateway.stop()
            world.node.stop()
        finally:
            net.stop()
    every = [x for v in latencies.values() for x in v]
    total = len(every)
    print(
        f"gateway reads, {args.clients} concurrent clients x {args.requests_per_client} "
        f"requests, loopback, one uvicorn worker, 2 cores shared with the clients"
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
        sys.exit(1)


if __name__ == "__main__":
    main()
