"""What the gateway depends on: the chain and IPFS, and its own threads."""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ledgerlearn.limits import MAX_DATA_VALUES
from ledgerlearn_gateway.gateway import Gateway
from ledgerlearn_gateway.models import ComponentHealth, GatewayInfo, Health
from ledgerlearn_gateway.routes.common import GatewayDep
from ledgerlearn_gateway.strict_body import StrictRoute

router = APIRouter(tags=["health"], route_class=StrictRoute)
STALE_S = 30.0
"""The index counts as behind when its last successful sync is older than this."""


def _check(gateway: Gateway) -> Health:
    started = time.perf_counter()
    try:
        block = int(gateway.chain.w3.eth.block_number)
        chain = ComponentHealth(
            ok=True,
            detail={
                "backend": gateway.chain.kind,
                "chain_id": gateway.chain.chain_id,
                "block": block,
                "ledger": gateway.deployment.ledger,
                "consortium": gateway.deployment.consortium,
                "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
    except Exception as exc:
        block = -1
        chain = ComponentHealth(ok=False, detail={"backend": gateway.chain.kind}, error=str(exc))
    try:
        running = gateway.node.running
        ipfs = ComponentHealth(
            ok=running,
            detail={
                "peer_id": gateway.node.peer_id if running else None,
                "addresses": gateway.node.multiaddrs if running else [],
                "connected_peers": len(gateway.node.connected_peers()) if running else 0,
            },
            error=None if running else "the IPFS node is not running",
        )
    except Exception as exc:
        ipfs = ComponentHealth(ok=False, detail={}, error=str(exc))
    sync = gateway.sync_state
    fresh = sync.last_ok is not None and time.time() - sync.last_ok < STALE_S
    index = ComponentHealth(
        ok=fresh,
        detail={
            "last_block": gateway.head,
            "behind_blocks": max(0, block - gateway.head) if block >= 0 else None,
            "tasks": len(gateway.index.tasks),
            "event_subscribers": gateway.hub.subscribers,
        },
        error=sync.error if not fresh else None,
    )
    address = gateway.relayer_address
    relayer_detail: dict[str, object] = {"address": address}
    if address is not None:
        relayer_detail["roles"] = sorted(gateway.roles.get(address, set()))
        try:
            relayer_detail["balance_wei"] = int(gateway.chain.w3.eth.get_balance(address))  # type: ignore[arg-type]
        except Exception as exc:
            relayer_detail["balance_error"] = str(exc)
    relayer = ComponentHealth(
        ok=address is not None,
        detail=relayer_detail,
        error=None if address is not None else "no relayer key: publications cannot be relayed",
    )
    o = gateway.orchestration
    orchestration = ComponentHealth(
        ok=not o.enabled or o.active,
        detail={
            "enabled": o.enabled,
            "active": o.active,
            "reason": o.reason,
            "transactions": o.state.actions,
            "last_step": o.state.last_ok,
            "consensus_models": gateway.consensus_state.actions,
            "consensus_last_step": gateway.consensus_state.last_ok,
        },
        error=o.state.error or gateway.consensus_state.error,
    )
    status = "ok" if chain.ok and ipfs.ok and index.ok else "degraded"
    return Health(
        status=status,
        chain=chain,
        ipfs=ipfs,
        index=index,
        relayer=relayer,
        orchestration=orchestration,
    )


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "the chain, IPFS or the index is down"}},
)
async def health(gateway: GatewayDep) -> JSONResponse:
    """The chain (block, chain id, latency), the IPFS node (peer id, peers), the index (how
    far behind), the relayer and the orchestration. 503 when the chain, IPFS or the index is
    down."""
    report = await anyio.to_thread.run_sync(_check, gateway)
    return JSONResponse(
        report.model_dump(mode="json"), status_code=200 if report.status == "ok" else 503
    )


@router.get("/info", response_model=GatewayInfo)
def info(gateway: GatewayDep) -> GatewayInfo:
    """What a client needs to sign requests: the chain id and the contracts (the EIP-712
    domain), the gateway's id (the audience), the signature window, the limits, whether
    reads need a signature."""
    gw = gateway.settings.gateway
    return GatewayInfo(
        chain_id=gateway.chain.chain_id,
        gateway_id=gateway.gateway_id,
        ledger=gateway.deployment.ledger,
        consortium=gateway.deployment.consortium,
        vetting=gateway.deployment.vetting,
        relayer=gateway.relayer_address,
        signature_window_s=gw.signature_window_s,
        max_upload_bytes=gw.max_upload_bytes,
        max_content_bytes=gateway.settings.storage.max_get_bytes,
        max_validation_values=MAX_DATA_VALUES,
        open_reads=gw.open_reads,
    )
