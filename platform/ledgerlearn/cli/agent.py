"""What an agent command resolves from its options and the settings before it starts its
agent: the member's key, the chain, the deployment file, and per-account state and IPFS
folders, so that several agents run side by side on one machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ledgerlearn.cli.common import chain_settings, deployment_path
from ledgerlearn.config import ChainSettings, Settings, StorageSettings
from ledgerlearn.errors import ConfigError

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ledgerlearn.agents.session import AgentSession


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

    @contextmanager
    def session(self, role: str) -> Iterator[AgentSession]:
        """The running agent (:func:`~ledgerlearn.agents.session.open_session`)."""
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
                yield session
        except (ChainResetError, ChainReorgError) as exc:
            raise type(exc)(
                f"{exc} (this agent's state in {self.state_dir} belongs to the chain before: "
                "remove it or give another --state-dir)"
            ) from exc
