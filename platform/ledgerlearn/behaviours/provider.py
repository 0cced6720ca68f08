"""The provider behaviour interface and the honest behaviour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ledgerlearn.behaviours.view import ProviderView, Weights
from ledgerlearn.data import Dataset
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import encode

__all__ = [
    "ContentPublisher",
    "Honest",
    "ProviderBehaviour",
    "ProviderView",
    "PublishingBehaviour",
    "SafetensorsBehaviour",
    "TrainFn",
    "Weights",
]

TrainFn = Callable[[Dataset], Weights]
"""Trains the task's model from the current base model on the given data."""


class ContentPublisher(Protocol):
    """The part of an IPFS node a behaviour publishes with."""

    def put(self, data: bytes) -> tuple[str, bytes]:
        """Store and pin ``data``; returns (CID, sha256)."""
        ...

    def compute_cid(self, data: bytes) -> str:
        """The CID of ``data`` without storing it."""
        ...


class ProviderBehaviour(Protocol):
    """What a provider submits, given the ledger's view of the round, its data and a way to
    train; and when."""

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

    def publish(self, content: bytes, store: ContentPublisher) -> tuple[str, bytes]:
        """Make ``content`` available (honest: put it on IPFS); returns (CID, sha256)."""
        ...


class PublishingBehaviour:
    """Base of behaviours that submit as soon as they can and put their content on IPFS."""

    follows_publish_if_better = False

    def ready(self, view: ProviderView) -> bool:
        """Submit at once."""
        return True

    def publish(self, content: bytes, store: ContentPublisher) -> tuple[str, bytes]:
        """Store and pin ``content``; returns (CID, sha256)."""
        return store.put(content)


class SafetensorsBehaviour(PublishingBehaviour):
    """Base of behaviours that submit well-formed safetensors bytes."""

    def encode(self, weights: Weights, spec: ModelSpec) -> bytes:
        """safetensors bytes of ``weights``."""
        return encode(weights, spec=spec)


class Honest(SafetensorsBehaviour):
    """Trains on its own data and submits the result."""

    name = "honest"
    follows_publish_if_better = True

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Train and submit."""
        return train(data)
