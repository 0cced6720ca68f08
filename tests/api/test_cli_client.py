"""``ledgerlearn api ...`` as a person runs it: publish through the gateway in one command
(prepare, check, sign locally, submit), then read the task back."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.api.conftest import PASSWORD, GatewayProcess, World

CLI = [sys.executable, "-m", "ledgerlearn.cli", "api"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGERLEARN_AGENT__PASSWORD": PASSWORD, "COLUMNS": "200"}
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def test_publish_in_one_command_and_read_back(world: World, gateway: GatewayProcess) -> None:
    before = world.client().task_count()
    result = run(
        "publish",
        "--gateway",
        gateway.url,
        "--keystore",
        str(world.keystores["publisher"]),
        "--preset",
        "logreg_digits",
        "--dataset",
        "digits",
        "--committee",
        ",".join(world.committee),
        "--quorum",
        "2",
        "--max-faulty-validators",
        "0",
        "--rounds",
        "2",
        "--round-length",
        "10",
    )
    assert result.returncode == 0, result.stderr
    task_id = int(re.search(r"task (\d+) published by (0x\w+)", result.stdout)[1])  # type: ignore[index]
    assert world.client().task_count() == before + 1
    assert world.client().task(task_id).publisher == world.publisher.address
    listing = run("tasks", "--gateway", gateway.url)
    assert listing.returncode == 0 and str(task_id) in listing.stdout
    detail = run("task", "--gateway", gateway.url, str(task_id))
    assert detail.returncode == 0 and "federation" in detail.stdout and "round" in detail.stdout


def test_a_publisher_without_the_role_gets_a_clear_error(
    world: World, gateway: GatewayProcess
) -> None:
    result = run(
        "publish",
        "--gateway",
        gateway.url,
        "--keystore",
        str(world.keystores["outsider"]),
        "--preset",
        "logreg_digits",
        "--dataset",
        "digits",
        "--committee",
        ",".join(world.committee),
        "--quorum",
        "2",
        "--max-faulty-validators",
        "0",
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "error:" in result.stderr and "403" in result.stderr and "PUBLISHER_ROLE" in result.stderr
    )
