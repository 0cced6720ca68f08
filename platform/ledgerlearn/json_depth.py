"""A nesting-depth guard for JSON from the network, checked before ``json.loads``.

``json.loads`` recurses once per nesting level. py-evm and py_ecc (imported with web3) raise
the interpreter's recursion limit to 100000, so a document of 100000 ``[`` then overflows the
C stack and kills the process instead of raising RecursionError. Every JSON document that
comes from a peer (model specs, safetensors headers, HTTP bodies) passes :func:`check_depth`
first.
"""

from __future__ import annotations

import re

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
