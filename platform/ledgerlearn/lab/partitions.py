"""Partitions and crashes across test hosts (issue 15, sections 3 and 5).

The demo's cast runs on hosts of their own (:mod:`ledgerlearn.lab.hosts`: one network namespace
for the chain node, one per organisation). A :class:`Scenario` cuts one host's link at a moment
the task's own progress picks (a round starting, an update submitted) and restores it once the
outcome it tests has happened (the round closed without the host, the update decided), or, for
the chain node, after a fixed outage (its length is the scenario). Each scenario acts in the
round given to it, so several may overlap. At the end every scenario judges the run from chain
data, and the run as a whole is judged: the task completed, no transaction was sent twice (no
two mined transactions with the same sender, target and calldata), none was lost (every
transaction an agent signed into its outbox has a receipt).

``run_partitions`` runs one demo with the scenarios; ``scripts/partitions.py`` (``make
partitions``) runs each alone, ``tests/e2e/test_partitions.py`` all in one run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from web3 import Web3
from web3.contract import Contract
from web3.types import TxData, TxParams

from ledgerlearn import strict_json
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.chain.revert import decode_revert, revert_data
from ledgerlearn.config import ChainSettings
from ledgerlearn.core.rules import SCORE_INVALID, SCORE_SCALE
from ledgerlearn.errors import ConfigError, NodeUnreachableError
from ledgerlearn.lab.hosts import Host, HostNetwork
from ledgerlearn.lab.results import RunResult
from ledgerlearn.lab.simulate import RunConfig

__all__ = [
    "ChainAway",
    "Check",
    "PartitionRun",
    "ProviderAway",
    "PublisherAway",
    "Scenario",
    "ValidatorAway",
    "checks_markdown",
    "holdings_markdown",
    "run_partitions",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One claim about the run's outcome, whether it held, and the facts behind it."""

    scenario: str
    claim: str
    held: bool
    evidence: str


@dataclass(frozen=True)
class MinedTransaction:
    """A transaction on chain: who sent what where, and whether it reverted."""

    sender: str
    to: str
    calldata: bytes
    succeeded: bool
    block: int
    call: str = "?"  # the function called, as the deployment's ABIs name it
    updates: tuple[bytes, ...] = ()  # the updates a score, commitment or reveal names
    reason: str = ""  # a reverted one's revert reason


@dataclass
class Lab:
    """What scenarios act on: the hosts, who is who, and the chain (once it is up)."""

    hosts: HostNetwork
    out_dir: Path
    chain: Chain | None = None
    client: LedgerClient | None = None
    names: dict[str, str] = field(default_factory=dict)  # address -> agent name
    byzantine: set[str] = field(default_factory=set)
    _mined: list[MinedTransaction] = field(default_factory=list)

    def load(self, rpc_url: str, deployment: Path) -> None:
        """Read the run's cast (written before the agents start) and open the chain."""
        run = strict_json.load_file(self.out_dir / "run.json")
        for paths in run["keystores"].values():
            for path in paths:
                keystore = strict_json.load_file(Path(path))
                address = self._checksum("0x" + str(keystore["address"]))
                self.names[address] = Path(path).stem
        self.byzantine = {self._checksum(a) for a in run["byzantine"]}
        self.chain = connect(ChainSettings(backend="rpc", rpc_url=rpc_url))
        self.client = LedgerClient(self.chain, Deployment.load(deployment))

    def host_of(self, address: str) -> Host:
        """The host an agent's account runs on."""
        return self.hosts.hosts[self.names[self._checksum(address)]]

    def head(self) -> int | None:
        """The chain's latest block; None while the node does not answer."""
        assert self.chain is not None
        try:
            return int(self.chain.w3.eth.block_number)
        except NodeUnreachableError:
            return None

    def transactions(self) -> list[MinedTransaction]:
        """Every transaction mined so far, decoded, with whether it reverted and why (read
        once, at the end)."""
        assert self.chain is not None and self.client is not None
        w3 = self.chain.w3
        named = [self.client.ledger, self.client.consortium]
        named += [self.client.satellite(name) for name in self.client.deployment.satellites()]
        contracts: dict[str, Contract] = {str(c.address): c for c in named}
        if not self._mined:
            for number in range(int(w3.eth.block_number) + 1):
                block = w3.eth.get_block(number, full_transactions=True)
                for tx in cast(list[TxData], block["transactions"]):
                    receipt = w3.eth.get_transaction_receipt(tx["hash"])
                    succeeded = receipt["status"] == 1
                    mined = MinedTransaction(
                        str(tx["from"]),
                        str(tx.get("to")),
                        bytes(tx["input"]),
                        succeeded,
                        number,
                        *_decoded(contracts.get(str(tx.get("to"))), bytes(tx["input"])),
                        reason="" if succeeded else _revert_reason(w3, tx, number),
                    )
                    self._mined.append(mined)
        return self._mined

    def _checksum(self, address: str) -> str:
        return str(Web3.to_checksum_address(address))


