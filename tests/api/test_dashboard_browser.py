"""The dashboard in a real browser (Debian's chromium driven by Playwright) while a quick demo
runs (``ledgerlearn demo --quick``, which serves the dashboard from a gateway on its own chain):
every agent a process on a devnet. The browser sees the task appear, opens a round with every
update's decision and each validator's score, sees the accuracy curve, and saves a screenshot
(reports/dashboard.png); opened after the task closed, it shows the task's whole history."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.events import EventStream
from ledgerlearn.config import ChainSettings
from tests.api.conftest import PASSWORD, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPORTS = Path(__file__).resolve().parents[2] / "reports"


def wait_until(condition, timeout_s: float, what: str, processes=()):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for name, process, log in processes:
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited {process.returncode}:\n{log.read_text()[-3000:]}"
                )
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


@dataclass
class DemoRun:
    """A running ``ledgerlearn demo --quick --port P --linger``: the dashboard it serves, its
    output folder, and the process to watch."""

    url: str
    out: Path
    process: subprocess.Popen[bytes]
    watched: list[Any]


@contextmanager
def demo_with_dashboard(tmp_path: Path, *demo_args: str) -> Iterator[DemoRun]:
    """A quick demo (every agent a process on a devnet) serving its dashboard (a read-only
    gateway on the demo's chain, with the digits held-out set) and lingering after the task
    closed; stopped with Ctrl-C (SIGINT) at the end."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LEDGERLEARN_AGENT__PASSWORD": PASSWORD}
    out = tmp_path / "demo"
    demo_log = tmp_path / "demo.log"
    port = free_port()
    command = [
        sys.executable, "-m", "ledgerlearn.cli", "demo", "--quick", *demo_args,
        "--out", str(out), "--port", str(port), "--linger",
    ]  # fmt: skip
    demo = subprocess.Popen(
        command,
        stdout=demo_log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    run = DemoRun(url, out, demo, [("demo", demo, demo_log)])
    try:
        assert f"dashboard: {url}" in wait_until(
            lambda: demo_log.read_text(), 120, "the demo's first lines", run.watched
        )

        def answers() -> bool:
            try:
                return httpx.get(url + "/info", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 300, "the demo's dashboard", run.watched)
        yield run
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()


@contextmanager
def browser_page(url: str, path: str = "/", failed: list[str] | None = None) -> Iterator[Any]:
    """A page of the dashboard; responses of status 400 and above go to ``failed``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            if failed is not None:
                page.on(
                    "response",
                    lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
                )
            page.goto(url + path)
            yield page
        finally:
            browser.close()


def text_of(page: Any, selector: str) -> str:
    """The element's text now, or "" while it is being re-rendered (it may not exist)."""
    locator = page.locator(selector)
    try:
        return str(locator.first.inner_text(timeout=1000)) if locator.count() else ""
    except Exception:  # replaced between count() and inner_text(): try again next poll
        return ""


def save_screenshot(page: Any, name: str, tmp_path: Path) -> None:
    REPORTS.mkdir(exist_ok=True)
    page.screenshot(path=str(REPORTS / name), full_page=True)
    shutil.copy(REPORTS / name, tmp_path / name)
    assert (REPORTS / name).stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_dashboard_shows_a_running_demo(tmp_path: Path) -> None:
    with demo_with_dashboard(tmp_path) as run, browser_page(run.url) as page:
        watched = run.watched
        # the task appears when the demo's publisher publishes it (live, no reload)
        wait_until(
            lambda: page.locator(".task-list a", has_text="Task 1").count() > 0,
            300,
            "the task in the list",
            watched,
        )
        wait_until(  # the event stream is connected
            lambda: page.locator("#live.on").count() == 1, 60, "the live event stream", watched
        )
        # the demo is a consortium: two organisations were admitted by the council's vote
        wait_until(
            lambda: page.locator("#proposals li .badge.finalized").count() == 2,
            60,
            "the council's two executed admissions",
            watched,
        )
        assert "admit validator-5" in text_of(page, "#proposals")
        page.locator(".task-list a", has_text="Task 1").click()
        wait_until(
            lambda: page.locator("#timeline .round-card").count() > 0, 120, "a round card", watched
        )
        # its committee was drawn from the pool and approved it with reasons
        wait_until(
            lambda: (
                "Committee of 5 drawn" in text_of(page, "#vetting")
                and page.locator("#vetting .badge.accepted").count() >= 3
            ),
            120,
            "the draw and the approvals",
            watched,
        )
        assert "within limits" in text_of(page, "#vetting")
        wait_until(
            lambda: page.locator('.round-card[data-round="1"] .badge.finalized').count() > 0,
            300,
            "round 1 to be finalized",
            watched,
        )
        page.locator('.round-card[data-round="1"]').click()
        # every check waits for its condition: the panel re-renders on every event
        wait_until(
            lambda: "Round 1" in text_of(page, "#round-title"), 60, "round 1's panel", watched
        )
        wait_until(  # the committee's decisions
            lambda: {"accepted", "rejected"} <= set(text_of(page, "#updates").split()),
            60,
            "accepted and rejected updates in round 1",
            watched,
        )
        wait_until(  # every validator's scores
            lambda: page.locator("#updates .score").count() >= 10, 60, "the scores", watched
        )
        assert "of two scores, the lower" in text_of(page, "#median-rule")
        # the accuracy curve: the initial model and round 1, on the gateway's held-out set
        wait_until(
            lambda: page.locator("#curve-svg circle").count() >= 2,
            120,
            "the accuracy curve",
            watched,
        )
        wait_until(
            lambda: "held-out set" in text_of(page, "#curve"), 60, "the curve's caption", watched
        )
        wait_until(
            lambda: page.locator('.round-card[data-round="3"] .badge.finalized').count() > 0,
            300,
            "the last round",
            watched,
        )
        page.wait_for_timeout(2500)  # let the curve pick up the last round
        # reputation: the three Byzantine providers excluded; the reward escrowed and paid out
        wait_until(
            lambda: page.locator("#reputation .badge.rejected", has_text="excluded").count() == 3,
            60,
            "the excluded providers",
            watched,
        )
        wait_until(
            lambda: (
                "1000.00 tokens escrowed" in text_of(page, "#rewards")
                and "against the decision more than 10% of the time earns nothing"
                in text_of(page, "#rewards")
            ),
            60,
            "the reward",
            watched,
        )
        save_screenshot(page, "dashboard.png", tmp_path)
        # the second task, a model over the committee's size limit: rejected, never opened
        page.locator(".task-list a", has_text="Task 2").click()
        wait_until(
            lambda: "above the limit of 1,000,000" in text_of(page, "#vetting"),
            60,
            "the second task's rejection and its reasons",
            watched,
        )
        assert page.locator("#vetting .badge.accepted").count() == 0
        assert "its committee rejected it" in text_of(page, "#never-opened")
        assert page.locator("#timeline").count() == 0  # no rounds: nothing ever trained
        assert "rejected" in text_of(page, ".task-list a:has-text('Task 2') .badge")
        save_screenshot(page, "dashboard-vetting.png", tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_dashboard_shows_a_running_dag_demo(tmp_path: Path) -> None:
    with demo_with_dashboard(tmp_path, "--flow", "dag") as run, browser_page(run.url) as page:
        watched = run.watched
        wait_until(
            lambda: page.locator(".task-list a", has_text="Task 1").count() > 0,
            300,
            "the dag task in the list",
            watched,
        )
        page.locator(".task-list a", has_text="Task 1").click()
        wait_until(lambda: page.locator("#dag").is_visible(), 120, "the DAG panel", watched)
        wait_until(
            lambda: "— dag" in text_of(page, "#content h2").lower(), 60, "the dag title", watched
        )
        # the DAG grows live: the root and at least eight updates
        wait_until(
            lambda: (
                page.locator("#dag-svg circle").count() >= 9
                and page.locator('#dag-svg circle[fill="#2d5be3"], #dag-svg title').count() > 0
            ),
            300,
            "the DAG to grow",
            watched,
        )
        # the consensus model the gateway computes, and its curve over blocks
        wait_until(
            lambda: "consensus model:" in text_of(page, "#consensus"),
            120,
            "the consensus model",
            watched,
        )
        wait_until(
            lambda: page.locator("#curve-svg circle").count() >= 3,
            120,
            "the consensus models' accuracy curve",
            watched,
        )
        # the panel re-renders as consensus models arrive: wait for the caption, not a snapshot
        wait_until(
            lambda: (
                "each consensus model" in (caption := text_of(page, "#curve"))
                and "held-out set" in caption
                and page.locator("#curve-svg text", has_text="block").count() == 1
            ),
            60,
            "the consensus curve's caption and block axis",
            watched,
        )
        # the Byzantine providers' updates show rejected, the honest ones accepted
        wait_until(
            lambda: (
                {"accepted", "rejected"}
                <= {
                    word
                    for t in page.locator("#dag-svg title").all_text_contents()
                    for word in t.split()
                }
            ),
            300,
            "accepted and rejected updates in the DAG",
            watched,
        )
        page.wait_for_timeout(20_000)  # a fuller DAG for the picture
        save_screenshot(page, "dashboard-dag.png", tmp_path)


def task_event_ids(run: DemoRun, task_id: int) -> list[str]:
    """The task's contract events as the chain holds them, oldest first."""
    settings = json.loads((run.out / "run.json").read_text())
    client = LedgerClient(
        connect(ChainSettings(backend="rpc", rpc_url=settings["rpc_url"])),
        Deployment.load(Path(settings["deployment"])),
    )
    stream, ids = EventStream(client), []
    while True:
        batch = stream.poll()
        ids += [
            f"{e.block_number}-{e.log_index}"
            for e in batch.events
            if e.args.get("task_id") == task_id
        ]
        stream.commit(batch)
        if batch.to_block >= client.block_number():
            return ids


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_dashboard_shows_a_finished_task_history(tmp_path: Path) -> None:
    """Opened only after the task closed, the dashboard shows the task's whole history (every
    contract event of the task, a page at a time), with no failed request; Ctrl-C then ends
    the lingering demo cleanly."""
    with demo_with_dashboard(tmp_path) as run:
        wait_until(  # the report is written once the task closed; the demo then lingers
            lambda: (run.out / "report.md").exists(), 600, "the demo's report", run.watched
        )
        expected = task_event_ids(run, 1)
        assert len(expected) > 100  # a page is 100 events: the "older" button is needed
        failed: list[str] = []
        with browser_page(run.url, "/#/tasks/1", failed) as page:
            wait_until(
                lambda: text_of(page, "#feed-title").lower() == "task 1 events", 60, "the events",
                run.watched,
            )  # fmt: skip
            items = page.locator("#feed li")
            # the title shows before the first page of events has arrived
            wait_until(lambda: items.count() > 0, 60, "the first page of events", run.watched)
            while True:
                shown = items.count()
                if page.locator("#feed-older").is_hidden():
                    break
                page.locator("#feed-older").click()
                wait_until(lambda n=shown: items.count() > n, 30, "older events", run.watched)
            ids = [li.get_attribute("data-id") for li in page.locator("#feed li").all()]
            assert ids == expected[::-1]  # every event once, newest first
            # newest first: after the close, only the earners' withdrawals of their reward
            texts = page.locator("#feed li").all_inner_texts()
            closed = next(i for i, text in enumerate(texts) if text.startswith("TaskClosed"))
            assert closed > 0 and all(t.startswith("RewardWithdrawn") for t in texts[:closed])
            wait_until(
                lambda: page.locator('.round-card[data-round="3"] .badge.finalized').count(),
                60, "the finished rounds", run.watched,
            )  # fmt: skip
            page.locator("#feed-panel").scroll_into_view_if_needed()
            save_screenshot(page, "dashboard-history.png", tmp_path)
        assert failed == []  # the favicon included
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=60) == 0
    log = (tmp_path / "demo.log").read_text()
    assert "serving the finished task" in log and "Traceback" not in log
    # the dashboard's gateway saw pages open and close their event streams: nothing went wrong
    gateway_log = (run.out / "logs" / "gateway.log").read_text()
    alarms = [line for line in gateway_log.splitlines() if " WARNING " in line or " ERROR " in line]
    assert not alarms and "Traceback" not in gateway_log, alarms[:10]
