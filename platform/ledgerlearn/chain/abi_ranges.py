"""The integer ranges of a task's on-chain parameters, read from the shipped contract ABI.

``publishTask`` takes one ``TaskParams`` tuple whose integer components have Solidity types
(``uint8 quorum``, ``uint32 roundLength``, ``int64 threshold``...). A value outside its type
cannot be encoded: web3 raises ``MismatchedABI`` only when the transaction is built, after
the task's content went to IPFS. :func:`task_params_ranges` reads the types from the ABI of
the shipped ``LearningLedger`` artifact, so a component the contract gains is covered without
a code change here; :class:`~ledgerlearn.agents.publisher.Policy` checks every one of its
integer fields against it before anything else happens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ledgerlearn.chain.artifacts import load_artifact

__all__ = ["IntRange", "int_range", "snake_case", "task_params_ranges"]

_INT_TYPE = re.compile(r"^(u?)int([0-9]*)$")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class IntRange:
    """The values a Solidity integer component can hold.

    Attributes
    ----------
    abi_name
        The component's name in the ABI (``roundLength``).
    abi_type
        Its Solidity type (``uint32``).
    low, high
        The smallest and largest value of that type.
    """

    abi_name: str
    abi_type: str
    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )

    def describe(self) -> str:
        """E.g. ``TaskParams.roundLength (uint32: 0 to 4294967295)``."""
        return f"TaskParams.{self.abi_name} ({self.abi_type}: {self.low} to {self.high})"


def int_range(abi_name: str, abi_type: str) -> IntRange | None:
    """The range of an ABI integer type (``uint8``, ``int64``, ``uint`` = ``uint256``); None for
    any other type."""
    match = _INT_TYPE.match(abi_type)
    if match is None:
        return None
    bits = int(match[2] or 256)
    if match[1]:
        return IntRange(abi_name, abi_type, 0, 2**bits - 1)
    return IntRange(abi_name, abi_type, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def snake_case(name: str) -> str:
    """``roundLength`` -> ``round_length`` (the Python name of an ABI component)."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


@cache
def task_params_ranges() -> dict[str, IntRange]:
    """The integer components of ``publishTask``'s ``TaskParams``, by snake_case name.

    Returns
    -------
    dict[str, IntRange]
        E.g. ``{"quorum": IntRange("quorum", "uint8", 0, 255), "max_rounds": ...}``, in the
        struct's order.

    Raises
    ------
    LookupError
        If the shipped ABI has no ``publishTask(TaskParams)``.
    """
    abi: list[dict[str, Any]] = load_artifact("LearningLedger").abi
    for entry in abi:
        if entry.get("type") != "function" or entry.get("name") != "publishTask":
            continue
        for argument in entry.get("inputs", []):
            if argument.get("type") == "tuple" and "TaskParams" in argument.get("internalType", ""):
                ranges = (int_range(str(c["name"]), str(c["type"])) for c in argument["components"])
                return {snake_case(r.abi_name): r for r in ranges if r is not None}
    raise LookupError("the LearningLedger ABI has no publishTask(TaskParams) function")
