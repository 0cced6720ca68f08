"""Benchmark the embedded IPFS node: add throughput, fetch latency and cross-process throughput.

Usage::

    .venv/bin/python scripts/bench_ipfs.py [--size-mib 40] [--repeat 3] [--small-mib 1]

One run measures every figure. This process starts a node and adds ``--size-mib`` MiB of
random bytes ``--repeat`` times, plus 32 contents of ``--small-mib`` MiB (fresh bytes each
time, so nothing is deduplicated, and every fetch below is of a different CID). A second
process with its own, new node then connects over loopback and measures, with
``IpfsNode.get`` / ``get_many`` (size cap and sha256 check included):

- the first remote get: the fetch worker starts (and creates its repository: a new agent);
- warm remote gets: the median of 10 gets of one small content each, on the running worker;
- 10 small contents fetched one after the other with ``get`` vs at once with ``get_many``;
- the large contents (throughput).

A third process reopens the second one's repository and times its first remote get again:
the fetch worker starts with the repository kept from before (an agent restart).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ledgerlearn.config import StorageSettings
from ledgerlearn.storage import IpfsNode

MIB = 2**20
ADD_GOAL_S = 1.0
WARM_GETS = 10
BATCH = 10


def _settings(repo: Path) -> StorageSettings:
    return StorageSettings.model_validate({"repo_dir": repo, "get_timeout_s": 120.0})


def _timed_get(node: IpfsNode, item: list[str], size: int) -> float:
    cid, sha_hex = item
    started = time.perf_counter()
    data = node.get(cid, bytes.fromhex(sha_hex), max_bytes=size)
    elapsed = time.perf_counter() - started
    assert len(data) == size
    return elapsed


def fetch_main(request_json: str) -> None:
    """Child mode: start a node, connect to the adder, run the fetches, print timings as JSON."""
    request = json.loads(request_json)
    size, small = int(request["size"]), int(request["small_size"])
    smalls: list[list[str]] = request["smalls"]
    timings: dict[str, Any] = {}
    with IpfsNode(_settings(Path(request["repo"]))) as node:
        node.connect(request["addr"])
        timings["first"] = _timed_get(node, smalls[0], small)
        if request["mode"] == "full":
            warm = smalls[1 : 1 + WARM_GETS]
            sequential = smalls[1 + WARM_GETS : 1 + WARM_GETS + BATCH]
            batch = smalls[1 + WARM_GETS + BATCH : 1 + WARM_GETS + 2 * BATCH]
            timings["warm"] = [_timed_get(node, item, small) for item in warm]
            started = time.perf_counter()
            for item in sequential:
                _timed_get(node, item, small)
            timings["sequential"] = time.perf_counter() - started
            started = time.perf_counter()
            results = node.get_many([(cid, bytes.fromhex(h)) for cid, h in batch], max_bytes=small)
            timings["get_many"] = time.perf_counter() - started
            assert all(isinstance(r, bytes) and len(r) == small for r in results.values())
            timings["large"] = [_timed_get(node, item, size) for item in request["items"]]
    print(json.dumps(timings))


def _run_child(request: dict[str, Any]) -> dict[str, Any]:
    child = subprocess.run(
        [sys.executable, __file__, "--fetch", json.dumps(request)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        raise SystemExit(1)
    result: dict[str, Any] = json.loads(child.stdout)
    return result


def _line(label: str, seconds: list[float], size_mib: float) -> str:
    best, median = min(seconds), statistics.median(seconds)
    runs = ", ".join(f"{s:.2f}" for s in seconds)
    return (
        f"{label:<34} median {median:6.2f} s = {size_mib / median:7.1f} MiB/s   "
        f"best {best:6.2f} s = {size_mib / best:7.1f} MiB/s   (runs: {runs} s)"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small-mib", type=float, default=1.0)
    parser.add_argument("--fetch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch:
        fetch_main(args.fetch)
        return 0

    size, small = int(args.size_mib * MIB), int(args.small_mib * MIB)
    with tempfile.TemporaryDirectory(prefix="bench-ipfs-") as tmp:
        root = Path(tmp)
        with IpfsNode(_settings(root / "adder")) as node:
            items: list[tuple[str, str]] = []
            add_s: list[float] = []
            local_s: list[float] = []
            for _ in range(args.repeat):
                data = os.urandom(size)
                started = time.perf_counter()
                cid, digest = node.put(data)
                add_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                node.get(cid, digest, max_bytes=size)
                local_s.append(time.perf_counter() - started)
                items.append((cid, digest.hex()))
            smalls = []
            for _ in range(2 + WARM_GETS + 2 * BATCH):
                cid, digest = node.put(os.urandom(small))
                smalls.append((cid, digest.hex()))
            request: dict[str, Any] = {
                "repo": str(root / "fetcher"),
                "addr": node.multiaddrs[0],
                "size": size,
                "small_size": small,
                "items": items,
                "smalls": smalls[:-1],
                "mode": "full",
            }
            started = time.perf_counter()
            full = _run_child(request)
            child_s = time.perf_counter() - started
            restarted = _run_child({**request, "smalls": smalls[-1:], "mode": "first"})

    mib, small_mib = size / MIB, small / MIB
    print(f"IPFS benchmark: {mib:g} MiB random content, {args.repeat} run(s), loopback")
    print(_line("add (put, pinned)", add_s, mib))
    print(_line("local get (pinned content)", local_s, mib))
    print(_line("cross-process fetch (get)", full["large"], mib))
    print(f"second process total incl. its node start: {child_s:.2f} s")
    print(f"remote get latency, {small_mib:.3g} MiB content, another process's node over loopback:")
    print(f"  first get, new agent (worker start + repo creation)  {full['first']:6.3f} s")
    print(f"  first get, restarted agent (worker repo kept)        {restarted['first']:6.3f} s")
    warm = full["warm"]
    print(
        f"  warm get, median of {len(warm)}                              "
        f"{statistics.median(warm):6.3f} s   (best {min(warm):.3f}, worst {max(warm):.3f})"
    )
    seq, many = full["sequential"], full["get_many"]
    print(
        f"  {BATCH} x {small_mib:.3g} MiB: {BATCH} sequential gets {seq:6.3f} s, get_many "
        f"{many:6.3f} s ({seq / many:.1f}x)"
    )
    verdict = "met" if statistics.median(add_s) < ADD_GOAL_S * mib / 40 else "MISSED"
    print(f"goal: add 40 MiB in < {ADD_GOAL_S:g} s -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