class Scenario:
    """A host cut off at a moment of the task and restored later; judged at the end."""

    name = "scenario"

    def __init__(self, round_: int) -> None:
        self.round = round_
        self.state = "waiting"  # -> "cut" -> "restored"
        self.host: Host | None = None
        self.cut_block: int | None = None
        self.restore_block: int | None = None
        self.cut_at: float | None = None
        self.away_s: float | None = None

    @property
    def over(self) -> bool:
        """Whether its host is back."""
        return self.state == "restored"

    def step(self, record: TaskRecord, lab: Lab) -> None:
        """Cut or restore, as the task's progress says."""
        if self.state == "waiting":
            host = self.victim(record, lab)
            if host is not None:
                self.cut_block = lab.head()
                lab.hosts.cut(host)
                self.host, self.state, self.cut_at = host, "cut", time.monotonic()
        elif self.state == "cut" and self.may_restore(record, lab):
            assert self.host is not None and self.cut_at is not None
            lab.hosts.restore(self.host)
            if self.away_s is None:
                self.away_s = time.monotonic() - self.cut_at
            self.state = "restored"
            self.restore_block = _head_when_back(lab)

    def restore(self, lab: Lab) -> None:
        """Put its host back whatever happened (the run ended or failed)."""
        if self.state == "cut" and self.host is not None:
            lab.hosts.restore(self.host)
            self.state = "restored"

    def moment(self) -> str:
        """When its host was away, for the report."""
        if self.host is None:
            return "never cut"
        away = f"{self.away_s:.0f} s" if self.away_s is not None else "?"
        return f"{self.host.name} away {away}, blocks {self.cut_block}..{self.restore_block}"

    def victim(self, record: TaskRecord, lab: Lab) -> Host | None:
        """The host to cut now, or None (not yet)."""
        raise NotImplementedError

    def may_restore(self, record: TaskRecord, lab: Lab) -> bool:
        """Whether the outcome under test has happened (the host may come back)."""
        raise NotImplementedError

    def judge(self, record: TaskRecord, lab: Lab) -> list[Check]:
        """Claims about the outcome."""
        raise NotImplementedError

    def check(self, claim: str, held: bool, evidence: str) -> Check:
        """A claim of this scenario."""
        return Check(self.name, claim, held, evidence)


