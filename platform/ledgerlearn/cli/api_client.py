"""``ledgerlearn api ...``: the REST gateway's client (``ledgerlearn gateway`` serves it).

The client signs every write with the caller's keystore; ``ledgerlearn api publish`` runs the
prepare -> sign -> submit exchange in one command. Errors end the command with a one-line
``error:`` and exit code 1, as the other commands do.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ledgerlearn.cli import inputs
from ledgerlearn.cli.common import (
    BundledOpt,
    HeaderOpt,
    clear_errors,
    console,
    err,
    one_of,
    setup_logging,
)
from ledgerlearn.cli.inputs import PresetName
from ledgerlearn.cli.options import POLICY_OPTIONS, policy_options
from ledgerlearn.flows.policy import Policy

if TYPE_CHECKING:
    from ledgerlearn_gateway.client import GatewayClient

api_app = typer.Typer(
    help="Talk to a ledgerlearn gateway over REST (writes signed with your key).",
    no_args_is_help=True,
)

GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        "-g",
        envvar="LEDGERLEARN_GATEWAY__URL",
        show_envvar=False,
        help="The gateway's URL (default: LEDGERLEARN_GATEWAY__URL, else http://127.0.0.1:8000).",
    ),
]
DEFAULT_GATEWAY = "http://127.0.0.1:8000"
OLD_GATEWAY_VARIABLE = "LEDGERLEARN_GATEWAY_URL"


def gateway_url(option: str | None) -> str:
    """``--gateway`` or ``LEDGERLEARN_GATEWAY__URL``, else the old ``LEDGERLEARN_GATEWAY_URL``
    (read for one more release, with a line saying so), else the gateway's default address."""
    if option is not None:
        return option
    old = os.environ.get(OLD_GATEWAY_VARIABLE)
    if old:
        err.print(
            f"[yellow]note:[/] {OLD_GATEWAY_VARIABLE} is deprecated: name it "
            "LEDGERLEARN_GATEWAY__URL (like every other setting)"
        )
        return old
    return DEFAULT_GATEWAY


KeystoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="Your keystore (default: LEDGERLEARN_AGENT__KEYSTORE); password from "
        "LEDGERLEARN_AGENT__PASSWORD or a prompt."
    ),
]


def _client(url: str | None, keystore: Path | None, *, signer: bool) -> GatewayClient:
    from ledgerlearn.cli.common import signer as account_of
    from ledgerlearn_gateway.client import GatewayClient

    return GatewayClient(gateway_url(url), account_of(keystore) if signer else None)


def _validation_upload(
    path: Path | None, dataset: str | None, spec_bytes: bytes
) -> tuple[str, bytes]:
    from ledgerlearn.errors import ConfigError
    from ledgerlearn.model import ModelSpec

    one_of(path, dataset, "--validation FILE and --dataset NAME")
    if path is not None:
        try:
            return path.name, path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--validation {path}: cannot read it ({exc.strerror})") from None
    import numpy as np

    _, validation = inputs.bundled(str(dataset), ModelSpec.from_json(spec_bytes))
    buffer = io.BytesIO()
    np.savez(buffer, x=validation.x, y=validation.y)
    return f"{dataset}-validation.npz", buffer.getvalue()


