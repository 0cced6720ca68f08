"""The cast of a run: its accounts and how the reports name them."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

__all__ = ["Cast"]


@dataclass
class Cast:
    """The accounts of a run and how to show them."""

    admin: LocalAccount
    publisher: LocalAccount
    validators: list[LocalAccount]
    providers: list[LocalAccount]
    behaviours: dict[str, str]
    names: dict[str, str]
