"""The honest provider behaviour and the bases the others share.

The interface a behaviour implements is :class:`~ledgerlearn.flows.ports.ProviderBehaviour`:
the flows' provider duties call it.
"""

from __future__ import annotations

from typing import Protocol

from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import encode

__all__ = [
    "ContentPublisher",
    "Honest",
    "PublishingBehaviour",
    "SafetensorsBehaviour",
]


class ContentPublisher(Protocol):
    """The part of an IPFS node a behaviour publishes with."""

    def put(self, data: bytes) -> tuple[str, bytes]:
        """Store and pin ``data``; returns (CID, sha256)."""
        ...

    def compute_cid(self, data: bytes) -> str:
        """The CID of ``data`` without storing it."""
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
