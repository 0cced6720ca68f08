"""Strict JSON for documents from the network: bounded nesting, no duplicate keys, no NaN.

``loads`` is ``json.loads`` with three refusals. Duplicate keys are refused (the last one
would silently win). ``NaN``/``Infinity`` are refused (not JSON). And the nesting depth is
checked before parsing:

``json.loads`` recurses once per nesting level. py-evm and py_ecc (imported with web3) raise
the interpreter's recursion limit to 100000, so a document of 100000 ``[`` then overflows the
C stack and kills the process instead of raising RecursionError. Every JSON document that
comes from a peer (model specs, safetensors headers, HTTP bodies) passes :func:`check_depth`
first.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 64
"""Deepest nesting accepted; ledgerlearn's own documents need fewer than 8 levels."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))


class JsonTooDeepError(ValueError):
    """The document nests deeper than allowed."""


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`JsonTooDeepError` when ``text`` nests arrays/objects deeper than ``max_depth``.

    Strings are skipped, so brackets inside them do not count. The scan is linear in the
    length of ``text`` and allocates at most one copy of it.
    """
    brackets = _STRINGS.sub("", text).translate(_BRACKETS)
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonTooDeepError(f"JSON nests deeper than {max_depth} levels")
        elif char in "]}":
            depth -= 1


class DuplicateKeyError(ValueError):
    """An object repeats a key; ``key`` is the repeated one."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"duplicate key {key!r}")


def loads(text: str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse ``text`` strictly (see the module docstring); errors are ``ValueError`` s."""
    check_depth(text, max_depth)
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
