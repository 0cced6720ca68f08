"""Settings of the gateway, read from the environment (prefix ``LEDGERLEARN_``).

The chain and IPFS sections are the platform's own (``LEDGERLEARN_CHAIN__RPC_URL``,
``LEDGERLEARN_STORAGE__SWARM_PORT``, ...); the gateway's section uses
``LEDGERLEARN_GATEWAY__...`` (e.g. ``LEDGERLEARN_GATEWAY__RELAYER_KEYSTORE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledgerlearn.config import DEFAULT_HOME, ChainSettings, StorageSettings


class GatewaySection(BaseModel):
    """What the gateway itself needs: its relayer key, its state, its limits."""

    host: str = Field("127.0.0.1", description="Interface uvicorn listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port uvicorn listens on (0: any free).")
    relayer_keystore: Path | None = Field(
        None,
        description="eth-account keystore of the gateway's own account: it pays the gas of "
        "relayed publications and keeps the rounds. Never a publisher's key.",
    )
    relayer_password: str | None = Field(
        None, description="Its password (default: LEDGERLEARN_AGENT__PASSWORD, else a prompt)."
    )
    state_dir: Path = Field(
        DEFAULT_HOME / "gateway",
        description="Request nonces (SQLite), prepared publications, outbox, checkpoint, "
        "IPFS repository.",
    )
    open_reads: bool = Field(
        True, description="Reads without a signature; False: every request must be signed."
    )
    metrics_open: bool = Field(
        True,
        description="GET /metrics (Prometheus) without a signature, also when reads are "
        "closed; False: only a member's signed request reads it.",
    )
    orchestrate: bool = Field(
        True,
        description="Keep the rounds of every open task as an ordinary participant (settle at "
        "deadlines, compute and propose aggregates); the committee still attests.",
    )
    signature_window_s: int = Field(
        300,
        ge=1,
        le=3600,
        description="A signed request's timestamp must be within this many seconds of the "
        "gateway's clock.",
    )
    max_upload_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="Largest request body (413 above)."
    )
    gateway_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="The audience signed requests name (GET /info): a request signed for "
        "another gateway is refused. Default: a random id made at the first start and kept "
        "in the state directory (give replicas behind one address the same id).",
    )
    max_concurrent_uploads: int = Field(
        4,
        ge=1,
        description="Signed requests with a body processed at once; beyond, 503 with "
        "Retry-After (before the body is read).",
    )
    max_concurrent_prepares: int = Field(
        2,
        ge=1,
        description="Publications prepared at once (parsing, splitting and encrypting a "
        "validation set costs a few times its size in memory); the others wait their turn.",
    )
    retry_after_s: int = Field(
        5, ge=1, description="Retry-After of a 503 answered because the gateway is busy."
    )
    fetch_concurrency: int = Field(
        4,
        ge=1,
        le=16,
        description="Distinct CIDs the gateway fetches from IPFS at once for downloads; "
        "requests for a CID already being fetched wait for that fetch.",
    )
    max_waiting_fetches: int = Field(
        64,
        ge=1,
        description="Distinct CIDs waiting for a fetch slot; beyond, 503 with Retry-After.",
    )
    unavailable_pace_s: float = Field(
        1.0,
        ge=0,
        le=10,
        description="How long an answer from that memory is held back (without a thread or "
        "CPU): a client repeating a request for a CID nobody serves gets its 504 at this pace "
        "and cannot keep the gateway busy with it.",
    )
    unavailable_ttl_s: float = Field(
        30.0,
        ge=0,
        description="How long a CID that could not be fetched is answered 504 at once "
        "(with Retry-After) instead of being fetched again.",
    )
    prepare_ttl_s: int = Field(
        3600,
        ge=60,
        description="How long a prepared publication waits for its signature (also the "
        "EIP-712 deadline the publisher signs).",
    )
    eval_dataset: Literal["digits", "mnist"] | None = Field(
        None,
        description="A held-out set the gateway evaluates each round's global model on (the "
        "accuracy curve); without it the curve shows the committee's scores.",
    )
    receipt_wait_s: float = Field(
        20.0,
        ge=0,
        description="How long a relayed publication waits for its block before "
        "the answer is 202 (poll GET /publications/{id}).",
    )
    poll_interval_s: float = Field(0.5, gt=0, description="How often the chain is polled.")
    fetch_timeout_s: float = Field(10.0, gt=0, description="Deadline of one IPFS fetch.")


class GatewaySettings(BaseSettings):
    """All settings of a gateway."""

    model_config = SettingsConfigDict(
        env_prefix="LEDGERLEARN_", env_nested_delimiter="__", extra="ignore"
    )

    chain: ChainSettings = Field(default_factory=ChainSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    gateway: GatewaySection = Field(default_factory=GatewaySection)

    def ipfs(self) -> StorageSettings:
        """The IPFS settings, with the repository under the gateway's state unless set."""
        if "repo_dir" in self.storage.model_fields_set:
            return self.storage
        return self.storage.model_copy(update={"repo_dir": self.gateway.state_dir / "ipfs"})
