"""Strict JSON from peers: bounded depth (before it can overflow the C stack), no duplicate
keys, no NaN."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ledgerlearn.strict_json import (
    DuplicateKeyError,
    JsonTooDeepError,
    JsonTooLargeError,
    check_depth,
    load_file,
    loads,
    write_file,
)


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


def test_size_is_bounded_before_anything_is_parsed() -> None:
    assert loads(b'{"a": 1}', max_bytes=8) == {"a": 1}
    with pytest.raises(JsonTooLargeError, match="9 bytes, above the limit of 8"):
        loads(b'{"a": 10}', max_bytes=8)
    with pytest.raises(JsonTooLargeError):
        loads("[" + "1," * 600_000 + "1]")  # the default bound: 1 MB


def test_numbers_beyond_float_and_long_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="beyond the range of a float"):
        loads('{"threshold": 1e400}')  # json.loads makes this infinity
    with pytest.raises(ValueError, match="beyond the range of a float"):
        loads("[-1e999]")
    assert loads("[1e308, -2.5]") == [1e308, -2.5]
    assert loads(str(2**256 - 1)) == 2**256 - 1  # uint256 still fits
    with pytest.raises(ValueError, match="101 digits"):
        loads("1" * 101)


def test_unpaired_surrogates_are_refused_pairs_are_kept() -> None:
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"
    for document in ('"\\ud800"', '{"\\udfff": 1}', '["ok", {"a": "x\\ud83d"}]'):
        with pytest.raises(ValueError, match="unpaired UTF-16 surrogate"):
            loads(document)
    with pytest.raises(ValueError, match="not UTF-8"):
        loads(b'"\xff"')


def test_an_unterminated_string_does_not_confuse_the_depth_scan() -> None:
    check_depth('"' + '\\"' * 100_000, 1)  # one string, never closed: no brackets counted
    with pytest.raises(JsonTooDeepError):
        check_depth("[[" + '"\\"]"' + "[", 2)


def test_files_are_read_under_the_cap(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_text('{"task_id": 3}')
    assert load_file(small) == {"task_id": 3}
    large = tmp_path / "large.json"
    large.write_bytes(b"[" + b"0," * 1000 + b"0]")
    with pytest.raises(JsonTooLargeError, match=r"large\.json is larger than the limit of 100"):
        load_file(large, max_bytes=100)
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 99_000)
    with pytest.raises(JsonTooDeepError):
        load_file(deep)


def test_a_file_written_while_another_reads_it_is_never_seen_half_written(
    tmp_path: Path,
) -> None:
    # the publisher writes task.json while providers poll for it: a plain write_text lets them
    # read an empty or truncated file (a provider of the quick dag demo died of it in CI)
    path = tmp_path / "task.json"
    seen: list[int] = []
    broken: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            if path.exists():
                try:
                    seen.append(len(load_file(path)["pad"]))
                except ValueError as exc:
                    broken.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(300):
            write_file(path, {"task_id": i, "pad": "x" * (100_000 + i)})
    finally:
        done.set()
        reader.join()
    assert broken == []
    assert seen and all(n >= 100_000 for n in seen)
    assert [p.name for p in tmp_path.iterdir()] == ["task.json"]  # no temporary file left


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_file(path, {"kept": 1}, mode=0o600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_file(path, {"kept": {1, 2}})
    assert load_file(path) == {"kept": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize(
    "call",
    [
        "strict_json.loads(b'[' * 99_000, max_bytes=10**6)",
        "strict_json.loads(b'{\"a\":' * 99_000, max_bytes=10**6)",
        "load_keystore(deep)",
        "Deployment.load(deep)",
        "Outbox(deep_lines)",  # a damaged line before the last (the last may be torn)
    ],
)
def test_every_file_and_document_parser_survives_a_nesting_bomb(call: str, tmp_path: Path) -> None:
    # the processes that parse them import web3 (py-evm raises the recursion limit)
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 99_000)
    (tmp_path / "deep.jsonl").write_bytes(b"[" * 99_000 + b'\n{"dropped": "x"}\n')
    code = (
        "import sys, web3, eth, py_ecc\n"
        "from pathlib import Path\n"
        "from ledgerlearn import strict_json\n"
        "from ledgerlearn.chain.keys import load_keystore\n"
        "from ledgerlearn.chain.deployment import Deployment\n"
        "from ledgerlearn.chain.outbox import Outbox\n"
        f"deep = Path({str(deep)!r})\n"
        f"deep_lines = Path({str(tmp_path / 'deep.jsonl')!r})\n"
        "assert sys.getrecursionlimit() >= 100_000\n"
        "try:\n"
        f"    {call}\n"
        "except Exception as e:\n"
        "    print('refused:', type(e).__name__, str(e)[:200], 'cause:', e.__cause__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused:" in result.stdout and "deeper than" in result.stdout, result.stdout


def test_no_untrusted_json_bypasses_the_strict_parser() -> None:
    # every JSON document of platform/ and api/ goes through ledgerlearn.strict_json (pydantic's
    # own JSON parser, used by model_validate_json, bounds its recursion itself)
    root = Path(__file__).resolve().parents[2]
    raw = re.compile(r"\bjson\.loads?\(|\.json\(\)|\bjson\.JSONDecoder\b")
    offenders = []
    for folder in ("platform/ledgerlearn", "api"):
        for path in sorted((root / folder).rglob("*.py")):
            if path.name == "strict_json.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if raw.search(line.split("#")[0]):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, "parse these with ledgerlearn.strict_json:\n" + "\n".join(offenders)
