"""The ABI and bytecode shipped in the package equal a fresh compile of contracts/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledgerlearn.chain.artifacts import load_artifact

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "build" / "artifacts" / "contracts"


def fresh_build() -> None:
    if not (ROOT / "node_modules" / ".bin" / "hardhat").exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules missing in CI: `make setup` must run npm ci")
        pytest.skip("no node_modules: run `make setup` to compile the contracts")
    subprocess.run(["npx", "hardhat", "compile", "--quiet"], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    "script", ["export_artifacts.py", "gen_contract_errors.py", "gen_task_params.py"]
)
def test_shipped_files_match_a_fresh_compile(script: str) -> None:
    fresh_build()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_shipped_bytecode_is_under_the_contract_size_limit() -> None:
    for name in ("Consortium", "LearningLedger"):
        size = (len(load_artifact(name).deployed_bytecode) - 2) // 2  # type: ignore[arg-type]
        assert 0 < size <= 24_576, f"{name} is {size} bytes (EIP-170 limit 24576)"
