"""Behaviour across processes: 40 MB transfer, clean stdout, SIGTERM, locked repositories."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from ledgerlearn.config import StorageSettings
from ledgerlearn.errors import StorageError
from ledgerlearn.storage import IpfsNode

from .conftest import PYTHON, NodeFactory, child_pids, pid_alive, spawn_python, subprocess_env

SERVE = textwrap.dedent(
    """
    import json, random, sys
    from ledgerlearn.config import StorageSettings
    from ledgerlearn.storage import IpfsNode
    size, seed = int(sys.argv[2]), int(sys.argv[3])
    with IpfsNode(StorageSettings(repo_dir=sys.argv[1])) as node:
        cid, digest = node.put(random.Random(seed).randbytes(size))
        print(json.dumps({"cid": cid, "sha256": digest.hex(), "addrs": node.multiaddrs}))
        sys.stdin.read()  # serve until the test closes stdin
    print("closed")
    """
)

SLEEP = textwrap.dedent(
    """
    import signal, sys, time
    from ledgerlearn.config import StorageSettings
    from ledgerlearn.storage import IpfsNode
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    try:
        with IpfsNode(StorageSettings(repo_dir=sys.argv[1])) as node:
            print("ready", flush=True)
            if len(sys.argv) > 2:  # wait in a get for a CID nobody has
                cid = node.compute_cid(b"withheld" * 100)
                node.get(cid, bytes(32), timeout_s=120)
            time.sleep(120)
    finally:
        print("closed", flush=True)
    """
)


def test_second_process_fetches_40_mb_over_loopback(tmp_path: Path, make_node: NodeFactory) -> None:
    size = 40 * 2**20
    server = spawn_python(SERVE, str(tmp_path / "server"), str(size), "7")
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the first stdout line is the JSON: nothing printed before
        info = json.loads(line)
        node = make_node("client")
        node.connect(info["addrs"][0])
        started = time.monotonic()
        data = node.get(info["cid"], bytes.fromhex(info["sha256"]), max_bytes=size, timeout_s=60)
        elapsed = time.monotonic() - started
        assert len(data) == size
        print(f"fetched 40 MB across processes in {elapsed:.2f} s ({40 / elapsed:.1f} MB/s)")
    finally:
        out, err = server.communicate(input="", timeout=30)
    assert server.returncode == 0, err
    assert out.strip() == "closed"


def test_importing_and_running_a_node_prints_nothing_on_stdout(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        import ledgerlearn.storage
        from ledgerlearn.config import StorageSettings
        with ledgerlearn.storage.IpfsNode(StorageSettings(repo_dir=sys.argv[1])) as node:
            cid, digest = node.put(b"hello")
            assert node.get(cid, digest) == b"hello"
        """
    )
    result = subprocess.run(
        [PYTHON, "-c", code, str(tmp_path / "repo")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=subprocess_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "kubo.log").exists()  # Go's log goes to the repository
    assert (tmp_path / "repo" / "kubo.log").exists()


def _wait_exit(proc: subprocess.Popen[str], within_s: float) -> float:
    started = time.monotonic()
    try:
        proc.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"process still running {within_s} s after SIGTERM")
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("signum", "returncode"),
    [(signal.SIGTERM, 0), (signal.SIGINT, -signal.SIGINT)],  # SIGINT: KeyboardInterrupt
    ids=["SIGTERM", "SIGINT"],
)
def test_signal_stops_a_running_node_cleanly(tmp_path: Path, signum: int, returncode: int) -> None:
    proc = spawn_python(SLEEP, str(tmp_path / "repo"))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signum)
    _wait_exit(proc, within_s=5)
    out, err = proc.communicate()
    assert proc.returncode == returncode, err
    assert out.strip() == "closed"  # the with block and the finally clause ran


@pytest.mark.parametrize(
    ("signum", "returncode"),
    [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)],  # SIGKILL: PR_SET_PDEATHSIG
    ids=["SIGTERM", "SIGKILL"],
)
def test_agent_ending_during_a_pending_get_also_ends_the_fetch_worker(
    tmp_path: Path, signum: int, returncode: int
) -> None:
    proc = spawn_python(SLEEP, str(tmp_path / "repo"), "get")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 20
    workers: list[int] = []
    while not workers and time.monotonic() < deadline:
        workers = child_pids(proc.pid)
        time.sleep(0.05)
    assert workers, "no fetch worker started"
    time.sleep(0.5)  # let the worker start its node (and kubo take SIGTERM over)
    proc.send_signal(signum)
    _wait_exit(proc, within_s=5)
    assert proc.returncode == returncode, proc.communicate()[1]
    gone_by = time.monotonic() + 3
    while [w for w in workers if pid_alive(w)] and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not [w for w in workers if pid_alive(w)]
    proc.communicate()


def test_repository_used_by_another_process_is_refused(tmp_path: Path) -> None:
    proc = spawn_python(SLEEP, str(tmp_path / "repo"))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        config_before = (tmp_path / "repo" / "config").read_bytes()
        with pytest.raises(StorageError, match="in use by another process"):
            IpfsNode(StorageSettings.model_validate({"repo_dir": tmp_path / "repo"})).start()
        assert (tmp_path / "repo" / "config").read_bytes() == config_before
    finally:
        proc.kill()
        proc.communicate()
