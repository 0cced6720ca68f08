"""Fixtures for the storage tests: real kubo nodes on temporary repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ledgerlearn
from ledgerlearn.config import StorageSettings
from ledgerlearn.storage import IpfsNode

NodeFactory = Callable[..., IpfsNode]


def _factory(root: Path) -> tuple[NodeFactory, list[IpfsNode]]:
    nodes: list[IpfsNode] = []

    def make(name: str, **overrides: Any) -> IpfsNode:
        node = IpfsNode(StorageSettings(repo_dir=root / name, **overrides)).start()
        nodes.append(node)
        return node

    return make, nodes


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[NodeFactory]:
    """Start nodes on repositories below ``tmp_path``; all are stopped afterwards."""
    make, nodes = _factory(tmp_path)
    yield make
    for node in reversed(nodes):
        node.stop()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[IpfsNode, IpfsNode]]:
    """Two nodes of this process; the second knows (and dialled) the first."""
    make, nodes = _factory(tmp_path_factory.mktemp("pair"))
    first = make("first")
    second = make("second")
    second.connect(first.multiaddrs[0])
    yield first, second
    for node in reversed(nodes):
        node.stop()


def subprocess_env() -> dict[str, str]:
    """Environment for child Python processes that import ledgerlearn."""
    env = dict(os.environ)
    root = str(Path(ledgerlearn.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def child_pids(pid: int) -> list[int]:
    """Direct children of process ``pid`` (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return children


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


PYTHON = sys.executable


def spawn_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Run ``python -c code args...`` with text pipes on stdin, stdout and stderr."""
    return subprocess.Popen(
        [PYTHON, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
    )
