"""The agents' Prometheus metrics (issue 13, section 2) after a real run in one process: the
contracts on py-evm, a real IPFS node, the real agents; a round with honest providers, a
malformed file, withheld content and a free rider, scored by three validators. The series are
read back through HTTP from ``serve_metrics`` and parsed with prometheus_client's parser."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from ledgerlearn.agents.metrics import AgentCollector, Reading, serve_metrics
from ledgerlearn.agents.provider import Provider
from ledgerlearn.agents.validator import Validator
from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.simulate import Agents, RunConfig, simulate

FROZEN = {
    "ledgerlearn_agent_info": ("gauge", {"account", "role"}),
    "ledgerlearn_chain_head_block": ("gauge", set()),
    "ledgerlearn_chain_head_lag_blocks": ("gauge", set()),
    "ledgerlearn_seconds_since_sync": ("gauge", set()),
    "ledgerlearn_ipfs_peers": ("gauge", set()),
    "ledgerlearn_fetch_failures": ("counter", {"cause"}),
    "ledgerlearn_work_seconds": ("counter", {"category"}),
    "ledgerlearn_account_balance_wei": ("gauge", set()),
    "ledgerlearn_updates_scored": ("counter", {"outcome"}),
    "ledgerlearn_scores_sent": ("counter", set()),
    "ledgerlearn_scores_dropped": ("counter", {"reason"}),
    "ledgerlearn_updates_submitted": ("counter", set()),
    "ledgerlearn_updates_lost": ("counter", set()),
}
"""Names, types and labels that dashboards and alerts rely on: a change here is a breaking
change for operators (say so in the release notes)."""

PROVIDERS = ["honest", "honest", "honest", "malformed_pickle", "withhold", "free_rider"]


@dataclass
class Scrape:
    """What one agent's endpoint answered, and what the agent's objects said meanwhile."""

    families: dict[str, tuple[str, list[Sample]]]
    seconds: float
    expected: dict[str, float]

    def value(self, sample: str, **labels: str) -> float:
        """The value of the one sample named ``sample`` with ``labels``."""
        matches = [
            s.value
            for _, samples in self.families.values()
            for s in samples
            if s.name == sample and s.labels == labels
        ]
        assert len(matches) == 1, (sample, labels, self.families.keys())
        return matches[0]

    def by(self, name: str, label: str) -> dict[str, float]:
        return {s.labels[label]: s.value for s in self.families[name][1]}


def scrape(url: str) -> tuple[dict[str, tuple[str, list[Sample]]], float]:
    started = time.perf_counter()
    response = httpx.get(url, timeout=10)
    seconds = time.perf_counter() - started
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: (f.type, f.samples) for f in text_string_to_metric_families(response.text)}
    return families, seconds


@pytest.fixture(scope="module")
def scrapes() -> dict[str, Scrape]:
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": PROVIDERS,
            "validators": 3,
            "policy": Policy(
                quorum=2,
                max_faulty_validators=0,
                rounds=1,
                round_length=40,
                score_window=30,
                min_updates=len(PROVIDERS),
                round_extension=80,
                score_extension=30,
                attest_window=30,
                threshold=-0.25,
                threshold_mode="peer",
            ),
        }
    )
    found: dict[str, Scrape] = {}

    def read(agents: Agents) -> None:
        index = agents.publisher.index
        task = index.tasks[1]
        cast: dict[str, Validator | Provider] = {
            "validator-0": agents.validators[0],
            "validator-2": agents.validators[2],
            "provider-0": agents.providers[0],
            "provider-4": agents.providers[4],  # the one withholding its content
        }
        for name, agent in cast.items():
            p = agent.participant
            role = "validator" if isinstance(agent, Validator) else "provider"
            collector = AgentCollector(p, agents.node, role=role)
            if isinstance(agent, Validator):
                collector.validator = agent
            else:
                collector.provider = agent
            with serve_metrics(collector, 0) as url:
                families, seconds = scrape(url)
                again, _ = scrape(url)
            counted = ("ledgerlearn_updates_scored", "ledgerlearn_scores_sent")
            for family in counted:  # a second scrape counts nothing twice
                assert again.get(family) == families.get(family), family
            on_chain = {
                "scores": sum(p.address in u.scores for u in task.updates.values()),
                "updates": sum(u.provider == p.address for u in task.updates.values()),
            }
            expected: dict[str, float] = {
                **on_chain,
                "head": p.head,
                "block": p.client.block_number(),
                "balance": p.client.balance(),
                "peers": len(agents.node.connected_peers()),
                **{f"seconds:{c}": s for c, s in p.stopwatch.seconds.items()},
                **{f"node:{c}": n for c, n in agents.node.failures.items()},
                "decode": p.decode_failures,
            }
            if isinstance(agent, Validator):
                expected["decode"] += sum(r.failure == "decode" for r in agent.scored)
                expected |= {f"dropped:{r}": n for r, n in agent.dropped.items()}
            else:
                expected["lost"] = agent.lost
            found[name] = Scrape(families, seconds, expected)
            if role == "validator":  # its account, as the chain knows it
                (info,) = families["ledgerlearn_agent_info"][1]
                assert info.labels == {"account": p.address, "role": "validator"}

    simulate(config, on_finish=read)
    return found


def test_the_series_names_types_and_labels_are_frozen(scrapes: dict[str, Scrape]) -> None:
    seen: dict[str, tuple[str, set[str]]] = {}
    for scrape_ in scrapes.values():
        for name, (kind, samples) in scrape_.families.items():
            labels = set().union(*(s.labels for s in samples))
            assert seen.setdefault(name, (kind, labels)) == (kind, labels), name
            for sample in samples:  # counters expose *_total, gauges their name
                assert sample.name == (name + "_total" if kind == "counter" else name)
    assert seen == FROZEN
    validator, provider = scrapes["validator-0"], scrapes["provider-0"]
    assert not any(n.startswith("ledgerlearn_updates_su") for n in validator.families)
    assert "ledgerlearn_scores_sent" not in provider.families
    assert set(validator.by("ledgerlearn_fetch_failures", "cause")) == {
        "unavailable",
        "too_large",
        "hash_mismatch",
        "decode",
    }
    assert set(validator.by("ledgerlearn_work_seconds", "category")) >= {"training", "chain"}
    assert set(validator.by("ledgerlearn_updates_scored", "outcome")) == {
        "passed",
        "below_threshold",
        "failed_checks",
        "invalid",
        "unavailable",
    }
    assert set(validator.by("ledgerlearn_scores_dropped", "reason")) == {
        "decided",
        "late",
        "closed",
    }


def test_a_validators_series_match_the_chain(scrapes: dict[str, Scrape]) -> None:
    for name in ("validator-0", "validator-2"):
        s = scrapes[name]
        sent = s.value("ledgerlearn_scores_sent_total")
        assert sent == s.expected["scores"], name  # every score it sent is on chain
        outcomes = s.by("ledgerlearn_updates_scored", "outcome")
        assert sum(outcomes.values()) == sent, (name, outcomes)
        dropped = s.by("ledgerlearn_scores_dropped", "reason")
        assert dropped == {
            r: s.expected.get(f"dropped:{r}", 0) for r in ("decided", "late", "closed")
        }
    # validator-0 steps first: it scores every update of the round, each for what it is
    first = scrapes["validator-0"]
    assert first.expected["scores"] == len(PROVIDERS)
    outcomes = first.by("ledgerlearn_updates_scored", "outcome")
    assert outcomes["unavailable"] == 1 and outcomes["invalid"] == 1, outcomes
    assert outcomes["failed_checks"] >= 1 and outcomes["passed"] >= 2, outcomes
    failures = first.by("ledgerlearn_fetch_failures", "cause")
    assert failures["decode"] == first.expected["decode"] == 1  # the pickle, not a model
    assert failures["unavailable"] == first.expected["node:unavailable"] >= 1  # the withheld one
    validation = first.value("ledgerlearn_work_seconds_total", category="validation")
    assert validation == pytest.approx(first.expected["seconds:validation"]) and validation > 0


def test_a_providers_series_match_the_chain(scrapes: dict[str, Scrape]) -> None:
    for name in ("provider-0", "provider-4"):
        s = scrapes[name]
        assert s.value("ledgerlearn_updates_submitted_total") == s.expected["updates"] == 1
        assert s.value("ledgerlearn_updates_lost_total") == s.expected["lost"] == 0
        training = s.value("ledgerlearn_work_seconds_total", category="training")
        assert training == pytest.approx(s.expected["seconds:training"]) and training > 0
        (info,) = s.families["ledgerlearn_agent_info"][1]
        assert info.labels["role"] == "provider" and info.value == 1


def test_chain_ipfs_and_account_readings(scrapes: dict[str, Scrape]) -> None:
    for name, s in scrapes.items():
        head = s.value("ledgerlearn_chain_head_block")
        assert head == s.expected["head"] > 0, name
        lag = s.value("ledgerlearn_chain_head_lag_blocks")
        assert lag == max(0, s.expected["block"] - s.expected["head"]), name
        assert 0 <= s.value("ledgerlearn_seconds_since_sync") < 600
        assert s.value("ledgerlearn_ipfs_peers") == s.expected["peers"]
        balance = s.value("ledgerlearn_account_balance_wei")  # a float64: 15 digits of wei
        assert balance == pytest.approx(s.expected["balance"], rel=1e-15) and balance > 0
        assert s.seconds < 1.0, (name, s.seconds)  # readings wait 0.5 s at most


def test_a_reading_that_hangs_does_not_hold_the_scrape() -> None:
    """A chain call that never returns costs one thread, once: scrapes return at once with
    the last value (None before any)."""
    release = threading.Event()
    calls = []

    def hangs() -> float:
        calls.append(1)
        release.wait(30)
        return 7.0

    reading = Reading(hangs, max_age_s=0.0, wait_s=0.2)
    started = time.perf_counter()
    assert reading.value() is None  # waited 0.2 s for the first read
    assert reading.value() is None  # the read still hangs: no wait, no second thread
    assert time.perf_counter() - started < 0.5
    assert len(calls) == 1
    release.set()
    deadline = time.monotonic() + 10
    while reading.value() != 7.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reading.value() == 7.0


def test_only_the_two_metrics_modules_import_prometheus_client() -> None:
    """The agents and the gateway keep plain counters; reading them for Prometheus is the
    business of agents/metrics.py and ledgerlearn_gateway/metrics.py alone."""
    root = Path(__file__).resolve().parents[3]
    importers = sorted(
        str(path.relative_to(root))
        for folder in ("platform", "api")
        for path in (root / folder).rglob("*.py")
        if re.search(r"^\s*(from|import) prometheus_client", path.read_text(), re.MULTILINE)
    )
    assert importers == [
        "api/ledgerlearn_gateway/metrics.py",
        "platform/ledgerlearn/agents/metrics.py",
    ]
