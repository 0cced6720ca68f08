"""Strict JSON from peers: bounded depth (before it can overflow the C stack), no duplicate
keys, no NaN."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ledgerlearn.strict_json import DuplicateKeyError, JsonTooDeepError, check_depth, loads


def test_depth_counts_brackets_outside_strings_only() -> None:
    check_depth('{"a": [[1, 2], {"b": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]}', 3)
    with pytest.raises(JsonTooDeepError, match="deeper than 3"):
        check_depth('{"a": [[[1]]]}', 3)
    check_depth('"\\"[[[[" ', 1)  # escaped quote inside a string


def test_a_nesting_bomb_is_an_error_not_a_crash_after_web3_is_imported() -> None:
    # eth/py_ecc raise the recursion limit to 100000: json.loads alone would segfault here.
    code = (
        "import web3, eth, py_ecc\n"
        "from ledgerlearn.model import ModelSpec\n"
        "from ledgerlearn.errors import ModelSpecError\n"
        "try:\n"
        "    ModelSpec.from_json(b'[' * 100_000)\n"
        "except ModelSpecError as e:\n"
        "    print('refused:', e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused:" in result.stdout and "deeper than" in result.stdout


def test_duplicates_and_constants_are_refused() -> None:
    assert loads('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    with pytest.raises(DuplicateKeyError) as dup:
        loads('{"a": 1, "a": 2}')
    assert dup.value.key == "a"
    with pytest.raises(ValueError, match="NaN is not allowed"):
        loads('{"a": NaN}')
