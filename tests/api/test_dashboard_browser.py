"""The dashboard in a real browser (Debian's chromium driven by Playwright) while a quick demo
runs: every agent a process on a devnet, the gateway a process reading the same chain. The
browser sees the task appear, opens a round with every update's decision and each
validator's score, sees the accuracy curve, and saves a screenshot (reports/dashboard.png)."""

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
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account

from ledgerlearn.chain.backend import connect
from ledgerlearn.config import ChainSettings
from tests.api.conftest import PASSWORD, free_port, write_keystore

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


@contextmanager
def demo_and_gateway(tmp_path: Path, *demo_args: str) -> Iterator[tuple[str, list[Any]]]:
    """A quick demo (every agent a process on a devnet) and a gateway process reading the
    same chain with a held-out set; yields the gateway's URL and the processes to watch."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LEDGERLEARN_AGENT__PASSWORD": PASSWORD}
    out = tmp_path / "demo"
    demo_log = tmp_path / "demo.log"
    demo = subprocess.Popen(
        [sys.executable, "-m", "ledgerlearn.cli", "demo", "--quick", *demo_args, "--out", str(out)],
        stdout=demo_log.open("wb"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    gateway = None
    gateway_log = tmp_path / "gateway.log"
    try:
        watched: list[Any] = [("demo", demo, demo_log)]
        wait_until(lambda: (out / "run.json").exists(), 300, "the demo's devnet", watched)
        run = json.loads((out / "run.json").read_text())
        relayer = Account.create()
        connect(ChainSettings(backend="rpc", rpc_url=run["rpc_url"])).fund(relayer.address, 10**20)
        keystore = write_keystore(tmp_path / "relayer.json", relayer)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        gateway = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledgerlearn.cli",
                "gateway",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--rpc",
                run["rpc_url"],
                "--deployment",
                run["deployment"],
                "--keystore",
                str(keystore),
                "--state-dir",
                str(tmp_path / "gateway"),
                "--eval-dataset",
                "digits",
            ],
            stdout=gateway_log.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**env, "LEDGERLEARN_LOG": "INFO"},
        )
        watched.append(("gateway", gateway, gateway_log))

        def answers() -> bool:
            try:
                return httpx.get(url + "/info", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 120, "the gateway", watched)
        yield url, watched
    finally:
        for process in (gateway, demo):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def browser_page(url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1150})
            page.goto(url + "/")
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
    with demo_and_gateway(tmp_path) as (url, watched), browser_page(url) as page:
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
        page.locator(".task-list a", has_text="Task 1").click()
        page.wait_for_selector("#timeline .round-card", timeout=60_000)
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
        save_screenshot(page, "dashboard.png", tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_dashboard_shows_a_running_dag_demo(tmp_path: Path) -> None:
    with demo_and_gateway(tmp_path, "--flow", "dag") as (url, watched), browser_page(url) as page:
        wait_until(
            lambda: page.locator(".task-list a", has_text="Task 1").count() > 0,
            300,
            "the dag task in the list",
            watched,
        )
        page.locator(".task-list a", has_text="Task 1").click()
        page.wait_for_selector("#dag", timeout=60_000)
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
