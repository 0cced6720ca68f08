"""An agent's metrics in Prometheus's format, read from the agent's own state at scrape time.

The agents keep plain counters and totals where they do their work (the IPFS node's failed
fetches by cause, the participant's last sync and decode failures, the stopwatch's seconds per
category, a validator's sent and dropped scores, a provider's submitted and lost updates);
:class:`AgentCollector` reads them when Prometheus scrapes, so nothing in the agent's loop
knows about metrics. This module and ``ledgerlearn_gateway.metrics`` are the only ones that
import ``prometheus_client``.

A scrape never waits on the agent: what lives in memory is read as it is, and what needs a
call that may be slow or hang (the chain's latest block and the account's balance over
JSON-RPC, the IPFS node's peers) is a :class:`Reading`: refreshed in a thread of its own at
most every few seconds, waited for a bounded time, else its last value is served.

Every series is named ``ledgerlearn_...`` (:data:`AGENT_SERIES`); the names and labels are
frozen by a test, as dashboards and alerts depend on them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ledgerlearn.core.rules import passes
from ledgerlearn.errors import ConfigError
from ledgerlearn.flows.scoring import DROPPED, ScoreRecord
from ledgerlearn.stopwatch import CATEGORIES
from ledgerlearn.storage.node import FAILURE_CAUSES

if TYPE_CHECKING:
    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.agents.provider import Provider
    from ledgerlearn.agents.validator import Validator
    from ledgerlearn.storage import IpfsNode

__all__ = [
    "AGENT_SERIES",
    "FETCH_CAUSES",
    "OUTCOMES",
    "AgentCollector",
    "Reading",
    "serve_metrics",
]

log = logging.getLogger(__name__)

FETCH_CAUSES = (*FAILURE_CAUSES.values(), "decode")
"""Why a fetch failed: the IPFS node's causes (``unavailable``, ``too_large``,
``hash_mismatch``) and ``decode``: verified content that is not a valid spec or model."""

OUTCOMES = ("passed", "below_threshold", "failed_checks", "invalid", "unavailable")
"""What a validator found in an update it scored: a score clearing the task's threshold, one
below it, flagged by a sanity check, invalid content (too large, wrong hash, not the task's
model, not evaluable) or content nobody served in time."""

_OUTCOME_OF_FAILURE = {
    "unavailable": "unavailable",
    "fetch": "invalid",
    "decode": "invalid",
    "evaluation": "invalid",
    "checks": "failed_checks",
}

AGENT_SERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ledgerlearn_agent_info": ("gauge", ("account", "role")),
    "ledgerlearn_chain_head_block": ("gauge", ()),
    "ledgerlearn_chain_head_lag_blocks": ("gauge", ()),
    "ledgerlearn_seconds_since_sync": ("gauge", ()),
    "ledgerlearn_ipfs_peers": ("gauge", ()),
    "ledgerlearn_fetch_failures": ("counter", ("cause",)),
    "ledgerlearn_work_seconds": ("counter", ("category",)),
    "ledgerlearn_account_balance_wei": ("gauge", ()),
    "ledgerlearn_updates_scored": ("counter", ("outcome",)),
    "ledgerlearn_scores_sent": ("counter", ()),
    "ledgerlearn_scores_dropped": ("counter", ("reason",)),
    "ledgerlearn_updates_submitted": ("counter", ()),
    "ledgerlearn_updates_lost": ("counter", ()),
}
"""Every series an agent exposes: name (a counter's samples add ``_total``) -> (type, labels).
The ``scores`` and ``updates_scored`` series are a validator's, ``updates_*`` a provider's."""


class Reading:
    """The last value of a read that may be slow or hang, for a scrape that must not.

    A call to :meth:`value` starts a refresh in a daemon thread when the last one is older than
    ``max_age_s`` and none is running, waits for it at most ``wait_s``, and returns the latest
    value read (None before the first success, or when it is older than ``expire_s``: a series
    then goes missing rather than showing a stale number). A read that hangs costs one thread;
    no second one starts while it runs.
    """

    def __init__(
        self,
        read: Callable[[], float],
        *,
        max_age_s: float = 5.0,
        wait_s: float = 0.5,
        expire_s: float = 60.0,
    ) -> None:
        self._read = read
        self.max_age_s = max_age_s
        self.wait_s = wait_s
        self.expire_s = expire_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = -math.inf
        self._value: float | None = None
        self._read_at = -math.inf

    def value(self) -> float | None:
        """The latest value read (see the class docstring)."""
        started = None
        with self._lock:
            now = time.monotonic()
            idle = self._thread is None or not self._thread.is_alive()
            if idle and now - self._started >= self.max_age_s:
                self._started = now
                started = self._thread = threading.Thread(
                    target=self._refresh, name="metrics-reading", daemon=True
                )
                started.start()
        if started is not None:
            started.join(self.wait_s)
        with self._lock:
            if time.monotonic() - self._read_at > self.expire_s:
                return None
            return self._value

    def _refresh(self) -> None:
        try:
            value = float(self._read())
        except Exception as exc:  # the node is down: the agent's own loop says so
            log.debug("a metrics reading failed: %s", exc)
            return
        with self._lock:
            self._value, self._read_at = value, time.monotonic()


def _counter(name: str, doc: str, label: str, values: Mapping[str, float]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


class AgentCollector(Collector):
    """The metrics of one agent process (see the module docstring).

    Parameters
    ----------
    participant
        The agent (its head, last sync, stopwatch, client, decode failures).
    node
        Its IPFS node (failed fetches by cause, peers).
    role
        ``publisher``, ``provider`` or ``validator`` (the ``ledgerlearn_agent_info`` label).
    max_age_s, wait_s
        Of the :class:`Reading` of the chain's head, the balance and the peers.

    Attributes
    ----------
    validator, provider
        Set once the agent command made them: their series are exposed from then on.
    """

    def __init__(
        self,
        participant: Participant,
        node: IpfsNode,
        *,
        role: str,
        max_age_s: float = 5.0,
        wait_s: float = 0.5,
    ) -> None:
        self.participant = participant
        self.node = node
        self.role = role
        self.validator: Validator | None = None
        self.provider: Provider | None = None
        client = participant.client
        timing = {"max_age_s": max_age_s, "wait_s": wait_s}
        self._chain_head = Reading(client.block_number, **timing)
        self._balance = Reading(client.balance, **timing)
        self._peers = Reading(lambda: len(node.connected_peers()), **timing)
        self._lock = threading.Lock()
        self._folded = 0  # scores of validator.scored counted so far
        self._outcomes = dict.fromkeys(OUTCOMES, 0)
        self._decode = 0  # of them, updates that did not decode

    def collect(self) -> Iterator[Metric]:
        """The series of :data:`AGENT_SERIES` this agent has."""
        p = self.participant
        yield InfoMetricFamily(
            "ledgerlearn_agent",
            "The agent's account and role.",
            value={"account": p.address, "role": self.role},
        )
        head = p.head
        yield GaugeMetricFamily(
            "ledgerlearn_chain_head_block", "The latest block the agent has synced.", head
        )
        latest = self._chain_head.value()
        if latest is not None and head >= 0:
            yield GaugeMetricFamily(
                "ledgerlearn_chain_head_lag_blocks",
                "Blocks the chain's latest block is ahead of the agent's last sync.",
                max(0.0, latest - head),
            )
        if p.synced_at is not None:
            yield GaugeMetricFamily(
                "ledgerlearn_seconds_since_sync",
                "Seconds since the agent last synced with the chain (it syncs between steps: "
                "a long training step shows here).",
                time.monotonic() - p.synced_at,
            )
        peers = self._peers.value()
        if peers is not None:
            yield GaugeMetricFamily(
                "ledgerlearn_ipfs_peers", "IPFS peers the agent's node is connected to.", peers
            )
        failures: dict[str, float] = {**self.node.failures, "decode": p.decode_failures}
        if self.validator is not None:
            self._fold(self.validator)
            failures["decode"] += self._decode
        yield _counter(
            "ledgerlearn_fetch_failures",
            "Content fetches that failed, by cause: unavailable (nobody served it before the "
            "deadline), too_large, hash_mismatch, decode (not a valid spec or model).",
            "cause",
            failures,
        )
        seconds = dict(p.stopwatch.seconds)
        yield _counter(
            "ledgerlearn_work_seconds",
            "Seconds of work by category (training, validation, aggregation, ipfs, chain: "
            "transactions until mined, events: polling the chain); a step counts when it ends.",
            "category",
            {c: seconds.get(c, 0.0) for c in CATEGORIES},
        )
        balance = self._balance.value()
        if balance is not None:
            yield GaugeMetricFamily(
                "ledgerlearn_account_balance_wei", "The agent's account balance, in wei.", balance
            )
        if self.validator is not None:
            yield from self._validator_series(self.validator)
        if self.provider is not None:
            provider = self.provider
            yield CounterMetricFamily(
                "ledgerlearn_updates_submitted",
                "Updates this provider revealed (sent) to the ledger.",
                len(provider.submitted),
            )
            yield CounterMetricFamily(
                "ledgerlearn_updates_lost",
                "Updates this provider made and could not submit (the window closed first, the "
                "commitment reverted).",
                provider.lost,
            )

    def _fold(self, validator: Validator) -> None:
        """Count the scores sent since the last scrape by outcome (the list only grows)."""
        with self._lock:
            new: list[ScoreRecord] = validator.scored[self._folded :]
            self._folded += len(new)
            tasks = validator.participant.index.tasks
            for record in new:
                if record.failure:
                    outcome = _OUTCOME_OF_FAILURE.get(record.failure, "invalid")
                    self._decode += record.failure == "decode"
                else:
                    task = tasks.get(record.task_id)
                    threshold = task.params.threshold if task is not None else 0
                    outcome = "passed" if passes(record.score, threshold) else "below_threshold"
                self._outcomes[outcome] += 1

    def _validator_series(self, validator: Validator) -> Iterator[Metric]:
        with self._lock:
            outcomes = dict(self._outcomes)
            sent = self._folded
        yield _counter(
            "ledgerlearn_updates_scored",
            "Scores this validator sent, by what it found: passed or below_threshold (the "
            "task's threshold), failed_checks (a sanity check), invalid, unavailable.",
            "outcome",
            outcomes,
        )
        yield CounterMetricFamily(
            "ledgerlearn_scores_sent", "Scores this validator sent to the ledger.", sent
        )
        dropped = dict(validator.dropped)
        yield _counter(
            "ledgerlearn_scores_dropped",
            "Scores this validator computed and did not send, by reason: decided (the others "
            "decided the update first), late (its scoring window closed first), closed (the "
            "task closed first).",
            "reason",
            {reason: dropped.get(reason, 0) for reason in DROPPED},
        )


@contextmanager
def serve_metrics(collector: Collector, port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``collector`` at ``http://host:port/metrics`` (a daemon thread) while the block
    runs; yields that URL (``port`` 0: a free port, named in the URL).

    Raises
    ------
    ConfigError
        The port is taken (or cannot be bound).
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve metrics on {host}:{port} ({exc.strerror}): another program uses "
            "it; give another --metrics-port"
        ) from None
    try:
        yield f"http://{host}:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
