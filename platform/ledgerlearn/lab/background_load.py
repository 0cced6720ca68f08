"""A CPU hog next to a run: the demo on a machine that is busy with other work.

``stress-ng --cpu N`` (Debian's ``stress-ng``) when it is installed, else N Python processes
spinning in a loop: either keeps N cores busy for as long as the run lasts. The CPU time the hog
burnt is measured (``getrusage`` of the reaped children), so a report can say how loaded the
machine was, not only that a hog ran.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import TracebackType

__all__ = ["BackgroundLoad", "LoadReport"]

_SPIN = "while True:\n    pass\n"


@dataclass(frozen=True)
class LoadReport:
    """What the hog did."""

    workers: int
    tool: str
    wall_s: float
    cpu_s: float

    @property
    def cores_busy(self) -> float:
        """Average number of cores the hog kept busy."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    def describe(self) -> str:
        """One sentence for a report."""
        return (
            f"{self.workers} CPU hog worker(s) ({self.tool}) ran next to the agents for "
            f"{self.wall_s:.0f} s and burnt {self.cpu_s:.0f} CPU-seconds "
            f"({self.cores_busy:.2f} of the machine's {os.cpu_count()} cores on average)"
        )


class BackgroundLoad:
    """Keep ``workers`` cores busy while the ``with`` block runs (``workers`` 0: nothing)."""

    def __init__(self, workers: int) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.workers = workers
        self.tool = "stress-ng" if shutil.which("stress-ng") else "python busy loops"
        self.report: LoadReport | None = None
        self._processes: list[subprocess.Popen[bytes]] = []
        self._started = 0.0
        self._cpu_before = 0.0

    def __enter__(self) -> BackgroundLoad:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the hog."""
        if self.workers == 0 or self._processes:
            return
        self._cpu_before = _children_cpu_s()
        self._started = time.monotonic()
        if self.tool == "stress-ng":
            command = ["stress-ng", "--cpu", str(self.workers), "--quiet"]
            self._processes.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        else:
            for _ in range(self.workers):
                self._processes.append(subprocess.Popen([sys.executable, "-c", _SPIN]))

    def stop(self) -> LoadReport | None:
        """Stop the hog, reap it and measure what it burnt; returns the report."""
        if not self._processes:
            return self.report
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes = []
        self.report = LoadReport(
            workers=self.workers,
            tool=self.tool,
            wall_s=time.monotonic() - self._started,
            cpu_s=max(0.0, _children_cpu_s() - self._cpu_before),
        )
        return self.report


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)
