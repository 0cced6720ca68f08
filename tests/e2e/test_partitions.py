"""Partitions and crashes across test hosts (issue 15, section 5): the quick consortium demo's
cast, the chain node and every organisation on a network namespace of its own (real addresses
on a bridge, a private IPFS swarm), a 4-round task in which:

- round 1: a provider's host goes down right after its update is on chain (back once the update
  is decided and the round closed): the update is decided within the round's deadlines;
- round 2: an honest committee member's host loses its link when the round starts (back once
  the round closed and the next began): the others decide, the round closes; back, it judges
  later updates and nothing twice;
- round 2 on: the publisher's host goes down once the round has its first update, until the
  task closed: the task completes from what the committee keeps, providers build on it;
- round 4: the chain node's host is unreachable for 30 s: agents wait and retry, the task
  completes;

and for the whole run: no transaction mined twice (same sender, target and calldata), none lost
(every transaction signed into an agent's outbox has a receipt). ``make partitions`` runs each
scenario alone."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from ledgerlearn.lab.hosts import hosts_unavailable
from ledgerlearn.lab.partitions import (
    ChainAway,
    ProviderAway,
    PublisherAway,
    ValidatorAway,
    checks_markdown,
    holdings_markdown,
    run_partitions,
)
from ledgerlearn.lab.results import rounds_of

pytestmark = pytest.mark.skipif(
    hosts_unavailable() is not None, reason=f"no test hosts: {hosts_unavailable()}"
)


def namespaces() -> set[str]:
    """The network namespaces on this machine, by name."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def test_partitions_across_hosts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    scenarios = [ProviderAway(1), ValidatorAway(2), PublisherAway(2), ChainAway(4, seconds=30)]
    before = namespaces()
    result, checks, _ = run_partitions(out, scenarios, rounds=4, timeout_s=600)
    evidence = checks_markdown(checks, scenarios) + "\n" + holdings_markdown(out)
    (out / "partitions.md").write_text(evidence)
    failed = [c for c in checks if not c.held]
    assert not failed, failed
    # every scenario happened (a host was cut and restored) and was judged
    assert all(s.host is not None and s.over for s in scenarios), [s.moment() for s in scenarios]
    assert {c.scenario for c in checks} == {s.name for s in scenarios} | {"run"}
    assert len(rounds_of(result)) == 4
    # the chain was away as long as asked, and blocks went on meanwhile
    chain = scenarios[3]
    assert chain.away_s == 30 and chain.cut_block is not None and chain.restore_block is not None
    assert chain.restore_block - chain.cut_block >= 20
    # every agent ran on its host, in the run's private swarm
    swarms = set()
    for log in sorted((out / "logs").glob("*-*.log")):
        swarms |= set(re.findall(r"private swarm ([0-9a-f]{12})", log.read_text()))
    assert len(swarms) == 1, swarms
    # committee members pinned what the task needed (agents/pins.py): more than the spec
    pinned = [json.loads(p.read_text()) for p in (out / "agents").glob("validator-*/pins.json")]
    assert sum(len(cids) > 10 for kept in pinned for cids in kept.values()) >= 4, pinned
    # the harness removed every namespace it made
    assert namespaces() <= before
