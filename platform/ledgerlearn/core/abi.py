"""Solidity ABI components as Python sees them: their names and the ranges of integer types.

The generated :mod:`ledgerlearn.core.task_params` describes each ``TaskParams`` component with
a :class:`ParamField` and each integer component's range with an :class:`IntRange`; the
generator (``scripts/gen_task_params.py``) uses :func:`int_range` and :func:`snake_case`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IntRange", "ParamField", "int_range", "snake_case"]

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


@dataclass(frozen=True)
class ParamField:
    """One component of an ABI struct.

    Attributes
    ----------
    name
        Its Python name (``round_length``).
    abi_name
        Its name in the ABI and in EIP-712 typed data (``roundLength``).
    abi_type
        Its Solidity type (``uint32``, ``bytes32[]``).
    """

    name: str
    abi_name: str
    abi_type: str


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
