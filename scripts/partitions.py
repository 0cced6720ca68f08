"""Partitions and crashes across test hosts, each scenario in a run of its own (issue 15,
sections 3 and 5; ``make partitions``, about 12 minutes; needs root).

The quick consortium demo's cast (a chain node and 17 organisations, each a network namespace
with its own address on a bridge, in a private IPFS swarm) runs a 3-round task four times:

1. a provider's host goes down right after its round-1 update is on chain, and comes back once
   the update is decided and the round closed;
2. an honest committee member's host loses its link when round 1 starts and gets it back once
   round 1 closed and round 2 began;
3. the chain node's host is unreachable for ``--outage`` seconds (default 30) from the start of
   round 2;
4. the publisher's host goes down once round 1 has its first update, until the task closed.

Each run is judged (the scenario's claims, then: the task completed, no transaction sent twice,
none lost) and the checks are printed as a table and written to ``OUT/partitions.md``. Exit
code 1 when a check failed.

Run: ``.venv/bin/python scripts/partitions.py [--out DIR] [--outage 30] [--only chain]``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from ledgerlearn.lab.hosts import hosts_unavailable
from ledgerlearn.lab.partitions import (
    ChainAway,
    Check,
    ProviderAway,
    PublisherAway,
    Scenario,
    ValidatorAway,
    checks_markdown,
    holdings_markdown,
    run_partitions,
)

console = Console()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="where the runs go")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the chain is away")
    parser.add_argument(
        "--only", choices=["provider", "validator", "chain", "publisher"], default=None
    )
    args = parser.parse_args()
    reason = hosts_unavailable()
    if reason is not None:
        console.print(f"[red]error:[/] cannot build test hosts: {reason}")
        return 1
    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING)
    # SIGTERM ends the run through the hosts' cleanup (namespaces removed, links restored)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out = args.out or Path(tempfile.mkdtemp(prefix="ledgerlearn-partitions-"))
    plans: dict[str, Scenario] = {
        "provider": ProviderAway(1),
        "validator": ValidatorAway(1),
        "chain": ChainAway(2, seconds=args.outage),
        "publisher": PublisherAway(1),
    }
    checks: list[Check] = []
    played: list[Scenario] = []
    done: list[str] = []
    for name, scenario in plans.items():
        if args.only not in (None, name):
            continue
        started = time.monotonic()
        with console.status(f"{scenario.name}: running the quick demo across hosts"):
            _, judged, _ = run_partitions(out / name, [scenario], rounds=3)
        console.log(f"{scenario.name}: {scenario.moment()}; the run took "
                    f"{time.monotonic() - started:.0f} s")  # fmt: skip
        done.append(name)
        checks += [  # the run's own checks, named by the scenario of the run
            replace(c, scenario=f"{scenario.name}: the run") if c.scenario == "run" else c
            for c in judged
        ]
        played.append(scenario)
    table = Table(title="partitions across test hosts")
    for column in ("scenario", "claim", "held", "evidence"):
        table.add_column(column, overflow="fold")
    for check in checks:
        held = "yes" if check.held else "[red]NO[/]"
        table.add_row(check.scenario, check.claim, held, check.evidence)
    console.print(table)
    holdings = [f"### {name}\n\n{holdings_markdown(out / name)}" for name in done]
    (out / "partitions.md").write_text("\n".join([checks_markdown(checks, played), *holdings]))
    console.print(f"written to {out / 'partitions.md'}")
    return 0 if all(check.held for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
