"""What an agent command resolves from its options and the settings before it starts its
agent: the member's key, the chain, the deployment file, and per-account state and IPFS
folders, so that several agents run side by side on one machine; and, with
``--metrics-port``, its Prometheus endpoint (:mod:`ledgerlearn.agents.metrics`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerlearn.cli.common import chain_settings, console, deployment_path
from ledgerlearn.config import ChainSettings, Settings, StorageSettings
from ledgerlearn.errors import ConfigError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledgerlearn.agents.metrics import AgentCollector
    from ledgerlearn.agents.provider import Provider
    from ledgerlearn.agents.session import AgentSession
    from ledgerlearn.agents.validator import Validator


class AgentSetup:
    """What every agent command resolves before it starts its session."""

    def __init__(
        self,
        keystore: Path | None,
        deployment: Path | None,
        rpc: str | None,
        state_dir: Path | None,
        ipfs_repo: Path | None,
        fetch_timeout: float | None,
        ipfs_port: int | None = None,
        metrics_port: int | None = None,
    ) -> None:
        from ledgerlearn.chain.keys import load_keystore

        settings = Settings()
        path = keystore or settings.agent.keystore
        if path is None:
            raise ConfigError("no keystore: give --keystore (or set LEDGERLEARN_AGENT__KEYSTORE)")
        self.account: LocalAccount = load_keystore(path.expanduser())
        self.chain: ChainSettings = chain_settings(rpc)
        self.deployment = deployment_path(deployment)
        sub = self.account.address
        self.state_dir = (state_dir or settings.agent.state_dir / sub).expanduser()
        repo = (ipfs_repo or settings.storage.repo_dir / sub).expanduser()
        storage: dict[str, object] = {"repo_dir": repo}
        if ipfs_port is not None:
            storage["swarm_port"] = ipfs_port
        self.storage: StorageSettings = settings.storage.model_copy(update=storage)
        self.fetch_timeout_s = fetch_timeout or settings.storage.get_timeout_s
        self.metrics_port = metrics_port
        self.metrics: AgentCollector | None = None
        """The agent's metrics while its session runs with ``--metrics-port``."""

    @contextmanager
    def session(self, role: str) -> Iterator[AgentSession]:
        """The running agent (:func:`~ledgerlearn.agents.session.open_session`), with its
        metrics served while it runs when a metrics port was given."""
        import torch

        from ledgerlearn.agents.session import open_session
        from ledgerlearn.errors import ChainReorgError, ChainResetError

        torch.set_num_threads(1)
        try:
            with open_session(
                self.account,
                self.chain,
                self.deployment,
                self.state_dir,
                self.storage,
                role=role,
                fetch_timeout_s=self.fetch_timeout_s,
            ) as session:
                if self.metrics_port is None:
                    yield session
                    return
                from ledgerlearn.agents.metrics import AgentCollector, serve_metrics

                collector = AgentCollector(session.participant, session.node, role=role.lower())
                with serve_metrics(collector, self.metrics_port) as url:
                    console.print(f"metrics at {url}")
                    self.metrics = collector
                    try:
                        yield session
                    finally:
                        self.metrics = None
        except (ChainResetError, ChainReorgError) as exc:
            raise type(exc)(
                f"{exc} (this agent's state in {self.state_dir} belongs to the chain before: "
                "remove it or give another --state-dir)"
            ) from exc

    def observe(
        self, *, validator: Validator | None = None, provider: Provider | None = None
    ) -> None:
        """Expose the series of the agent's validator or provider once it is made (nothing
        without ``--metrics-port``)."""
        if self.metrics is None:
            return
        if validator is not None:
            self.metrics.validator = validator
        if provider is not None:
            self.metrics.provider = provider