class ValidatorAway(Scenario):
    """An honest committee member loses its link when a round starts, for longer than the
    round: the others decide, the round closes; back, it catches up without judging anything
    twice."""

    name = "validator away for a round"

    def __init__(self, round_: int) -> None:
        super().__init__(round_)
        self.member: str | None = None

    def victim(self, record: TaskRecord, lab: Lab) -> Host | None:
        if self.round not in record.rounds:
            return None
        honest = [m for m in record.params.committee if m not in lab.byzantine]
        if not honest:
            raise ConfigError("the committee has no honest member to cut off")
        self.member = honest[0]
        return lab.host_of(self.member)

    def may_restore(self, record: TaskRecord, lab: Lab) -> bool:
        done = record.rounds[self.round].finalized_block is not None
        return done and (self.round + 1 in record.rounds or record.closed)

    def judge(self, record: TaskRecord, lab: Lab) -> list[Check]:
        member = self.member
        if member is None or self.round not in record.rounds:
            return [self.check("the member was cut off", False, "the round never started")]
        name = lab.names[member]
        away = record.rounds[self.round]
        judged_away = [u for u in away.updates if record.updates[u].judged_by(member)]
        later = [u for r, rec in record.rounds.items() if r > self.round for u in rec.updates]
        judged_later = [u for u in later if record.updates[u].judged_by(member)]
        attested_later = [
            r for r, rec in record.rounds.items() if r > self.round and member in rec.attesters
        ]
        own = [t for t in lab.transactions() if t.sender == member]
        reverted = [f"{t.call} at block {t.block}: {t.reason}" for t in own if not t.succeeded]
        judged = Counter(
            (t.call, u) for t in own if t.succeeded for u in t.updates if t.call != "revealScores"
        )
        twice = [f"{call} {u.hex()[:12]}" for (call, u), n in judged.items() if n > 1]
        return [
            self.check(
                f"round {self.round} closed without {name}",
                away.finalized_block is not None
                and not judged_away
                and member not in away.attesters,
                f"finalized at block {away.finalized_block}, {len(away.updates)} updates "
                f"decided by the others, {len(judged_away)} judged by {name}",
            ),
            self.check(
                f"{name} caught up after its link returned",
                bool(judged_later),
                f"judged {len(judged_later)} of {len(later)} later updates, attested rounds "
                f"{attested_later or 'none'} (a round needs only a quorum's attestations)",
            ),
            self.check(
                f"{name} judged nothing twice",
                not twice,
                f"{sum(judged.values())} scores or commitments, {len(twice)} for an update "
                f"judged before {twice or ''}; {len(reverted)} of its transactions reverted "
                f"{reverted or ''}",
            ),
        ]


class ChainAway(Scenario):
    """The chain node's host is unreachable for ``seconds`` from the start of a round: every
    agent waits and retries; no transaction is lost or sent twice, the task completes."""

    name = "chain node away"

    def __init__(self, round_: int, seconds: float = 30.0) -> None:
        super().__init__(round_)
        self.seconds = seconds
        self._back = threading.Event()

    def victim(self, record: TaskRecord, lab: Lab) -> Host | None:
        if self.round not in record.rounds:
            return None
        host = lab.hosts.hosts["chain"]

        # The outage's length is the scenario: a timer ends it, as the run's own progress
        # checks wait on the node too (a request to it gives up only after its retries).
        def back() -> None:
            lab.hosts.restore(host)
            self.away_s = self.seconds
            self._back.set()

        timer = threading.Timer(self.seconds, back)
        timer.daemon = True
        timer.start()
        return host

    def may_restore(self, record: TaskRecord, lab: Lab) -> bool:
        return self._back.is_set()

    def judge(self, record: TaskRecord, lab: Lab) -> list[Check]:
        waited = [
            path.stem
            for path in sorted((lab.out_dir / "logs").glob("*-*.log"))
            if "does not answer" in path.read_text(errors="replace")
        ]
        rounds = [r for r in record.rounds if r >= self.round]
        finished = [r for r in rounds if record.rounds[r].finalized_block is not None]
        mined = (self.restore_block or 0) - (self.cut_block or 0)
        return [
            self.check(
                "the task went on after the outage",
                record.closed and bool(rounds) and finished == rounds,
                f"rounds {finished} closed after it; {mined} blocks mined while it was away; "
                f"{len(waited)} agents saw a request fail after web3's retries and said so "
                "(the others' requests were answered once the link was back)",
            )
        ]