@api_app.command("publish")
@policy_options
def publish(
    committee: Annotated[str, typer.Option(help="Validators' addresses, comma separated.")],
    keystore: KeystoreOpt = None,
    spec: Annotated[Path | None, typer.Option(help="Model spec JSON file (or --preset).")] = None,
    preset: Annotated[PresetName | None, typer.Option(help="A ready-made spec.")] = None,
    weights: Annotated[Path | None, typer.Option(help="Initial weights (.safetensors).")] = None,
    validation: Annotated[Path | None, typer.Option(help="Validation data .npz or .csv.")] = None,
    header: HeaderOpt = None,
    dataset: Annotated[
        BundledOpt | None,
        typer.Option(help="Bundled dataset: its publisher's validation share is uploaded."),
    ] = None,
    *,
    policy: Policy,
    seed: Annotated[int, typer.Option()] = 0,
    expected_providers: Annotated[int | None, typer.Option()] = None,
    gateway_url: GatewayOpt = None,
) -> None:
    """Publish a task through the gateway: it prepares the content, you sign the EIP-712 typed
    data locally (after checking it is what you asked for), it relays the publication."""
    setup_logging()
    with clear_errors("policy", POLICY_OPTIONS):
        from ledgerlearn_gateway.client import PublicationRequest

        one_of(spec, preset, "--spec FILE and --preset NAME")
        spec_bytes = (
            spec.read_bytes() if spec is not None else inputs.model_spec(None, preset).to_json()
        )
        inputs.csv_only(header, validation, "--validation")
        name, data = _validation_upload(validation, dataset, spec_bytes)
        request = PublicationRequest(
            spec=spec_bytes,
            validation=data,
            validation_name=name,
            validation_header=header,
            policy=policy,
            committee=inputs.committee(committee),
            weights=weights.read_bytes() if weights else None,
            seed=seed,
            expected_providers=expected_providers,
        )
        with _client(gateway_url, keystore, signer=True) as client:
            with console.status("preparing: uploading the task's content to the gateway"):
                publication = client.prepare(request)
            client.check_typed_data(request, publication)
            console.print(f"prepared {publication['id']}; typed data checked, signing locally")
            with console.status("relaying the signed publication"):
                result = client.submit(publication["id"], publication["typed_data"])
                if result["status"] != "published":
                    import time

                    for _ in range(120):
                        time.sleep(1)
                        result = client.get(f"/publications/{publication['id']}")
                        if result["status"] != "submitted":
                            break
        if result["status"] != "published":
            from ledgerlearn.errors import LedgerlearnError

            raise LedgerlearnError(
                f"publication {result['id']} is {result['status']}: "
                f"{result.get('error') or 'no block yet'}"
            )
        params = result["params"]
        console.print(
            f"task {result['task_id']} published by {result['publisher']} (tx {result['tx_hash']})"
        )
        console.print(f"  model spec       {params['model_spec_cid']}")
        console.print(f"  initial weights  {params['initial_weights_cid']}")
        for member, cid in zip(params["committee"], params["fragment_cids"], strict=True):
            console.print(f"  fragment for {member}  {cid}")


@api_app.command("tasks")
def tasks(keystore: KeystoreOpt = None, gateway_url: GatewayOpt = None) -> None:
    """List the tasks."""
    with clear_errors(), _client(gateway_url, keystore, signer=False) as client:
        page = client.get("/tasks", limit=500)
    table = Table("task", "flow", "publisher", "round", "updates", "accepted", "closed")
    for t in page["items"]:
        table.add_row(
            str(t["task_id"]),
            t["flow"],
            t["publisher"],
            str(t["current_round"]),
            str(t["updates"]),
            str(t["accepted"]),
            str(t["closed"]),
        )
    console.print(table)


@api_app.command("task")
def task(
    task_id: Annotated[int, typer.Argument()],
    keystore: KeystoreOpt = None,
    gateway_url: GatewayOpt = None,
) -> None:
    """One task and its rounds."""
    from ledgerlearn.flows.registry import FLOW_NAMES, FLOWS

    with clear_errors(), _client(gateway_url, keystore, signer=False) as client:
        detail = client.get(f"/tasks/{task_id}")
        strategy = FLOWS[FLOW_NAMES[detail["flow"]]]
        rounds = client.get(f"/tasks/{task_id}/rounds", limit=500) if strategy.has_rounds else None
    console.print(
        f"task {task_id} ({detail['flow']}) by {detail['publisher']}: {detail['metric']}, "
        f"rule {detail['aggregation_rule']}, quorum {detail['quorum']} of "
        f"{len(detail['committee'])}, {'closed' if detail['closed'] else 'open'}"
    )
    if rounds is not None:
        table = Table("round", "status", "submitted", "accepted", "rejected", "result", "metric")
        for r in rounds["items"]:
            table.add_row(
                str(r["round"]),
                r["status"],
                str(r["submitted"]),
                str(r["accepted"]),
                str(r["rejected"]),
                r["result_cid"] or "",
                "" if r["metric"] is None else f"{r['metric']:.4f}",
            )
        console.print(table)


