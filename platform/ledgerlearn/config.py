"""Settings of ledgerlearn, read from the environment (prefix ``LEDGERLEARN_``).

Nested sections use ``__`` as delimiter, e.g. ``LEDGERLEARN_CHAIN__BACKEND=anvil`` or
``LEDGERLEARN_STORAGE__MAX_GET_BYTES=1000000``. Swapping the chain or the IPFS node is a
settings change, never a code change.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledgerlearn.limits import MAX_CONTENT_BYTES

DEFAULT_HOME = Path.home() / ".ledgerlearn"


class ChainSettings(BaseModel):
    """Which EVM to talk to and where the deployed contracts are."""

    backend: Literal["embedded", "rpc"] = Field(
        "embedded",
        description="'embedded': in-process EVM (eth-tester + py-evm); 'rpc': a JSON-RPC node "
        "(the local anvil devnet or a permissioned network).",
    )
    rpc_url: str = Field(
        "http://127.0.0.1:8545", description="JSON-RPC endpoint for backend 'rpc'."
    )
    deployment_file: Path | None = Field(
        None, description="JSON file with the deployed contract addresses (written by deploy)."
    )
    rpc_timeout_s: float = Field(
        15.0,
        gt=0,
        description="How long one request to the node may take; a node that takes longer "
        "counts as not answering (an outage agents wait out, retrying).",
    )
    poll_interval_s: float = Field(0.2, gt=0, description="Event stream polling interval.")
    subscribe: bool = Field(
        True,
        description="Agents sleep until the node announces a block (eth_subscribe newHeads "
        "over WebSocket, backend 'rpc'), reading the chain every fallback_poll_s meanwhile, "
        "and poll every half second while the subscription is down; False: they always poll.",
    )
    ws_url: str | None = Field(
        None,
        description="The node's WebSocket endpoint for subscriptions (ws:// or wss://); None: "
        "the RPC URL's host and port (anvil serves both there; Besu serves WebSocket on its "
        "--rpc-ws-port, 8546 by default).",
    )

    @field_validator("ws_url")
    @classmethod
    def _websocket(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"not a WebSocket URL (ws:// or wss://): {value!r}")
        return value

    fallback_poll_s: float = Field(
        2.0, gt=0, description="With subscribe: the longest an agent sleeps without a block."
    )


class StorageSettings(BaseModel):
    """The embedded kubo node of this agent."""

    repo_dir: Path = Field(DEFAULT_HOME / "ipfs", description="Kubo repository of this agent.")
    swarm_host: str = Field(
        "127.0.0.1",
        description="IP address the node listens on (private swarm, loopback by default).",
    )
    swarm_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="TCP port the node listens on. None: a free port chosen at the first start "
        "and kept in the repository (ledgerlearn-listen.json), so the address registered on "
        "chain stays valid across restarts; a kept port taken meanwhile is replaced by a new "
        "one. A port given here that is taken is an error.",
    )
    swarm_addresses: list[str] | None = Field(
        None,
        description="Exact multiaddresses to listen on, instead of swarm_host and swarm_port "
        "(a /tcp/0 there is a new port at every start).",
    )
    peers: list[str] = Field(
        default_factory=list,
        description="Peer multiaddresses (with /p2p/ID) to connect to at start.",
    )
    swarm_key_file: Path | None = Field(
        None,
        description="The consortium's private swarm key (kubo's swarm.key format): the node "
        "then connects only to peers holding the same key. None: an open swarm (a laboratory "
        "on one host).",
    )
    max_get_bytes: int = Field(
        MAX_CONTENT_BYTES,
        gt=0,
        description="Largest content a get accepts (default: the consortium-wide cap every "
        "publication is checked against, ledgerlearn.limits.MAX_CONTENT_BYTES).",
    )
    get_timeout_s: float = Field(30.0, gt=0, description="Deadline of one get.")

    @field_validator("swarm_host")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"swarm_host must be an IP address, got {value!r}") from None


class DevnetSettings(BaseModel):
    """The local anvil devnet started by ``ledgerlearn devnet up``."""

    host: str = "127.0.0.1"
    port: int = Field(8545, ge=1, le=65535)
    state_file: Path = Field(DEFAULT_HOME / "devnet" / "state.json")
    chain_id: int = 31337
    block_time_s: float | None = Field(None, description="None: a block per transaction.")
    anvil_path: Path | None = Field(
        None, description="The anvil binary; default: the one in the repo's node_modules, or PATH."
    )
    state_interval_s: int = Field(5, ge=1, description="How often anvil writes its state file.")


class AgentSettings(BaseModel):
    """The identity of the participant running an agent."""

    keystore: Path | None = Field(
        None, description="eth-account keystore file of this participant."
    )
    password: str | None = Field(
        None, description="Keystore password; prompted for when unset and a terminal is attached."
    )
    password_file: Path | None = Field(
        None,
        description="A file holding the keystore password (e.g. a systemd credential, "
        "%d/<name> with LoadCredential=), read when no password is set.",
    )
    state_dir: Path = Field(DEFAULT_HOME / "state", description="Checkpoints and outbox.")


class VettingPolicy(BaseModel):
    """How a validator vets a task its committee was drawn for, before the task opens
    (``LEDGERLEARN_VETTING__...``). A task within every limit is approved; one beyond a limit is
    rejected with the reason; one whose purpose names a word in ``needs_a_human`` (or that
    declares no purpose, when ``require_purpose``) is left to a person
    (``ledgerlearn validator vet TASK --approve|--reject --reason ...``)."""

    max_parameters: int = Field(1_000_000, ge=1, description="Most trainable parameters.")
    max_macs: int = Field(
        50_000_000, ge=1, description="Most multiply-accumulates per sample (compute)."
    )
    allowed_layers: list[str] = Field(
        default_factory=lambda: [
            "Linear",
            "Conv2d",
            "ReLU",
            "Tanh",
            "Sigmoid",
            "MaxPool2d",
            "AvgPool2d",
            "Flatten",
            "Dropout",
            "GroupNorm",
        ],
        description="Layer types a model may use.",
    )
    allowed_data_kinds: list[str] = Field(
        default_factory=lambda: ["handwritten-digits", "tabular"],
        description="Data kinds (the spec's purpose.data_kind) the consortium trains on.",
    )
    needs_a_human: list[str] = Field(
        default_factory=lambda: ["face", "biometric", "health", "medical", "location", "child"],
        description="Words that, found in the purpose, leave the decision to a person.",
    )
    require_purpose: bool = Field(
        True, description="A spec that declares no purpose is left to a person."
    )
    auto: bool = Field(True, description="Vote automatically (False: a person always decides).")


class Settings(BaseSettings):
    """All settings of ledgerlearn."""

    model_config = SettingsConfigDict(
        env_prefix="LEDGERLEARN_", env_nested_delimiter="__", extra="ignore"
    )

    chain: ChainSettings = Field(default_factory=ChainSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    devnet: DevnetSettings = Field(default_factory=DevnetSettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    vetting: VettingPolicy = Field(default_factory=VettingPolicy)
