"""The long-lived fetch worker: reuse, replacement after a crash, get_many, eager start."""

from __future__ import annotations

import json
import os
import signal
import statistics
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgerlearn.errors import (
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    StorageError,
)
from ledgerlearn.storage import IpfsNode, sha256_digest

from .conftest import NodeFactory, pid_alive, spawn_python

SERVE_MANY = textwrap.dedent(
    """
    import json, random, sys
    from ledgerlearn.config import StorageSettings
    from ledgerlearn.storage import IpfsNode, sha256_digest
    count, size = int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(11)
    with IpfsNode(StorageSettings(repo_dir=sys.argv[1])) as node:
        items = [node.put(rng.randbytes(size)) for _ in range(count)]
        withheld = rng.randbytes(size)  # its CID is valid, but nobody stores it
        items.append((node.compute_cid(withheld), sha256_digest(withheld)))
        print(json.dumps({
            "items": [[cid, digest.hex()] for cid, digest in items],
            "addrs": node.multiaddrs,
        }), flush=True)
        sys.stdin.read()  # serve until the test closes stdin
    """
)

EAGER_WORKER = textwrap.dedent(
    """
    import sys, time
    from ledgerlearn.config import StorageSettings
    from ledgerlearn.storage import IpfsNode
    with IpfsNode(StorageSettings(repo_dir=sys.argv[1]), start_fetch_worker=True) as node:
        while node.fetch_worker_pid is None:
            time.sleep(0.02)
        print(node.fetch_worker_pid, flush=True)
        time.sleep(120)
    """
)


@pytest.fixture
def linked(make_node: NodeFactory) -> tuple[IpfsNode, IpfsNode]:
    """A node that stores content and a fresh node (no fetch worker yet) that knows it."""
    origin, reader = make_node("origin"), make_node("reader")
    reader.connect(origin.multiaddrs[0])
    return origin, reader


def _wait_gone(pid: int, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not pid_alive(pid)


def _timed_get(node: IpfsNode, cid: str, digest: bytes, timeout_s: float) -> float:
    started = time.monotonic()
    node.get(cid, digest, timeout_s=timeout_s)
    return time.monotonic() - started


def test_the_worker_is_started_once_and_reused(linked: tuple[IpfsNode, IpfsNode]) -> None:
    origin, reader = linked
    items = [origin.put(os.urandom(300_000)) for _ in range(4)]
    assert reader.fetch_worker_pid is None  # started lazily
    first = _timed_get(reader, *items[0], timeout_s=20)
    pid = reader.fetch_worker_pid
    assert pid is not None and pid_alive(pid)
    warm = statistics.median(_timed_get(reader, cid, d, timeout_s=20) for cid, d in items[1:])
    assert reader.fetch_worker_pid == pid
    print(f"first remote get {first:.3f} s, warm {warm:.3f} s")
    assert warm < first / 2


def test_a_crashed_worker_is_replaced(linked: tuple[IpfsNode, IpfsNode]) -> None:
    origin, reader = linked
    first_cid, first_digest = origin.put(os.urandom(20_000))
    reader.get(first_cid, first_digest, timeout_s=20)
    idle = reader.fetch_worker_pid
    assert idle is not None
    os.kill(idle, signal.SIGKILL)  # dies while idle
    assert _wait_gone(idle)
    cid, digest = origin.put(os.urandom(20_000))
    assert reader.get(cid, digest, timeout_s=20)
    busy = reader.fetch_worker_pid
    assert busy not in (None, idle)

    # dies during a fetch: the fetch is retried on a new worker, within its own deadline
    withheld = os.urandom(1000)
    errors: list[BaseException] = []

    def wait_for_withheld() -> None:
        try:
            reader.get(origin.compute_cid(withheld), sha256_digest(withheld), timeout_s=2)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait_for_withheld)
    thread.start()
    time.sleep(0.4)
    assert busy is not None
    os.kill(busy, signal.SIGKILL)
    thread.join(timeout=10)
    assert len(errors) == 1 and isinstance(errors[0], ContentUnavailableError), errors
    assert reader.get(cid, digest, timeout_s=20)