@api_app.command("round")
def round_(
    task_id: Annotated[int, typer.Argument()],
    number: Annotated[int, typer.Argument()],
    keystore: KeystoreOpt = None,
    gateway_url: GatewayOpt = None,
) -> None:
    """A round's updates, each validator's score and the decision."""
    with clear_errors(), _client(gateway_url, keystore, signer=False) as client:
        detail = client.get(f"/tasks/{task_id}/rounds/{number}")
    table = Table("update", "provider", "decision", "median", "scores")
    for u in detail["updates"]:
        scores = ", ".join("invalid" if s["invalid"] else f"{s['score']:+.3f}" for s in u["scores"])
        median = "" if u["median_score"] is None else f"{u['median_score']:+.3f}"
        table.add_row(u["update"][:14], u["provider"], u["status"], median, escape(scores))
    console.print(f"task {task_id} round {number}: {detail['status']}")
    console.print(table)


@api_app.command("vet")
def vet(
    task_id: Annotated[int, typer.Argument(min=1, help="The task you were drawn to vet.")],
    approve: inputs.ApproveOpt = None,
    reason: inputs.ReasonOpt = "",
    keystore: KeystoreOpt = None,
    gateway_url: GatewayOpt = None,
) -> None:
    """Vote on a task you were drawn to vet, through the gateway: your key signs the vote
    here, the gateway relays it (and pays its gas)."""
    with clear_errors():
        decision, why = inputs.vote(approve, reason)
    with clear_errors(), _client(gateway_url, keystore, signer=True) as client:
        vote = client.vote(task_id, decision, why)
        after = client.get(f"/tasks/{task_id}/vetting")
    verdict = "approve" if vote["approve"] else "reject"
    console.print(f"voted to {verdict} task {task_id} (block {vote['block']}): {vote['reason']}")
    if after["stage"] in ("open", "rejected"):
        console.print(f"task {task_id} is {after['stage']}")


@api_app.command("members")
def members(keystore: KeystoreOpt = None, gateway_url: GatewayOpt = None) -> None:
    """Members and their roles."""
    with clear_errors(), _client(gateway_url, keystore, signer=False) as client:
        page = client.get("/members", limit=500)
    table = Table("account", "roles", "IPFS peer")
    for m in page["items"]:
        table.add_row(m["account"], ", ".join(m["roles"]) or "(none)", m["peer_address"] or "")
    console.print(table)


@api_app.command("download")
def download(
    cid: Annotated[str, typer.Argument()],
    out: Annotated[Path, typer.Option("--out", "-o")],
    keystore: KeystoreOpt = None,
    gateway_url: GatewayOpt = None,
) -> None:
    """Download a model's weights by CID (the gateway verifies them against the chain)."""
    import hashlib

    with clear_errors(), _client(gateway_url, keystore, signer=False) as client:
        response = client.request("GET", f"/models/{cid}")
        if response.status_code >= 400:
            from ledgerlearn_gateway.client import _error

            raise _error(response)
        expected = response.headers.get("X-Content-Sha256", "")
        if "0x" + hashlib.sha256(response.content).hexdigest() != expected:
            from ledgerlearn.errors import ContentHashMismatchError

            raise ContentHashMismatchError(f"{cid}: the bytes do not match {expected}")
        out.write_bytes(response.content)
    console.print(f"{out}: {len(response.content)} bytes, sha256 {expected}")
