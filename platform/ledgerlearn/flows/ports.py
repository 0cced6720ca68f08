"""What the flows need from the agents that run them, as protocols.

The flows sit below the agents (``lab``, the gateway and the CLI above both): a keeper or a
committee duty is handed an agent and uses only what is declared here. A
:class:`~ledgerlearn.agents.participant.Participant` is a :class:`Member`; a
:class:`~ledgerlearn.agents.validator.Validator` is a :class:`CommitteeMember`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.index import TaskRecord
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.errors import LedgerlearnError, StorageError
from ledgerlearn.flows.scoring import ScoreRecord
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model import ModelSpec
from ledgerlearn.stopwatch import Stopwatch
from ledgerlearn.training import ProgressCallback, TrainingConfig

__all__ = [
    "CommitteeMember",
    "ContentStore",
    "Member",
    "ProviderAgent",
    "ProviderBehaviour",
    "ScoreReporter",
    "TrainFn",
]


class ContentStore(Protocol):
    """The part of :class:`~ledgerlearn.storage.IpfsNode` agents use."""

    def put(self, data: bytes) -> tuple[str, bytes]:
        """Store and pin ``data``; returns (CID, sha256)."""
        ...

    def get(
        self,
        cid: str,
        expected_sha256: bytes,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        *,
        pin: bool = False,
    ) -> bytes:
        """Fetch verified content before a deadline (``pin``: also keep and serve it)."""
        ...

    def get_many(
        self,
        items: Sequence[tuple[str, bytes]],
        *,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
        pin: bool = False,
    ) -> dict[str, bytes | StorageError]:
        """Fetch several verified contents concurrently under one deadline (``pin``: also
        keep and serve each)."""
        ...

    def has(self, cid: str) -> bool:
        """Whether ``cid`` is stored (pinned) on this node."""
        ...

    def unpin(self, cid: str) -> None:
        """Stop keeping ``cid`` (a no-op when it is not pinned)."""
        ...

    def compute_cid(self, data: bytes) -> str:
        """The CID of ``data`` without storing it."""
        ...


class Member(Protocol):
    """A consortium member's agent as the flows see it: its account and chain client, its
    IPFS node, the tasks it has indexed and where its time goes."""

    @property
    def address(self) -> str:
        """This member's account."""
        ...

    @property
    def client(self) -> LedgerClient:
        """Its chain client (sends as :attr:`address`)."""
        ...

    @property
    def store(self) -> ContentStore:
        """Its IPFS node."""
        ...

    @property
    def stopwatch(self) -> Stopwatch:
        """Where its time goes (training, validation, IPFS, chain)."""
        ...

    @property
    def head(self) -> int:
        """The latest block it has seen."""
        ...

    def task(self, task_id: int) -> TaskRecord:
        """The indexed task."""
        ...

    def spec(self, task_id: int) -> ModelSpec:
        """The task's model spec, checked against its on-chain hash."""
        ...

    def fetch(
        self,
        task_id: int,
        cid: str,
        content_hash: bytes,
        max_bytes: int | None = None,
        timeout_s: float | None = None,
    ) -> bytes:
        """Content of the task verified against ``content_hash`` (a committee member also
        keeps and serves it)."""
        ...

    def keep(self, task_id: int, cid: str) -> None:
        """Content this member stored for the task (its aggregate): kept and served as long
        as what it fetched for the task."""
        ...

    def fetch_model(self, task_id: int, content_hash: bytes, cid: str | None = None) -> bytes:
        """A model of the task (initial weights, update or aggregate): its bytes, verified
        against ``content_hash``."""
        ...

    def fetch_weights(self, task_id: int, content_hash: bytes, cid: str | None = None) -> Weights:
        """A model of the task (initial weights, update or aggregate), verified and decoded."""
        ...


class ScoreReporter(Protocol):
    """What a committee member reports given its true scores, and whether it attests."""

    @property
    def attests(self) -> bool:
        """Whether it attests aggregates."""
        ...

    def report(
        self, scores: Mapping[bytes, int], providers: Mapping[bytes, str]
    ) -> dict[bytes, int]:
        """Scores to submit, keyed by update; ``providers`` gives each update's provider."""
        ...


