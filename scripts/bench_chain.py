"""Transactions per second of the chain client on both backends, measured in one run.

For each backend: deploy, then time N role grants and N update submissions + scores, each
estimated, signed locally, sent and awaited one after the other (the way agents send them).
Prints a table; nothing is asserted here (targets live in the closing notes, not in tests).

Usage: python scripts/bench_chain.py [--n 200]
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import tempfile
import time
from pathlib import Path

from eth_account import Account
from rich.console import Console
from rich.table import Table

from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.core.task_params import TaskParams


def sha(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def measure(chain: Chain, n: int) -> dict[str, float]:
    admin = Account.create()
    chain.fund(admin.address, 10**22)
    deployment = deploy(chain, admin, admin_delay_s=0)
    client = LedgerClient(chain, deployment, admin)
    validators = [Account.create() for _ in range(5)]
    for v in validators:
        chain.fund(v.address, 10**20)
        client.grant_role("VALIDATOR", v.address)
    client.grant_role("PUBLISHER", admin.address)
    client.grant_role("PROVIDER", admin.address)
    results: dict[str, float] = {}

    start = time.perf_counter()
    for _ in range(n):
        client.grant_role("PROVIDER", Account.create().address)
    results["grantRole"] = n / (time.perf_counter() - start)

    task_id = client.publish_task(
        TaskParams(
            model_spec_hash=sha("spec"), model_spec_cid="bafy-spec",
            initial_weights_hash=sha("w0"), initial_weights_cid="bafy-w0",
            committee=tuple(v.address for v in validators),
            fragment_hashes=tuple(sha(f"f{i}") for i in range(5)),
            fragment_cids=tuple(f"c{i}" for i in range(5)),
            quorum=3, max_faulty_validators=2, threshold=0, round_length=10**6,
            score_window=10**6, max_rounds=1,
        )
    )  # fmt: skip
    providers = [Account.create() for _ in range(n)]
    for p in providers:
        chain.fund(p.address, 10**19)
        client.grant_role("PROVIDER", p.address)
    clients = [client.with_account(p) for p in providers]
    for c in clients:
        c.join_task(task_id)
    start = time.perf_counter()
    for i, c in enumerate(clients):
        c.submit_update(task_id, 1, sha(f"u{i}"), f"bafy-u{i}", 100)
    results["submitUpdate"] = n / (time.perf_counter() - start)

    scorer = client.with_account(validators[0])
    start = time.perf_counter()
    for i in range(n):
        scorer.submit_score(task_id, sha(f"u{i}"), 900_000)
    results["submitScore"] = n / (time.perf_counter() - start)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="transactions per operation")
    args = parser.parse_args()
    rows: dict[str, dict[str, float]] = {}
    rows["embedded (py-evm)"] = measure(connect(ChainSettings()), args.n)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        settings = DevnetSettings(port=port, state_file=Path(tmp) / "state.json")
        with Devnet(settings) as net:
            rows["anvil (JSON-RPC)"] = measure(
                connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url)), args.n
            )
    table = Table(title=f"chain client: transactions per second (n={args.n}, sequential, awaited)")
    table.add_column("backend")
    ops = list(next(iter(rows.values())))
    for op in ops:
        table.add_column(op, justify="right")
    for backend, result in rows.items():
        table.add_row(backend, *(f"{result[op]:.1f}" for op in ops))
    Console().print(table)


if __name__ == "__main__":
    main()
