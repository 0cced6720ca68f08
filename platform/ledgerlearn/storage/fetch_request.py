"""What a fetch worker is asked to do, and how it answers (its exit status).

Shared by the parent side (:mod:`ledgerlearn.storage.fetcher`) and the child process
(:mod:`ledgerlearn.storage.fetch_worker`). The request travels as one JSON command-line
argument; the answer is the exit status plus the downloaded file in the work directory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

__all__ = ["FetchRequest", "WorkerExit"]


class WorkerExit(IntEnum):
    """Exit statuses of the fetch worker."""

    OK = 0
    BAD_REQUEST = 2
    NODE_FAILED = 3
    DOWNLOAD_FAILED = 4
    DEADLINE = 5


@dataclass(frozen=True)
class FetchRequest:
    """One download for a fetch worker.

    Parameters
    ----------
    cid
        The content to download.
    work_dir
        Private directory of this fetch: the worker's throwaway repository, its logs and the
        downloaded file live here; the parent deletes it afterwards.
    peers
        Full multiaddresses (``.../p2p/<id>``) the worker dials; the content is fetched from
        whichever of them has it.
    timeout_s
        The worker exits on its own after this many seconds (the parent kills it earlier).
    parent_pid
        The worker exits if its parent is no longer this process.
    """

    cid: str
    work_dir: Path
    peers: tuple[str, ...]
    timeout_s: float
    parent_pid: int

    @property
    def repo_dir(self) -> Path:
        """The worker's kubo repository."""
        return self.work_dir / "repo"

    @property
    def dest(self) -> Path:
        """Where the worker writes the content."""
        return self.work_dir / "content"

    @property
    def blocks_dir(self) -> Path:
        """The worker's block store, which grows as blocks arrive."""
        return self.repo_dir / "blocks"

    @property
    def log_file(self) -> Path:
        """The worker's stderr."""
        return self.work_dir / "worker.log"

    def to_json(self) -> str:
        """Serialise for the worker's command line."""
        return json.dumps(
            {
                "cid": self.cid,
                "work_dir": str(self.work_dir),
                "peers": list(self.peers),
                "timeout_s": self.timeout_s,
                "parent_pid": self.parent_pid,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> FetchRequest:
        """Parse :meth:`to_json` output.

        Raises
        ------
        ValueError
            If the document is malformed.
        """
        try:
            doc = json.loads(text)
            return cls(
                cid=str(doc["cid"]),
                work_dir=Path(doc["work_dir"]),
                peers=tuple(str(p) for p in doc["peers"]),
                timeout_s=float(doc["timeout_s"]),
                parent_pid=int(doc["parent_pid"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed fetch request: {exc}") from exc