class CommitteeMember(Protocol):
    """A committee member's agent as a flow's committee duty sees it: it fetches updates and
    its fragment, and keeps what it scored."""

    @property
    def participant(self) -> Member:
        """The member itself."""
        ...

    @property
    def behaviour(self) -> ScoreReporter:
        """What it reports given its true scores."""
        ...

    @property
    def sanity(self) -> bool:
        """Whether it runs the sanity checks."""
        ...

    @property
    def fetch_timeout_s(self) -> float:
        """Deadline for content still missing when it must be given up."""
        ...

    @property
    def prefetch_timeout_s(self) -> float:
        """Deadline of the one early attempt at new content."""
        ...

    @property
    def scored(self) -> list[ScoreRecord]:
        """Every score it sent, in order."""
        ...

    @property
    def dropped(self) -> Counter[str]:
        """Scores it computed and did not send, by reason
        (:data:`~ledgerlearn.flows.scoring.DROPPED`)."""
        ...

    def fetch_updates(
        self, task: TaskRecord, updates: list[bytes], timeout_s: float
    ) -> dict[bytes, bytes | LedgerlearnError]:
        """The updates' contents, fetched concurrently under one deadline (each verified)."""
        ...

    def fragment(self, task: TaskRecord) -> Dataset:
        """Its validation fragment of the task, decrypted."""
        ...

    def send_scores(self, task: TaskRecord, updates: list[bytes], scores: list[int]) -> None:
        """Send its scores of ``updates``: in the clear, or committed (a commit-reveal task:
        revealed once the commit window closed)."""
        ...


# -- the provider --
TrainFn = Callable[[Dataset], Weights]
"""Trains the task's model from the current base model on the given data."""

SettingsT = TypeVar("SettingsT")


class ProviderBehaviour(Protocol):
    """What a provider submits, given the ledger's view of the round, its data and a way to
    train; and when (the honest behaviour and the attacks are in :mod:`ledgerlearn.behaviours`)."""

    name: str
    follows_publish_if_better: bool
    """Whether the provider's publish-if-better rule (dag flow) applies to what this
    behaviour produces: honest providers publish only models that beat their parents on
    their own held-out data; an attacker publishes what it made regardless."""

    def ready(self, view: ProviderView) -> bool:
        """Whether to submit now (honest: at once; omniscient attacks wait for the others)."""
        ...

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """The weights this provider submits."""
        ...

    def encode(self, weights: Weights, spec: ModelSpec) -> bytes:
        """The bytes put on IPFS for ``weights`` (honest: safetensors)."""
        ...

    def publish(self, content: bytes, store: ContentStore) -> tuple[str, bytes]:
        """Make ``content`` available (honest: put it on IPFS); returns (CID, sha256)."""
        ...


class ProviderAgent(Protocol):
    """A provider's agent as a flow's provider duty sees it: who it is, its data, training
    settings and behaviour, and what every flow's provider does alike (commit, then reveal;
    wait for its pace; fetch the other providers' updates)."""

    @property
    def participant(self) -> Member:
        """The provider itself."""
        ...

    @property
    def task_id(self) -> int:
        """The task it works on."""
        ...

    @property
    def data(self) -> Dataset:
        """Its private training data."""
        ...

    @property
    def training(self) -> TrainingConfig:
        """Its local training hyperparameters."""
        ...

    @property
    def on_progress(self) -> ProgressCallback | None:
        """Training progress callback."""
        ...

    @property
    def behaviour(self) -> ProviderBehaviour:
        """What it submits."""
        ...

    lost: int
    """Updates it made and could not submit (the window closed first, the commitment
    reverted); a duty counts the ones it loses."""

    @property
    def reveals(self) -> dict[int, str]:
        """Reveals sent without waiting for their block, by round or attempt: the outbox
        intent of each (a duty forgets one once it no longer needs it)."""
        ...

    def flow_settings(self, kind: type[SettingsT]) -> SettingsT:
        """Its settings of ``kind`` for a flow (a dag task's
        :class:`~ledgerlearn.flows.dag.updates.DagSettings`): the ones it was given, else the
        defaults (``kind()``)."""
        ...

    def commit(self, update: bytes) -> tuple[str, bool]:
        """Where its commitment to ``update`` stands (``waiting``, ``revealable`` or
        ``failed``), and whether a commitment was sent just now (sent when there is none)."""
        ...

    def reveal(
        self, key: int, update: bytes, *, broadcast: Callable[[], str], submit: Callable[[], object]
    ) -> None:
        """Reveal ``update``, its commitment mined: ``broadcast`` it when there is an outbox
        (the intent is kept in :attr:`reveals` under ``key``, the round or attempt), else
        ``submit`` it and wait for its block."""
        ...

    def ready_at(self, block: int, samples: int) -> int:
        """The first block an update prepared at ``block`` may be sent from, after training on
        ``samples`` samples (its pace)."""
        ...

    def visible_updates(self, updates: list[bytes]) -> list[Weights]:
        """The weights of the other providers' ``updates`` that it can fetch and decode, in
        order (a withheld or malformed one is left out)."""
        ...
