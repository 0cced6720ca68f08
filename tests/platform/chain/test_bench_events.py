"""A bounded run of ``make bench-events`` (``scripts/bench_events.py``): both idle agents and both
agent loops run to the end and the tables come out (the figures are the benchmark's, not
asserted here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "bench_events.py"


def test_the_benchmark_runs_to_its_tables() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--window", "2", "--tasks", "2", "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("LEDGERLEARN_")},
            "COLUMNS": "200",
        },
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    line = next(line for line in out.splitlines() if "mines on transactions" in line)
    assert line.count("%") == 2, line  # both agents measured
    assert "polling" in out and "subscribed" in out and "median ms" in out
