"""Consortium members and their roles."""

from __future__ import annotations

from fastapi import APIRouter

from ledgerlearn_gateway.errors import ApiError, error_responses
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.models import MemberView, Page
from ledgerlearn_gateway.routes.common import AccountPath, GatewayDep, Limit, Offset, page
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(prefix="/members", tags=["members"], route_class=StrictRoute)


def _members(gateway: Gateway) -> list[MemberView]:
    accounts = list(dict.fromkeys([*gateway.roles, *gateway.index.members]))
    views = []
    for account in accounts:
        registered = gateway.index.members.get(account)
        views.append(
            MemberView(
                account=account,
                roles=sorted(gateway.roles.get(account, set())),
                peer_address=registered[0] if registered else None,
                encryption_key="0x" + registered[1].hex() if registered else None,
                registered=registered is not None,
            )
        )
    return views


@router.get("", response_model=Page[MemberView], responses=error_responses(422))
def list_members(gateway: GatewayDep, offset: Offset = 0, limit: Limit = 50) -> Page[MemberView]:
    """Every account that holds or held a role, with its current roles and registration."""
    with gateway.lock:
        return page(_members(gateway), offset, limit)


@router.get("/{account}", response_model=MemberView, responses=error_responses(404, 422))
def get_member(
    gateway: GatewayDep,
    account: AccountPath,
) -> MemberView:
    """One member."""
    with gateway.lock:
        for view in _members(gateway):
            if view.account.lower() == account.lower():
                return view
    raise ApiError(404, f"{account} never held a role in this consortium")
