"""The provider behaviour interface and the honest behaviour."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ledgerlearn.data import Dataset
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import encode

Weights = dict[str, npt.NDArray[np.float32]]
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
    """What a provider submits, given the base model, its data and a way to train."""

    name: str

    def publish(self, content: bytes, store: ContentPublisher) -> tuple[str, bytes]:
        """Make ``content`` available (honest: put it on IPFS); returns (CID, sha256)."""
        ...

    def encode(self, weights: Weights, spec: ModelSpec) -> bytes:
        """The bytes put on IPFS for ``weights`` (honest: safetensors)."""
        ...

    def produce(
        self, base: Mapping[str, npt.NDArray[np.float32]], data: Dataset, train: TrainFn
    ) -> Weights:
        """The weights this provider submits."""
        ...


class PublishingBehaviour:
    """Base of behaviours that put what they submit on IPFS."""

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

    def produce(
        self, base: Mapping[str, npt.NDArray[np.float32]], data: Dataset, train: TrainFn
    ) -> Weights:
        """Train and submit."""
        return train(data)
