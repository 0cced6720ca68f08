"""The layers hold: the import-linter contracts of pyproject.toml pass (CI runs `make test`, not
`make lint`, so they are checked here too), and the checker does see an upward import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    run = _lint()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    # the chain imports errors (a lower layer); put errors above it and the contract must break
    config = tmp_path / "contracts.toml"
    config.write_text(
        """
[tool.importlinter]
root_packages = ["ledgerlearn"]

[[tool.importlinter.contracts]]
name = "errors above chain (wrong on purpose)"
type = "layers"
layers = ["ledgerlearn.errors", "ledgerlearn.chain"]
""",
        encoding="utf-8",
    )
    run = _lint("--config", str(config))
    assert run.returncode != 0
    assert "ledgerlearn.chain is not allowed to import ledgerlearn.errors" in run.stdout
