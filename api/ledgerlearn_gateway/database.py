"""The gateway's SQLite database: request nonces, prepared publications and the contract events
it has seen survive restarts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS request_nonces (
    signer TEXT NOT NULL,
    nonce TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (signer, nonce)
);
CREATE INDEX IF NOT EXISTS request_nonces_timestamp ON request_nonces (timestamp);
CREATE TABLE IF NOT EXISTS publications (
    id TEXT PRIMARY KEY,
    publisher TEXT NOT NULL,
    created REAL NOT NULL,
    deadline INTEGER NOT NULL,
    params TEXT NOT NULL,
    typed_data TEXT NOT NULL,
    status TEXT NOT NULL,
    signature TEXT,
    tx_hash TEXT,
    task_id INTEGER,
    error TEXT
);
CREATE TABLE IF NOT EXISTS events (
    block INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    name TEXT NOT NULL,
    task_id INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (block, log_index)
);
CREATE INDEX IF NOT EXISTS events_task ON events (task_id, block, log_index);
"""


class Database:
    """One SQLite file (WAL, synchronous=FULL: a committed row survives a crash), shared by
    the request threads behind a lock."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed on success, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads (behind the same lock as writes)."""
        with self._lock:
            yield self._conn

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
