"""The gateway's running parts: chain, deployment, relayer key, IPFS node, index, threads.

One :class:`Gateway` per server. At start it connects to the chain, checks the deployment,
re-broadcasts what its outbox holds (a restart loses no acknowledged publication), starts its
embedded IPFS node, replays the chain's events into a
:class:`~ledgerlearn.chain.index.LedgerIndex` and, when its account holds a participant role,
registers its IPFS address (validators fetch the fragments of tasks published through it).
Background threads then

- follow the chain (``sync``): new events go to the index (under :attr:`lock`, which the
  read routes take too), to the role book, to the history in the database and then to the
  server-sent-events hub; the members' IPFS nodes are dialled as they register (at the
  address each registered last);
- keep the rounds (``keeper``, on by default): a
  :class:`~ledgerlearn.flows.federation.keeper.RoundKeeper` per open federation task, on
  an index of its own, as any participant may; the contract refuses a second identical
  proposal or settlement, so several gateways or agents keeping the same rounds cause no
  double effect;
- keep dag tasks (with ``keeper``): settle updates whose scoring window passed unscored
  (:class:`~ledgerlearn.flows.dag.keeper.DagKeeper`; the publisher's keeper closes the task);
- compute each dag task's consensus model whenever its DAG changes (``consensus``, on with
  orchestration, no key needed: :class:`~ledgerlearn_gateway.consensus.ConsensusModels`);
- score each round's global model (federation) and each consensus model (dag) on a held-out
  set when one is configured (``evaluator``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.peering import Peering
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.events import LedgerEvent
from ledgerlearn.chain.index import LedgerIndex
from ledgerlearn.chain.outbox import Outbox
from ledgerlearn.chain.races import describe_race
from ledgerlearn.chain.roles import ROLES, role_name
from ledgerlearn.errors import (
    ChainError,
    ChainReorgError,
    ChainResetError,
    ConfigError,
    ContractError,
    StorageError,
)
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.storage import IpfsNode
from ledgerlearn_gateway.auth import ANY_ROLE, RequestVerifier
from ledgerlearn_gateway.consensus import ConsensusModels
from ledgerlearn_gateway.content import ContentFetches
from ledgerlearn_gateway.database import Database
from ledgerlearn_gateway.evaluation import EvalJob, Evaluator
from ledgerlearn_gateway.events import EventHub
from ledgerlearn_gateway.exports import ModelExports
from ledgerlearn_gateway.history import EventHistory
from ledgerlearn_gateway.nonces import NonceStore
from ledgerlearn_gateway.publications import Publications
from ledgerlearn_gateway.settings import GatewaySettings
from ledgerlearn_gateway.views import curve_models

log = logging.getLogger(__name__)


@dataclass
class ThreadState:
    """What a background thread last did, for the health endpoint and the metrics."""

    last_ok: float | None = None
    error: str | None = None
    actions: int = 0
    errors: int = 0
    """Steps (or a task's step) that failed."""


@dataclass
class Orchestration:
    """Whether and why the gateway keeps rounds."""

    enabled: bool
    active: bool
    reason: str
    state: ThreadState = field(default_factory=ThreadState)


class Gateway:
    """The parts of one running gateway; :meth:`start` and :meth:`stop` them.

    Parameters
    ----------
    settings
        Chain, IPFS and gateway settings.
    relayer
        The gateway's own key (pays relayed publications, keeps rounds); None: read-only.
    """

    def __init__(self, settings: GatewaySettings, relayer: LocalAccount | None) -> None:
        self.settings = settings
        self.relayer = relayer
        self.lock = threading.RLock()
        """Held while the index changes and while a route reads it."""
        self.hub = EventHub()
        self.roles: dict[str, set[str]] = {}
        self.sync_state = ThreadState()
        self.evaluator: Evaluator | None = None
        self.consensus: ConsensusModels | None = None
        self.consensus_state = ThreadState()
        self.orchestration = Orchestration(False, False, "not started")
        self.started = time.time()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.verifier: RequestVerifier | None = None
        self.publications: Publications | None = None
        self.gateway_id = ""
        """The audience signed requests name (``GET /info``)."""

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Connect, check, recover, start IPFS, sync, register; then the background threads."""
        gw = self.settings.gateway
        state = gw.state_dir.expanduser()
        state.mkdir(parents=True, exist_ok=True)
        deployment_file = self.settings.chain.deployment_file
        if deployment_file is None:
            raise ConfigError(
                "no deployment file: give --deployment (or LEDGERLEARN_CHAIN__DEPLOYMENT_FILE)"
            )
        self.chain: Chain = connect(self.settings.chain)
        self.deployment = Deployment.load(deployment_file.expanduser())
        self.deployment.check(self.chain)
        outbox = Outbox(state / "outbox.jsonl") if self.relayer is not None else None
        self.client = LedgerClient(self.chain, self.deployment, self.relayer, outbox=outbox)
        if self.relayer is not None:
            self.client.recover_outbox()  # acknowledged publications still in flight
        self.db = Database(state / "gateway.sqlite")
        self.history = EventHistory(self.db)
        self.nonces = NonceStore(self.db, gw.signature_window_s)
        self.gateway_id = gw.gateway_id or _kept_id(state / "gateway_id")
        self.verifier = RequestVerifier(
            self.chain.chain_id,
            self.deployment.ledger,
            self.gateway_id,
            gw.signature_window_s,
            self.nonces,
        )
        # started in a worker thread: the app's lifespan gives the signals back (main thread)
        self.node = IpfsNode(self.settings.ipfs(), start_fetch_worker=True, handle_signals=False)
        self.node.start()
        max_bytes = self.settings.storage.max_get_bytes
        self.downloads = ContentFetches(
            lambda cid, digest, timeout: self.node.get(cid, digest, max_bytes, timeout),
            self.node.has,
            concurrency=gw.fetch_concurrency,
            max_waiting=gw.max_waiting_fetches,
            timeout_s=gw.fetch_timeout_s,
            unavailable_ttl_s=gw.unavailable_ttl_s,
        )
        try:
            self.reader = Participant(
                self.client, self.node, state / "reader", fetch_timeout_s=gw.fetch_timeout_s
            )
            with self.lock:
                events = self.reader.sync()
                self._fold(events)
            self.history.record(events)
            self.peering = Peering(self.reader, self.node)  # refreshed by the sync thread only
            self.peering.refresh()
            self._register()
            if self.relayer is not None:
                self.publications = Publications(
                    self.db, self.reader, gw.prepare_ttl_s, gw.receipt_wait_s
                )
            if gw.eval_dataset is not None:
                self.evaluator = Evaluator(gw.eval_dataset, self.node, gw.fetch_timeout_s)
            self.exports = ModelExports(
                LedgerClient(self.chain, self.deployment), self.node, state, gw.fetch_timeout_s
            )
            self._start_threads(state)
        except BaseException:
            self.node.stop()
            raise

    def stop(self) -> None:
        """Stop the threads, then the IPFS node and the database."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if hasattr(self, "node"):
            self.node.stop()
        if hasattr(self, "db"):
            self.db.close()

    # -- what routes use -----------------------------------------------------------------
    @property
    def index(self) -> LedgerIndex:
        """The index of the chain's events (read it under :attr:`lock`)."""
        return self.reader.index

    @property
    def head(self) -> int:
        """The latest block the index has seen."""
        return self.reader.head

    @property
    def relayer_address(self) -> str | None:
        """The gateway's own account, if it has a key."""
        return None if self.relayer is None else str(self.relayer.address)

    def has_role(self, role: str, account: str) -> bool:
        """Whether ``account`` holds ``role``, asked of the Consortium contract."""
        return self.client.has_role(role, account)

    def is_participant(self, account: str) -> bool:
        """Whether ``account`` holds any participant role (on chain)."""
        return any(self.client.has_role(r, account) for r in ROLES)

    def holds(self, role: str, account: str) -> bool:
        """Whether ``account`` holds ``role`` (:data:`~ledgerlearn_gateway.auth.ANY_ROLE`: any
        role, the admin's included): the role book when it says so, else the Consortium contract (a
        role granted since the last sync counts at once)."""
        book = self.roles.get(account, set())
        if role == ANY_ROLE:
            return bool(book) or any(self.client.has_role(r, account) for r in (*ROLES, "ADMIN"))
        return role in book or self.client.has_role(role, account)

    # -- internals -----------------------------------------------------------------------
    def _register(self) -> None:
        """Register the node's address when the relayer is a participant (validators and
        providers then dial it for the content of tasks published here)."""
        address = self.relayer_address
        if address is None or not self.is_participant(address):
            return
        own = self.node.multiaddrs[0]
        if self.client.member(address).peer_address == own:
            return
        assert self.relayer is not None
        self.client.register_member(own)  # the relayer's own key, with its proof
        log.info("registered the gateway's IPFS node %s", own)

    def _start_threads(self, state: Any) -> None:
        gw = self.settings.gateway
        self._threads.append(threading.Thread(target=self._sync_loop, name="sync", daemon=True))
        address = self.relayer_address
        if gw.orchestrate:  # reads only: runs with or without a key
            self.consensus = ConsensusModels(
                Participant(
                    LedgerClient(self.chain, self.deployment),
                    self.node,
                    state / "consensus",
                    fetch_timeout_s=gw.fetch_timeout_s,
                ),
                self.node,
            )
            self._threads.append(
                threading.Thread(target=self._consensus_loop, name="consensus", daemon=True)
            )
        if not gw.orchestrate:
            self.orchestration = Orchestration(False, False, "turned off in the settings")
        elif address is None:
            self.orchestration = Orchestration(True, False, "the gateway has no relayer key")
        elif not self.is_participant(address):
            self.orchestration = Orchestration(
                True, False, f"{address} holds no participant role (the admin grants one)"
            )
        else:
            self.orchestration = Orchestration(
                True, True, "keeping the rounds and dag updates of open tasks"
            )
            self.keeper = Participant(
                self.client, self.node, state / "keeper", fetch_timeout_s=gw.fetch_timeout_s
            )
            self._threads.append(
                threading.Thread(target=self._keeper_loop, name="keeper", daemon=True)
            )
        if self.evaluator is not None:
            self._threads.append(
                threading.Thread(target=self._evaluator_loop, name="evaluator", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def _fold(self, events: list[LedgerEvent]) -> None:
        """Keep the role book in step with RoleGranted / RoleRevoked."""
        for event in events:
            if event.name not in ("RoleGranted", "RoleRevoked"):
                continue
            name = role_name(event.args["role"])
            if name is None:
                continue
            held = self.roles.setdefault(event.args["account"], set())
            if event.name == "RoleGranted":
                held.add(name)
            else:
                held.discard(name)

    def _sync_loop(self) -> None:
        interval = self.settings.gateway.poll_interval_s
        while not self._stop.is_set():
            try:
                with self.lock:
                    events = self.reader.sync()
                    self._fold(events)
                self.history.record(events)  # before the stream: a replay never misses one
                self.hub.publish(events)
                if self.node.swarm_key_changed():  # the organisation's agent wrote a new key
                    self.node.stop()
                    self.node.start()
                    self.peering.redial()
                    log.info("the swarm key file changed: the IPFS node restarted with it")
                self.peering.refresh()
                self.sync_state.last_ok = time.time()
                self.sync_state.error = None
                self.sync_state.actions += len(events)
            except (ChainResetError, ChainReorgError) as exc:
                self.sync_state.error = f"{type(exc).__name__}: {exc}"
                log.error("the chain changed under the gateway: %s", exc)
            except Exception as exc:  # a node that is briefly unreachable: retry
                self.sync_state.error = f"{type(exc).__name__}: {exc}"
                log.warning("sync failed: %s", exc)
            self._stop.wait(interval)

    def _keeper_loop(self) -> None:
        from ledgerlearn.flows.base import Keeper

        keepers: dict[int, Keeper] = {}
        state = self.orchestration.state
        interval = self.settings.gateway.poll_interval_s
        while not self._stop.is_set():
            acted = False
            try:
                self.keeper.sync()
                for task in list(self.keeper.index.tasks.values()):
                    if task.closed:
                        continue
                    keeper = keepers.get(task.task_id)
                    if keeper is None:
                        # the gateway never closes a task (only its publisher may)
                        keeper = keepers[task.task_id] = FLOWS[task.flow].keeper(
                            self.keeper, task.task_id, close_at=None
                        )
                    try:
                        if keeper.step():
                            acted = True
                            state.actions += 1
                    except ContractError as exc:  # another keeper was first: nothing to do
                        log.info("task %d: %s", task.task_id, describe_race(exc))
                    except (ChainError, StorageError) as exc:
                        state.error = f"task {task.task_id}: {exc}"
                        state.errors += 1
                        log.warning("keeping task %d: %s", task.task_id, exc)
                state.last_ok = time.time()
            except (ChainResetError, ChainReorgError) as exc:
                state.error = f"{type(exc).__name__}: {exc}"
                state.errors += 1
                log.error("keeper stopped: %s", exc)
                return
            except Exception as exc:
                state.error = f"{type(exc).__name__}: {exc}"
                state.errors += 1
                log.exception("keeper step failed")
            if not acted:
                self._stop.wait(interval)

    def _consensus_loop(self) -> None:
        assert self.consensus is not None
        state = self.consensus_state
        interval = self.settings.gateway.poll_interval_s
        seen: dict[int, int] | None = None
        while not self._stop.is_set():
            try:
                # the main index says when a dag task's DAG grew: only then sync and recompute
                with self.lock:
                    dags = {
                        t.task_id: len(t.accepted)
                        for t in self.index.tasks.values()
                        if FLOWS[t.flow].has_graph
                    }
                if dags != seen:
                    state.actions += self.consensus.refresh()
                    failed = self.consensus.failed
                    seen = None if failed else dags  # a failed task is tried again
                    state.error = "; ".join(failed.values()) or None
                state.last_ok = time.time()
            except (ChainResetError, ChainReorgError) as exc:
                state.error = f"{type(exc).__name__}: {exc}"
                log.error("consensus stopped: %s", exc)
                return
            except Exception as exc:  # a node briefly unreachable: tried again next time
                state.error = f"{type(exc).__name__}: {exc}"
                log.warning("consensus models: %s", exc)
            self._stop.wait(interval)

    def _evaluator_loop(self) -> None:
        assert self.evaluator is not None
        while not self._stop.is_set():
            for job in self.eval_jobs():
                if self._stop.is_set():
                    return
                if self.evaluator.wanted(job):
                    self.evaluator.run(job)
            self._stop.wait(1.0)

    def eval_jobs(self) -> list[EvalJob]:
        """The models of the accuracy curves (:func:`~ledgerlearn_gateway.views.curve_models`)
        that have a CID."""
        jobs = []
        with self.lock:
            for task in self.index.tasks.values():
                p = task.params
                history = self.consensus.history(task.task_id) if self.consensus else []
                for model in curve_models(task, history):
                    if model.cid:
                        jobs.append(
                            EvalJob(
                                task.task_id,
                                model.content_hash,
                                model.cid,
                                p.model_spec_cid,
                                p.model_spec_hash,
                                int(p.metric),
                            )
                        )
        return jobs


def _kept_id(path: Path) -> str:
    """The gateway's id kept in ``path``, made at the first start."""
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if not kept:
        kept = "gw-" + secrets.token_hex(12)
        path.write_text(kept + "\n")
    return kept
