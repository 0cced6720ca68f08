"""H3: the gateway's OpenAPI spec fuzzed by schemathesis with every check: 0 failures.

schemathesis runs as its command-line tool against a real gateway process (with a published
task, so generated ids hit real data too). The event stream is excluded: it never ends by
design (it is tested in test_publish_and_read.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ledgerlearn_gateway.client import GatewayClient
from tests.api.conftest import GatewayProcess, World
from tests.api.test_publish_and_read import request_for

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_openapi_fuzzed_with_all_checks_has_no_failure(
    world: World, gateway: GatewayProcess, tmp_path: Path
) -> None:
    with GatewayClient(gateway.url, world.publisher) as client:
        client.publish(request_for(world))
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{gateway.url}/openapi.json",
            "--checks",
            "all",
            "--exclude-path",
            "/events",
            "--max-examples",
            "25",
            "--seed",
            "20240601",
            "--request-timeout",
            "60",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    summary = result.stdout[-6000:]
    print(summary)
    assert result.returncode == 0, summary + result.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert counts is not None and counts[1] == counts[2] and int(counts[1]) > 500, summary
