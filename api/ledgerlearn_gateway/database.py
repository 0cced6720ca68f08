"""The gateway's SQLite database: request nonces and prepared publications survive restarts."""

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

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