@pytest.fixture
def server_of_ten(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Another process storing 9 contents of 1 MB, listing them with a 10th, withheld CID."""
    proc = spawn_python(SERVE_MANY, str(tmp_path / "server"), "9", str(2**20))
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        proc.communicate(input="", timeout=30)


def test_get_many_from_another_process_with_one_withheld_cid(
    server_of_ten: dict[str, Any], make_node: NodeFactory
) -> None:
    items = [(cid, bytes.fromhex(h)) for cid, h in server_of_ten["items"]]
    withheld = items[-1][0]
    node = make_node("client")
    node.connect(str(server_of_ten["addrs"][0]))
    deadline = 3.0
    started = time.monotonic()
    results = node.get_many(items, timeout_s=deadline)
    elapsed = time.monotonic() - started
    assert list(results) == [cid for cid, _ in items]
    assert isinstance(results[withheld], ContentUnavailableError)
    fetched = [r for cid, r in results.items() if cid != withheld]
    assert all(isinstance(r, bytes) and len(r) == 2**20 for r in fetched)
    assert [sha256_digest(r) for r in fetched if isinstance(r, bytes)] == [d for _, d in items[:-1]]
    assert deadline <= elapsed < deadline + 2.0
    assert not any(node.has(cid) for cid, _ in items)


def test_get_many_checks_every_item(linked: tuple[IpfsNode, IpfsNode]) -> None:
    origin, reader = linked
    small = [origin.put(os.urandom(100_000)) for _ in range(3)]
    # two too large contents in flight at once: the shared block store overruns, both are
    # retried alone, and each is then found too large on its own
    big = [origin.put(os.urandom(8 * 2**20)) for _ in range(2)]
    local_cid, local_digest = reader.put(b"local content")
    bad_cid, bad_digest = origin.put(os.urandom(1000))
    wrong = bytes([bad_digest[0] ^ 1]) + bad_digest[1:]
    results = reader.get_many(
        [
            *small,
            *big,
            (local_cid, local_digest),
            (bad_cid, wrong),
            ("not a cid/..", bytes(32)),
            small[0],  # listed twice: fetched once
        ],
        max_bytes=256 * 1024,
        timeout_s=20,
    )
    assert len(results) == 8
    for cid, _ in small:
        assert isinstance(results[cid], bytes)
    for cid, _ in big:
        assert isinstance(results[cid], ContentTooLargeError)
        assert "maximum 262144 bytes" in str(results[cid])
    assert results[local_cid] == b"local content"
    assert isinstance(results[bad_cid], ContentHashMismatchError)
    malformed = results["not a cid/.."]
    assert isinstance(malformed, StorageError) and "malformed CID" in str(malformed)
    with pytest.raises(ValueError, match="different expected sha256"):
        reader.get_many([(bad_cid, bad_digest), (bad_cid, wrong)])
    with pytest.raises(ValueError, match="32 bytes"):
        reader.get_many([(bad_cid, bad_digest[:20])])
    assert reader.get_many([]) == {}


def test_stopping_the_node_cancels_a_pending_get(make_node: NodeFactory) -> None:
    node = make_node("stopping")
    withheld = os.urandom(1000)
    errors: list[BaseException] = []

    def wait_for_withheld() -> None:
        try:
            node.get(node.compute_cid(withheld), sha256_digest(withheld), timeout_s=60)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait_for_withheld)
    thread.start()
    time.sleep(0.5)
    pid = node.fetch_worker_pid
    started = time.monotonic()
    node.stop()
    thread.join(timeout=10)
    assert time.monotonic() - started < 5
    assert len(errors) == 1 and type(errors[0]) is StorageError, errors
    assert pid is not None and not pid_alive(pid)


def test_an_eager_worker_dies_when_its_agent_is_killed(tmp_path: Path) -> None:
    proc = spawn_python(EAGER_WORKER, str(tmp_path / "agent"))
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())  # started with the node, before any get
        assert pid_alive(pid)
        time.sleep(0.3)  # let the worker start its node (kubo then ignores SIGTERM)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        assert _wait_gone(pid)  # parent-death signal
    finally:
        proc.kill()
        proc.communicate()
