"""Signed transactions kept on disk before they are broadcast.

An agent killed between signing and seeing its receipt must, once restarted, neither lose the
transaction nor send a second one for the same intent (a score, an attestation). The
transactor therefore writes every signed transaction under an intent key (e.g.
``score:3:0xab..``) to the outbox and fsyncs it before broadcasting. After a restart, the same
intent finds its entry and re-broadcasts the very same signed bytes — same nonce, same hash —
which the chain includes at most once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ledgerlearn import strict_json
from ledgerlearn.errors import ChainError


@dataclass(frozen=True)
class OutboxEntry:
    """One signed transaction and the intent it carries."""

    key: str
    nonce: int
    tx_hash: str
    raw: str


class Outbox:
    """An append-only file of :class:`OutboxEntry`, one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._entries: dict[str, OutboxEntry] = {}
        if path.exists():
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = strict_json.loads(line)
                    if "dropped" in record:
                        self._entries.pop(record["dropped"], None)
                        continue
                    entry = OutboxEntry(**record)
                except (TypeError, ValueError) as exc:
                    if number == len(path.read_text().splitlines()):
                        break  # a torn last line: the process died while writing it
                    raise ChainError(f"outbox {path} line {number} is damaged: {exc}") from exc
                self._entries[entry.key] = entry

    def drop(self, key: str) -> None:
        """Forget the transaction of ``key`` (it failed on chain): the intent may be sent anew."""
        if key not in self._entries:
            return
        with self.path.open("a") as handle:
            handle.write(json.dumps({"dropped": key}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        del self._entries[key]

    def get(self, key: str) -> OutboxEntry | None:
        """The entry recorded for ``key``, if any."""
        return self._entries.get(key)

    def entries(self) -> list[OutboxEntry]:
        """Every entry, in nonce order."""
        return sorted(self._entries.values(), key=lambda e: e.nonce)

    def record(self, entry: OutboxEntry) -> None:
        """Append ``entry`` durably (fsync) before the transaction is broadcast."""
        if entry.key in self._entries:
            raise ChainError(f"outbox already holds a transaction for {entry.key}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(asdict(entry)) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._entries[entry.key] = entry
