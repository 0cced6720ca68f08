"""Malicious weights files: what an attacker can put on IPFS instead of an honest update.

``pickle``: a pickle whose unpickling would create a sentinel file (proof that code ran);
``wrong_shapes``: valid safetensors with a transposed tensor; ``nan`` / ``inf``: valid
safetensors with a NaN / infinite value. Validators must mark each invalid and keep running
(THREATS D1, D3, A7).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Literal

import numpy as np
import safetensors.numpy

from ledgerlearn.behaviours.provider import PublishingBehaviour
from ledgerlearn.core.types import Weights
from ledgerlearn.data import Dataset
from ledgerlearn.flows.ports import TrainFn
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model import ModelSpec

Kind = Literal["pickle", "wrong_shapes", "nan", "inf"]


class _Sentinel:
    """Unpickling this object creates ``path`` (through ``pathlib.Path.touch``)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path(self.path).touch, ())  # type: ignore[return-value]


class MalformedFile(PublishingBehaviour):
    """Trains honestly, then submits a malformed or malicious file."""

    def __init__(self, kind: Kind, sentinel: Path | None = None) -> None:
        self.kind = kind
        self.name = f"malformed_{kind}"
        self.sentinel = sentinel or Path("/tmp/ledgerlearn-pickle-sentinel")  # noqa: S108

    def produce(self, view: ProviderView, data: Dataset, train: TrainFn) -> Weights:
        """Honest weights (the file, not the numbers, is the attack)."""
        return train(data)

    def encode(self, weights: Weights, spec: ModelSpec) -> bytes:
        """The malicious bytes."""
        if self.kind == "pickle":
            return pickle.dumps({"weights": _Sentinel(str(self.sentinel))})
        arrays = {k: np.ascontiguousarray(v) for k, v in weights.items()}
        name = next(iter(arrays))
        if self.kind == "wrong_shapes":
            arrays[name] = np.ascontiguousarray(
                arrays[name].T.reshape(-1)[::-1].reshape(arrays[name].T.shape)
            )
        else:
            arrays[name] = arrays[name].copy()
            arrays[name].flat[0] = np.nan if self.kind == "nan" else np.inf
        return bytes(safetensors.numpy.save(arrays))
