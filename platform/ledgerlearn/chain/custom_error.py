"""Base class of the typed contract errors generated in ``contract_errors.py``."""

from __future__ import annotations

from typing import Any, ClassVar

from ledgerlearn.chain.roles import role_name
from ledgerlearn.errors import ContractError


class ContractCustomError(ContractError):
    """A Solidity custom error: ``fields`` names its parameters, set as attributes.

    The message shows the error's name, its values and its NatSpec notice.
    """

    signature: ClassVar[str] = ""
    selector: ClassVar[bytes] = b""
    abi_types: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *values: Any) -> None:
        self.values = values
        for name, value in zip(self.fields, values, strict=True):
            setattr(self, name, value)
        shown = ", ".join(f"{n}={_show(n, v)}" for n, v in zip(self.fields, values, strict=True))
        notice = (self.__doc__ or "").strip().replace("\n    ", " ")
        super().__init__(f"{type(self).__name__}({shown}): {notice}")


def _show(name: str, value: Any) -> str:
    if isinstance(value, bytes) and name.endswith("role"):
        return role_name(value) or "0x" + value.hex()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)