class ProviderAway(Scenario):
    """An honest provider's host goes down right after its update of a round is on chain:
    the update is scored if a member fetched it, else judged unavailable, within the round's
    deadlines; nothing stalls."""

    name = "provider away after submitting"

    def __init__(self, round_: int) -> None:
        super().__init__(round_)
        self.update: bytes | None = None

    def victim(self, record: TaskRecord, lab: Lab) -> Host | None:
        if self.round not in record.rounds:
            return None
        for u in record.rounds[self.round].updates:
            provider = record.updates[u].provider
            if provider not in lab.byzantine:
                self.update = u
                return lab.host_of(provider)
        return None

    def may_restore(self, record: TaskRecord, lab: Lab) -> bool:
        assert self.update is not None
        decided = record.updates[self.update].status.decided
        return decided and record.rounds[self.round].finalized_block is not None

    def judge(self, record: TaskRecord, lab: Lab) -> list[Check]:
        if self.update is None:
            return [self.check("a provider was cut off", False, "no honest update arrived")]
        update = record.updates[self.update]
        name = lab.names[update.provider]
        scores = ", ".join(
            "unavailable" if s == SCORE_INVALID else f"{s / SCORE_SCALE:.3f}"
            for s in sorted(update.scores.values())
        )
        deadlines = record.round_deadlines(self.round)
        decided = update.decided_block
        return [
            self.check(
                f"{name}'s update was decided while it was away",
                update.status.decided
                and decided is not None
                and decided <= deadlines.extended_close,
                f"{update.status.name.lower()} at block {decided} (scores: {scores}; "
                f"scoring closed at {deadlines.extended_close})",
            ),
            self.check(
                f"round {self.round} closed",
                record.rounds[self.round].finalized_block is not None,
                f"finalized at block {record.rounds[self.round].finalized_block}",
            ),
        ]


class PublisherAway(Scenario):
    """The publisher's host goes down for good once round ``round_`` has its first update (the
    task is open, the committee has fetched its fragments and the initial weights, the
    providers their base model): the task completes from what the committee keeps. Restored
    when the task closed, for the run's report."""

    name = "publisher away after the task opened"

    def victim(self, record: TaskRecord, lab: Lab) -> Host | None:
        started = self.round in record.rounds and record.rounds[self.round].updates
        return lab.hosts.hosts["publisher-0"] if started else None

    def may_restore(self, record: TaskRecord, lab: Lab) -> bool:
        return record.closed

    def judge(self, record: TaskRecord, lab: Lab) -> list[Check]:
        if self.cut_block is None:
            return [self.check("the publisher was cut off", False, "the round never started")]
        publisher = record.publisher
        later = {
            r: rec
            for r, rec in record.rounds.items()
            if r > self.round or (r == self.round and rec.finalized_block is not None)
        }
        built = {
            r: sum(record.updates[u].provider not in lab.byzantine for u in rec.updates)
            for r, rec in later.items()
            if r > self.round
        }
        # a block or two for what it sent just before its link went
        sent = [
            t
            for t in lab.transactions()
            if t.sender == publisher
            and self.cut_block + 2 < t.block <= (record.closed_block or t.block)
        ]
        return [
            self.check(
                "the task completed without its publisher",
                record.closed and all(rec.finalized_block is not None for rec in later.values()),
                f"rounds {sorted(later)} closed after it went at block {self.cut_block}",
            ),
            self.check(
                "providers built on what the committee kept",
                bool(built) and all(n > 0 for n in built.values()),
                f"honest updates per later round {built} (each on that round's base model, "
                "which only the committee served)",
            ),
            self.check(
                "the publisher was away",
                not sent,
                f"{len(sent)} of its transactions mined while away",
            ),
        ]


