"""``ledgerlearn data check`` as a person runs it: a data file against a model spec, before
anything trains on it (the ``--task`` form, on a published task, is in test_cli_agents.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ledgerlearn.data import load_bundled

CLI = [sys.executable, "-m", "ledgerlearn.cli"]

RAW_DIGITS_SPEC = {
    "input_shape": [64],
    "num_classes": 10,
    "layers": [{"type": "Linear", "in_features": 64, "out_features": 10}],
    "input": {
        "range": [0, 1],
        "transform": {"scale": 0.0625},
        "description": "digit pixels 0-16",
    },
}


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "data", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw 0-16 digits as .npz and .csv (with a header), the same already divided by 16, and
    a file with two classes missing; the spec of a model that divides by 16 itself."""
    root = tmp_path_factory.mktemp("data-check")
    digits = load_bundled("digits", "train")
    x, y = digits.x[:200], digits.y[:200]
    np.savez(root / "raw.npz", x=x * 16, y=y)
    np.savez(root / "scaled.npz", x=x, y=y)
    names = ",".join([f"pixel{i}" for i in range(64)] + ["label"])
    table = np.column_stack([x * 16, y])
    np.savetxt(root / "raw.csv", table, fmt="%g", delimiter=",", header=names, comments="")
    np.savez(root / "eight.npz", x=x * 16, y=np.where(y > 7, 0, y))
    (root / "spec.json").write_text(json.dumps(RAW_DIGITS_SPEC))
    return root


def test_a_file_that_fits_says_how_it_was_read(files: Path) -> None:
    result = check("raw.csv", "--spec", "spec.json", cwd=files)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("raw.csv: line 1 is a header (detected: it names the columns)")
    assert lines[1].startswith("raw.csv: 200 samples of 64 values; labels of all 10 classes (")
    assert lines[2].startswith("raw.csv: values fit [0, 1] after the task's transform (min 0")
    assert lines[2].endswith("the task says: digit pixels 0-16")
    assert result.stderr == ""


def test_data_on_the_wrong_scale_are_a_warning_with_the_numbers(files: Path) -> None:
    scaled = check("scaled.npz", "--spec", "spec.json", cwd=files)
    assert scaled.returncode == 0, scaled.stderr
    assert scaled.stderr.startswith(
        "warning: scaled.npz: values span only 6% of [0, 1] after the task's transform "
        "(min 0, max 0.0625"
    ), scaled.stderr
    raw = check("raw.npz", "--preset", "logreg_digits", cwd=files)  # expects [0, 1] as given
    assert raw.returncode == 0, raw.stderr
    assert "warning: raw.npz: 4" in raw.stderr and "% of values lie outside [0, 1]" in raw.stderr


def test_missing_classes_are_named(files: Path) -> None:
    result = check("eight.npz", "--spec", "spec.json", cwd=files)
    assert result.returncode == 0, result.stderr
    assert "labels of 8 of the model's 10 classes (" in result.stdout
    assert "none of 8, 9)" in result.stdout


def test_a_file_that_does_not_fit_the_model_is_one_error_line(files: Path) -> None:
    result = check("raw.npz", "--preset", "cnn_mnist", cwd=files)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "error: raw.npz: samples have 64 values (shape (64,)) but the model expects "
        "input_shape [1, 28, 28] (784 values)"
    ]
    usage = check("raw.npz", cwd=files)
    assert usage.returncode == 2
    assert "give exactly one of --spec FILE, --preset NAME, --task N" in usage.stderr
