"""The consortium's roles: their names and their bytes32 ids on chain."""

from __future__ import annotations

from eth_utils.crypto import keccak

__all__ = ["ROLES", "role_id", "role_name"]

ROLES = ("PUBLISHER", "PROVIDER", "VALIDATOR")
"""The participant roles of the consortium."""

ADMIN = "ADMIN"
"""OpenZeppelin's DEFAULT_ADMIN_ROLE (id 0): grants and revokes the other roles."""


def role_id(role: str) -> bytes:
    """The bytes32 id of a role name (``PUBLISHER``, ``PROVIDER``, ``VALIDATOR`` or ``ADMIN``)."""
    if role == ADMIN:
        return bytes(32)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)} or ADMIN")
    return keccak(text=f"{role}_ROLE")


_NAMES = {role_id(r): r for r in (*ROLES, ADMIN)}


def role_name(role: bytes) -> str | None:
    """The name of a role id, or None for an id that is none of the consortium's roles."""
    return _NAMES.get(bytes(role))