class PartitionRun:
    """The scenarios of one demo run (each acts in its own round): the hooks
    :func:`run_demo` calls."""

    def __init__(self, hosts: HostNetwork, out_dir: Path, scenarios: list[Scenario]) -> None:
        self.lab = Lab(hosts, out_dir)
        self.scenarios = scenarios
        self.checks: list[Check] = []
        self.last: TaskRecord | None = None

    def on_chain_ready(self, rpc_url: str, deployment: Path) -> None:
        self.lab.load(rpc_url, deployment)

    def watch(self, record: TaskRecord) -> None:
        """One progress check: every scenario not over acts (each waits for its round)."""
        self.last = record
        for scenario in self.scenarios:
            if not scenario.over:
                scenario.step(record, self.lab)

    def on_finished(self, result: RunResult) -> None:
        """Judge the run while its chain is up (the agents still run)."""
        self.restore_all()
        assert self.last is not None
        record = self.last
        for scenario in self.scenarios:
            self.checks += scenario.judge(record, self.lab)
        self.checks += self._run_checks(record)

    def restore_all(self) -> None:
        """Every host back on the network."""
        for scenario in self.scenarios:
            scenario.restore(self.lab)

    def _run_checks(self, record: TaskRecord) -> list[Check]:
        mined = self.lab.transactions()
        seen = Counter((t.sender, t.to, t.calldata) for t in mined)
        twice = {key: n for key, n in seen.items() if n > 1}
        reverted = Counter(
            f"{self.lab.names.get(t.sender, t.sender)} {t.call}: {t.reason}"
            for t in mined
            if not t.succeeded
        )
        entries = [
            entry
            for path in sorted((self.lab.out_dir / "agents").glob("*/outbox.jsonl"))
            for entry in Outbox(path).entries()
        ]
        lost = [e.key for e in entries if not _mined(self.lab, e.tx_hash)]
        closed = sum(r.finalized_block is not None for r in record.rounds.values())
        rounds = record.params.max_rounds
        assert self.lab.client is not None
        members = [a for a, name in self.lab.names.items() if not name.startswith("publisher")]
        elsewhere = [
            self.lab.names[a]
            for a in members
            if f"/ip4/{self.lab.host_of(a).address}/" not in self.lab.client.member(a).peer_address
        ]
        return [
            Check("run", "every organisation on a host of its own", not elsewhere,
                  f"{len(members) - len(elsewhere)} of {len(members)} members' IPFS nodes "
                  f"registered at their host's address {elsewhere or ''}"),
            Check("run", "the task completed", record.closed and closed == rounds,
                  f"{closed} rounds closed of {rounds} (stage {record.stage.name.lower()})"),
            Check("run", "no transaction sent twice", not twice,
                  f"{len(mined)} mined ({sum(reverted.values())} reverted: {dict(reverted)}), "
                  f"{len(twice)} sent more than once "
                  + ", ".join(f"{self.lab.names.get(k[0], k[0])} x{n}" for k, n in twice.items())),
            Check("run", "no transaction lost", not lost,
                  f"{len(entries)} signed into outboxes, {len(lost)} without a receipt {lost[:3]}"),
        ]  # fmt: skip


def run_partitions(
    out_dir: Path,
    scenarios: list[Scenario],
    *,
    rounds: int = 4,
    timeout_s: float = 900.0,
    progress: object = None,
) -> tuple[RunResult, list[Check], list[Scenario]]:
    """The quick consortium demo with ``rounds`` rounds on test hosts, ``scenarios`` played in
    it; returns the run's result and the checks."""
    from ledgerlearn.lab.demo import run_demo

    quick = RunConfig.preset(quick=True).as_consortium()
    config = quick.model_copy(update={"policy": quick.policy.model_copy(update={"rounds": rounds})})
    with HostNetwork() as hosts:
        run = PartitionRun(hosts, out_dir, scenarios)
        try:
            result = run_demo(
                config,
                out_dir,
                timeout_s=timeout_s,
                hosts=hosts,
                watch=run.watch,
                on_chain_ready=run.on_chain_ready,
                on_finished=run.on_finished,
                on_teardown=run.restore_all,
                progress=progress,  # type: ignore[arg-type]
            )
        finally:
            run.restore_all()
    return result, run.checks, scenarios


