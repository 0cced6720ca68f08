"""The wiring of one agent process: key, chain, deployment, state, IPFS node, peering.

Every agent a person runs (``ledgerlearn publish``, ``provider run``, ``validator run``) is
made of the same parts, in the same order as the demo's agent processes
(:mod:`ledgerlearn.lab.agent_process`): a JSON-RPC connection, the deployment checked against
the chain, a :class:`~ledgerlearn.chain.client.LedgerClient` signing with the member's key and
sending through an outbox in the agent's state directory, an embedded IPFS node with its fetch
worker, a :class:`~ledgerlearn.agents.participant.Participant` synced with the chain, and a
:class:`~ledgerlearn.agents.peering.Peering` that dials the other members' nodes as they
register. :func:`open_session` builds them; :class:`AgentSession` registers the member's node
and runs the agent's loop (:func:`~ledgerlearn.agents.runner.run_agent`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.peering import Peering
from ledgerlearn.agents.runner import run_agent
from ledgerlearn.agents.swarm_rotation import SwarmRotation
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.heads import HeadWatcher
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.errors import AgentError
from ledgerlearn.storage import IpfsNode

__all__ = ["AgentSession", "check_role", "open_session"]


@dataclass
class AgentSession:
    """The parts of one running agent (see :func:`open_session`).

    Attributes
    ----------
    account
        The member's key.
    client
        Its chain client (own key, outbox in the state directory).
    node
        Its embedded IPFS node (started).
    participant
        Its identity, client, node and index (synced once).
    peering
        Dials the members' registered IPFS addresses; refreshed every tick of :meth:`run`.
    heads
        Blocks pushed by the chain node (None: the agent polls).
    fallback_poll_s
        With ``heads``: the longest the agent sleeps without a block.
    swarm
        Replaces the swarm key when the council removes a member (a consortium deployment
        with a private swarm; None otherwise); stepped every tick of :meth:`run`.
    """

    account: LocalAccount
    client: LedgerClient
    node: IpfsNode
    participant: Participant
    peering: Peering
    heads: HeadWatcher | None = None
    fallback_poll_s: float = 2.0
    swarm: SwarmRotation | None = None

    @property
    def address(self) -> str:
        """The member's account."""
        return self.client.address

    @property
    def peer_address(self) -> str:
        """The address other members dial to reach this node (``.../p2p/<peer id>``)."""
        return self.node.multiaddrs[0]

    def register_peer(self) -> bool:
        """Register this node's address (and the account's public key) unless already done.

        Validators use :meth:`~ledgerlearn.agents.validator.Validator.register` instead, which
        registers their fragment encryption key.

        Returns
        -------
        bool
            True when a registration was sent.
        """
        if self.client.member(self.address).peer_address == self.peer_address:
            return False
        self.client.register_member(self.peer_address)  # the account's key, with its proof
        return True

    def run(
        self,
        step: Callable[[], bool],
        *,
        until: Callable[[], bool],
        on_sync: Callable[[], None] | None = None,
        poll_s: float = 0.5,
        timeout_s: float | None = None,
    ) -> None:
        """Run the agent's loop until ``until()`` holds.

        Parameters
        ----------
        step
            The agent's step (True when it sent something); the peering is refreshed first.
        until
            Checked after every sync with the chain.
        on_sync
            Called after every sync, before ``until`` (e.g. to report what changed).
        poll_s
            Wait after a step that did nothing.
        timeout_s
            Give up with :class:`TimeoutError` after this long; ``None``: never.
        """

        def tick() -> bool:
            self.peering.refresh()
            rekeyed = self.swarm.step() if self.swarm is not None else False
            return step() or rekeyed

        def done() -> bool:
            if on_sync is not None:
                on_sync()
            return until()

        run_agent(
            self.participant,
            tick,
            until=done,
            poll_s=poll_s,
            timeout_s=timeout_s,
            heads=self.heads,
            fallback_poll_s=self.fallback_poll_s,
        )

    def serve_forever(self, interval_s: float = 1.0) -> None:
        """Keep the node serving its content until a signal ends the process.

        SIGTERM raises ``SystemExit(0)`` and SIGINT ``KeyboardInterrupt`` (the IPFS node's
        handlers), so the node is closed by the ``with`` block of :func:`open_session`.
        """
        while True:
            time.sleep(interval_s)


def check_role(client: LedgerClient, role: str) -> None:
    """Fail with a clear message when the client's account does not hold ``role``.

    Raises
    ------
    AgentError
        Naming the account, the role, and the command the consortium's admin runs to grant it.
    """
    if not client.has_role(role, client.address):
        raise AgentError(
            f"{client.address} does not hold {role}_ROLE: the consortium's admin grants it with "
            f"`ledgerlearn chain grant {role.lower()} {client.address}`"
        )


@contextmanager
def open_session(
    account: LocalAccount,
    chain: ChainSettings,
    deployment_file: Path,
    state_dir: Path,
    storage: StorageSettings,
    *,
    role: str | None = None,
    fetch_timeout_s: float = 30.0,
    handle_signals: bool = True,
) -> Iterator[AgentSession]:
    """Connect, check the deployment, start the IPFS node and sync: one agent's parts.

    Parameters
    ----------
    account
        The member's key.
    chain
        Which chain to talk to.
    deployment_file
        The deployment (contract addresses), checked against the chain.
    state_dir
        The agent's checkpoint and outbox (one directory per agent: an outbox is per key).
    storage
        IPFS settings; ``repo_dir`` is this agent's repository (one node per repository).
    role
        If given (``"PUBLISHER"``, ``"PROVIDER"``, ``"VALIDATOR"``), the account must hold it;
        checked before the IPFS node starts.
    fetch_timeout_s
        Deadline of every fetch of the task's content by the participant.
    handle_signals
        Let SIGTERM/SIGINT end the process cleanly once kubo runs (see
        :class:`~ledgerlearn.storage.IpfsNode`).

    Yields
    ------
    AgentSession
        The running parts; the node stops when the block exits.

    Raises
    ------
    ChainError
        No node at the RPC URL, no or another deployment, a chain reset under the state.
    AgentError
        The account does not hold ``role``.
    StorageError
        The IPFS node cannot start (e.g. another process uses the repository).
    """
    connection = connect(chain)
    deployment = Deployment.load(deployment_file)
    deployment.check(connection)
    state_dir.mkdir(parents=True, exist_ok=True)
    client = LedgerClient(
        connection, deployment, account, outbox=Outbox(state_dir / "outbox.jsonl")
    )
    if role is not None:
        check_role(client, role)
    heads = None
    if chain.backend == "rpc" and chain.subscribe:
        heads = HeadWatcher(chain.ws_url or chain.rpc_url).start()
    try:
        with IpfsNode(storage, start_fetch_worker=True, handle_signals=handle_signals) as node:
            participant = Participant(client, node, state_dir, fetch_timeout_s=fetch_timeout_s)
            participant.sync()
            peering = Peering(participant, node)
            swarm = None
            if storage.swarm_key_file is not None and deployment.swarm_keys is not None:
                swarm = SwarmRotation(
                    participant, node, peering, storage.swarm_key_file, bytes(account.key)
                )
            yield AgentSession(
                account,
                client,
                node,
                participant,
                peering,
                heads,
                chain.fallback_poll_s,
                swarm,
            )
    finally:
        if heads is not None:
            heads.stop()
