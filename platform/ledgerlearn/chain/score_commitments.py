"""Committee scores committed, then revealed (the ScoreCommitments contract).

The salt of a score is derived from the member's key, the task and the update (the same after
a restart); the score itself is kept in the member's state directory between the commit and the
reveal, so a restarted validator reveals exactly what it committed.
"""

from __future__ import annotations

from pathlib import Path

from web3.contract import Contract

from ledgerlearn import strict_json
from ledgerlearn.chain.client import LedgerClient, deciding_headroom


class ScoreCommitments:
    """The score commitments contract seen by one committee member."""

    def __init__(self, client: LedgerClient, state_file: Path | None = None) -> None:
        self.client = client
        self.contract: Contract = client.satellite("ScoreCommitments")
        self.state_file = state_file
        self._pending: dict[str, int] = self._load()  # "task:update hex" -> committed score

    def salt(self, task_id: int, update: bytes) -> bytes:
        """This member's salt for its score of ``update``."""
        return self.client.derived_secret(b"score salt", task_id.to_bytes(32) + update)

    def commit(self, task_id: int, scores: dict[bytes, int]) -> None:
        """Commit to ``scores`` (update -> score) in one transaction; kept until revealed."""
        updates = list(scores)
        commitments = [
            self.client.read(
                self.contract.functions.scoreCommitment(
                    task_id, u, self.client.address, scores[u], self.salt(task_id, u)
                )
            )
            for u in updates
        ]
        for u in updates:
            self._pending[_key(task_id, u)] = scores[u]
        self._save()  # before the transaction: a crash after it still finds the scores
        self.client.transact(self.contract.functions.commitScores(task_id, updates, commitments))

    def committed(self, task_id: int, update: bytes) -> int | None:
        """The score this member committed for ``update`` and has not revealed yet."""
        return self._pending.get(_key(task_id, update))

    def on_chain(self, task_id: int, update: bytes) -> bool:
        """Whether this member has an unrevealed commitment on chain for ``update``."""
        c = self.client.read(
            self.contract.functions.commitmentOf(task_id, update, self.client.address)
        )
        return bytes(c) != bytes(32)

    def reveal(self, task_id: int, updates: list[bytes]) -> None:
        """Reveal the committed scores of ``updates`` (those decided meanwhile are credited by the
        contract when they agree, those whose scoring closed meanwhile are skipped)."""
        scores = [self._pending[_key(task_id, u)] for u in updates]
        salts = [self.salt(task_id, u) for u in updates]
        call = self.contract.functions.revealScores(task_id, updates, scores, salts)
        self.client.transact(call, headroom=deciding_headroom(len(updates)))  # any may decide
        self.forget(task_id, updates)

    def forget(self, task_id: int, updates: list[bytes]) -> None:
        """Drop kept scores (revealed, or never to be revealed)."""
        for u in updates:
            self._pending.pop(_key(task_id, u), None)
        self._save()

    def _load(self) -> dict[str, int]:
        if self.state_file is None or not self.state_file.exists():
            return {}
        data = strict_json.load_file(self.state_file)
        return {str(k): int(v) for k, v in data.items()}

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        strict_json.write_file(self.state_file, self._pending, mode=0o600)


def _key(task_id: int, update: bytes) -> str:
    return f"{task_id}:{update.hex()}"