def checks_markdown(checks: list[Check], scenarios: list[Scenario]) -> str:
    """The checks as a markdown table, then when each scenario's host was away."""
    lines = ["| scenario | claim | held | evidence |", "|---|---|---|---|"]
    for c in checks:
        evidence = c.evidence.replace("|", "/")
        lines.append(f"| {c.scenario} | {c.claim} | {'yes' if c.held else 'NO'} | {evidence} |")
    return "\n".join([*lines, "", *(f"- {s.name}: {s.moment()}" for s in scenarios), ""])


def holdings_markdown(out_dir: Path) -> str:
    """What each role's IPFS node holds at the end of a run: the bytes of its block store and,
    for committee members, the CIDs pinned for tasks (``agents/pins.py``), min-max per role."""
    roles: dict[str, list[tuple[int, int]]] = {}
    for agent in sorted((out_dir / "agents").glob("*-*")):
        blocks = agent / "ipfs" / "blocks"
        size = sum(f.stat().st_size for f in blocks.rglob("*") if f.is_file())
        pins = agent / "pins.json"
        kept = (
            len(set().union(*map(set, strict_json.load_file(pins).values()), set()))
            if pins.exists()
            else 0
        )
        roles.setdefault(agent.name.rsplit("-", 1)[0], []).append((size, kept))
    lines = ["| role | agents | blocks held (kB) | CIDs pinned for tasks |", "|---|---|---|---|"]
    for role, rows in roles.items():
        sizes, pinned = [r[0] // 1000 for r in rows], [r[1] for r in rows]
        lines.append(
            f"| {role} | {len(rows)} | {min(sizes)}-{max(sizes)} | {min(pinned)}-{max(pinned)} |"
        )
    return "\n".join([*lines, ""])


def _head_when_back(lab: Lab, timeout_s: float = 60.0) -> int | None:
    """The chain's head once this machine reaches the node again (None: not within
    ``timeout_s``: the checks then say so)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        head = lab.head()
        if head is not None:
            return head
        time.sleep(0.5)
    return None


def _decoded(contract: Contract | None, calldata: bytes) -> tuple[str, tuple[bytes, ...]]:
    """The function a transaction calls, and the updates it names (a score, a batch of
    scores or commitments, a reveal)."""
    if contract is None or len(calldata) < 4:
        return "?", ()
    try:
        function, args = contract.decode_function_input(calldata)
    except ValueError:
        return "?", ()
    updates: list[bytes] = []
    for key in ("update", "updates"):
        value = args.get(key)
        if isinstance(value, bytes):
            updates.append(value)
        elif isinstance(value, list | tuple):
            updates += [bytes(v) for v in value]
    return str(function.fn_name), tuple(updates)


def _revert_reason(w3: Web3, tx: TxData, number: int) -> str:
    """Why a mined transaction reverted: it is re-run as a call on the state before its block."""
    call: TxParams = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
    try:
        w3.eth.call(call, block_identifier=number - 1)
    except Exception as exc:  # any revert: decoded below when it can be
        data = revert_data(exc)
        if data:
            with contextlib.suppress(Exception):
                return type(decode_revert(data)).__name__
        return str(exc)[:80]
    return "passes when re-run on the block before (it lost a race inside its block)"


def _mined(lab: Lab, tx_hash: str, timeout_s: float = 30.0) -> bool:
    """Whether ``tx_hash`` has a receipt (waiting up to ``timeout_s`` for one in flight)."""
    from hexbytes import HexBytes
    from web3.exceptions import TransactionNotFound

    assert lab.chain is not None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            lab.chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            return True
        except TransactionNotFound:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
