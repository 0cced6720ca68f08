"""Request nonces, stored persistently: a signed request is accepted once, also across restarts.

A nonce is kept while its request's timestamp is inside the signature window; older ones are
pruned, since a replay of such a request is refused by its timestamp anyway.
"""

from __future__ import annotations

import sqlite3

from ledgerlearn_gateway.database import Database


class NonceStore:
    """(signer, nonce) pairs already used."""

    def __init__(self, db: Database, window_s: int) -> None:
        self.db = db
        self.window_s = window_s

    def use(self, signer: str, nonce: str, timestamp: int, now: float) -> bool:
        """Record ``nonce`` for ``signer``; False when it was used before (a replay)."""
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM request_nonces WHERE timestamp < ?",
                (int(now) - self.window_s - 1,),
            )
            try:
                conn.execute(
                    "INSERT INTO request_nonces (signer, nonce, timestamp) VALUES (?, ?, ?)",
                    (signer.lower(), nonce.lower(), timestamp),
                )
            except sqlite3.IntegrityError:
                return False
        return True
