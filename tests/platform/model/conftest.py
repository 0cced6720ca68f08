"""Fixtures of the ledgerlearn.model tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from ledgerlearn.model import ModelSpec, cnn_mnist, logreg_digits, mlp_digits

torch.set_num_threads(1)


def every_layer_document() -> dict[str, Any]:
    """A spec using every allowed layer type at least once."""
    return {
        "input_shape": [3, 12, 12],
        "num_classes": 5,
        "layers": [
            {
                "type": "Conv2d",
                "in_channels": 3,
                "out_channels": 4,
                "kernel_size": [3, 5],
                "stride": [1, 2],
                "padding": [1, 2],
            },
            {"type": "GroupNorm", "num_groups": 2, "num_channels": 4},
            {"type": "Tanh"},
            {"type": "MaxPool2d", "kernel_size": 2},
            {
                "type": "Conv2d",
                "in_channels": 4,
                "out_channels": 6,
                "kernel_size": 3,
                "padding": 1,
                "bias": False,
            },
            {"type": "Sigmoid"},
            {"type": "AvgPool2d", "kernel_size": 2, "stride": 1},
            {"type": "Flatten"},
            {"type": "Dropout", "p": 0.25},
            {"type": "Linear", "in_features": 6 * 5 * 2, "out_features": 8, "bias": False},
            {"type": "GroupNorm", "num_groups": 4, "num_channels": 8},
            {"type": "ReLU"},
            {"type": "Linear", "in_features": 8, "out_features": 5},
        ],
    }


@pytest.fixture
def every_layer_doc() -> dict[str, Any]:
    """A fresh copy of :func:`every_layer_document` (tests may modify it)."""
    return every_layer_document()


@pytest.fixture(scope="session")
def every_layer_spec() -> ModelSpec:
    """The spec of :func:`every_layer_document`."""
    return ModelSpec.from_dict(every_layer_document())


@pytest.fixture(
    scope="session",
    params=["logreg_digits", "mlp_digits", "cnn_mnist", "every_layer"],
)
def any_spec(request: pytest.FixtureRequest) -> ModelSpec:
    """Each ready-made spec, and the every-layer spec."""
    makers: dict[str, Callable[[], ModelSpec]] = {
        "logreg_digits": logreg_digits,
        "mlp_digits": mlp_digits,
        "cnn_mnist": cnn_mnist,
        "every_layer": lambda: ModelSpec.from_dict(every_layer_document()),
    }
    return makers[request.param]()
