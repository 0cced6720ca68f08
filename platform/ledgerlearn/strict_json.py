"""Strict JSON for documents from the network or from files: bounded, unambiguous, finite.

:func:`loads` is ``json.loads`` with these refusals, each a ``ValueError``:

- a document larger than ``max_bytes`` (:class:`JsonTooLargeError`), checked before anything
  else is done with it;
- nesting deeper than ``max_depth`` (:class:`JsonTooDeepError`), checked before parsing:
  ``json.loads`` recurses once per nesting level, and py-evm and py_ecc (imported with web3)
  raise the interpreter's recursion limit to 100000, so a document of 100000 ``[`` would
  overflow the C stack and kill the process instead of raising ``RecursionError``;
- a key repeated in an object (:class:`DuplicateKeyError`: the last one would silently win);
- ``NaN``, ``Infinity``, and number literals beyond float range such as ``1e400`` (which
  ``json`` turns into infinity);
- integer literals longer than ``max_int_digits`` digits (Python's ``int`` of a long decimal
  string costs quadratic time);
- strings holding an unpaired UTF-16 surrogate (``"\\ud800"``): not Unicode, they cannot be
  encoded again and would break whatever answers or stores them.

Every JSON document that comes from a peer or from a file another process wrote (model specs,
safetensors headers, HTTP bodies and form fields, keystores, deployment files, checkpoints,
outbox lines, run files) is parsed here; :func:`load_file` reads a file under a size cap.
:func:`write_file` writes a JSON file whole (a temporary file renamed over it), so a process
reading it while another writes it sees the old document or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ledgerlearn.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, MAX_JSON_INT_DIGITS

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "DuplicateKeyError",
    "JsonTooDeepError",
    "JsonTooLargeError",
    "check_depth",
    "load_file",
    "loads",
    "write_file",
]

# A string literal, or an unterminated one running to the end. The possessive repetition
# never backtracks, so the scan is linear even on hostile input such as '"' + '\\"' * n.
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\Z)', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1


class JsonTooDeepError(ValueError):
    """The document nests deeper than allowed."""


class JsonTooLargeError(ValueError):
    """The document is larger than allowed."""


class DuplicateKeyError(ValueError):
    """An object repeats a key; ``key`` is the repeated one."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"duplicate key {key!r}")


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeepError` when ``text`` nests arrays/objects deeper than ``max_depth``.

    Strings are skipped, so brackets inside them do not count. The scan is linear in the
    length of ``text`` and allocates a few copies of it at most.
    """
    outside = _STRINGS.sub("", text).encode("utf-8")
    steps = _DEPTH_STEP[np.frombuffer(outside, dtype=np.uint8)]
    if steps.size and int(np.cumsum(steps, dtype=np.int64).max()) > max_depth:
        raise JsonTooDeepError(f"JSON nests deeper than {max_depth} levels")


def loads(
    document: str | bytes | bytearray,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
    max_int_digits: int = MAX_JSON_INT_DIGITS,
) -> Any:
    """Parse ``document`` strictly (see the module docstring).

    Parameters
    ----------
    document
        The JSON text, or its UTF-8 bytes.
    max_depth
        Deepest nesting of arrays and objects.
    max_bytes
        Largest document, in bytes (in characters for a ``str``; never more than its bytes).
    max_int_digits
        Longest integer literal, in digits.

    Returns
    -------
    Any
        The parsed value.

    Raises
    ------
    ValueError
        For every refusal: :class:`JsonTooLargeError`, :class:`JsonTooDeepError`,
        :class:`DuplicateKeyError`, ``json.JSONDecodeError`` (not JSON), or a plain
        ``ValueError`` naming the offending literal or string.
    """
    if len(document) > max_bytes:
        raise JsonTooLargeError(
            f"the JSON document is {len(document)} bytes, above the limit of {max_bytes}"
        )
    if isinstance(document, bytes | bytearray):
        try:
            text = bytes(document).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"JSON is not UTF-8: {exc.reason} at byte {exc.start}") from None
    else:
        text = document
    check_depth(text, max_depth)
    value = json.loads(
        text,
        object_pairs_hook=_no_duplicates,
        parse_constant=_no_constant,
        parse_float=_finite_float,
        parse_int=lambda literal: _bounded_int(literal, max_int_digits),
    )
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(value)
    return value


def load_file(path: str | Path, *, max_bytes: int = MAX_JSON_BYTES, **limits: int) -> Any:
    """Parse a JSON file strictly, reading at most ``max_bytes`` + 1 bytes of it.

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        As :func:`loads`; :class:`JsonTooLargeError` naming the file when it is too large.
    """
    file = Path(path)
    with file.open("rb") as f:
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise JsonTooLargeError(f"{file} is larger than the limit of {max_bytes} bytes")
    return loads(raw, max_bytes=max_bytes, **limits)


def write_file(
    path: str | Path, value: Any, *, indent: int | None = None, mode: int = 0o644
) -> None:
    """Write ``value`` as JSON to ``path`` atomically, with file permissions ``mode``.

    Raises
    ------
    OSError
        If the file cannot be written (the previous one, if any, is left as it was).
    """
    file = Path(path)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(value, indent=indent) + "\n")
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is beyond the range of a float")
    return value


def _bounded_int(literal: str, max_digits: int) -> int:
    if len(literal.lstrip("-")) > max_digits:
        raise ValueError(f"an integer of {len(literal)} digits; at most {max_digits} are allowed")
    return int(literal)


def _check_unicode(value: Any) -> None:
    """Refuse strings (keys included) holding an unpaired surrogate; iterative, no recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    f"a string holds an unpaired UTF-16 surrogate: {item[:40]!r}"
                ) from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
