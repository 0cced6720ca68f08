"""Ethereum addresses typed by a person or sent by a peer, parsed strictly.

``eth_utils.is_address`` accepts more than an address should be: 40 hex digits without
``0x``, raw 20-byte strings, and mixed-case text whose EIP-55 checksum is wrong (a typo the
checksum exists to catch). :func:`parse_address` accepts exactly ``0x`` and 40 ASCII hex
digits, all lower case, all upper case, or mixed case with the right checksum, and returns
the checksummed form.
"""

from __future__ import annotations

import re

from eth_utils.address import is_checksum_address, to_checksum_address

__all__ = ["ADDRESS_PATTERN", "AddressError", "parse_address"]

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
"""The shape of an address (the checksum is checked by :func:`parse_address`)."""

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


class AddressError(ValueError):
    """Not an address, or a mixed-case address with a wrong checksum."""


def parse_address(text: str) -> str:
    """The checksummed address ``text`` names.

    Raises
    ------
    AddressError
        If ``text`` is not ``0x`` and 40 hex digits, or mixes cases with a wrong EIP-55
        checksum.
    """
    if not isinstance(text, str) or not _ADDRESS.fullmatch(text):
        shown = repr(text[:50]) if isinstance(text, str) else type(text).__name__
        raise AddressError(f"not an address (0x and 40 hex digits): {shown}")
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        raise AddressError(
            f"{text} mixes upper and lower case but its EIP-55 checksum is wrong: a digit "
            "may be mistyped (give the address as its owner published it)"
        )
    return str(to_checksum_address(text))
