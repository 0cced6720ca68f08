"""Ready-made model specs for the bundled datasets.

Each function returns a validated :class:`~ledgerlearn.model.spec.ModelSpec`; publish it with
``spec.to_json()``. Each declares its input (``input``): values in [0, 1], as the bundled
datasets are scaled, with no transform (the data are scaled before they reach the model) and
a description saying so, so a provider with raw pixels is warned before it trains.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerlearn.model.spec import ModelSpec

__all__ = [
    "DIGITS_INPUT",
    "DIGITS_PURPOSE",
    "MNIST_INPUT",
    "MNIST_PURPOSE",
    "cnn_mnist",
    "logreg_digits",
    "mlp_digits",
]

DIGITS_INPUT: dict[str, Any] = {
    "range": [0.0, 1.0],
    "description": "8x8 digit images, 64 pixels row by row, each 0-16 divided by 16 (in [0, 1])",
}
"""The input of the digits presets (scikit-learn's digits as :func:`ledgerlearn.data.load_digits`
scales them)."""

MNIST_INPUT: dict[str, Any] = {
    "range": [0.0, 1.0],
    "description": "28x28 grey images (1 channel), each pixel 0-255 divided by 255 (in [0, 1])",
}
"""The input of the MNIST preset (as :func:`ledgerlearn.data.load_mnist` scales it)."""

DIGITS_PURPOSE: dict[str, Any] = {
    "data_kind": "handwritten-digits",
    "description": "recognise the handwritten digits 0-9 in 8x8 scans",
}
"""What the digits presets are for (the committee vets it)."""

MNIST_PURPOSE: dict[str, Any] = {
    "data_kind": "handwritten-digits",
    "description": "recognise the handwritten digits 0-9 in 28x28 grey images",
}
"""What the MNIST preset is for (the committee vets it)."""


def logreg_digits(num_classes: int = 10) -> ModelSpec:
    """Multinomial logistic regression on the 8x8 digits (64 features).

    Parameters
    ----------
    num_classes
        Number of classes (10 digits).

    Returns
    -------
    ModelSpec
        ``Linear(64, num_classes)``: 650 parameters for 10 classes.
    """
    return ModelSpec.from_dict(
        {
            "input_shape": [64],
            "num_classes": num_classes,
            "layers": [
                {"type": "Linear", "in_features": 64, "out_features": num_classes},
            ],
            "input": DIGITS_INPUT,
            "purpose": DIGITS_PURPOSE,
        }
    )


def mlp_digits(hidden: Sequence[int] = (32,), num_classes: int = 10) -> ModelSpec:
    """Multi-layer perceptron on the 8x8 digits (64 features).

    Parameters
    ----------
    hidden
        Widths of the hidden layers, each followed by a ReLU.
    num_classes
        Number of classes (10 digits).

    Returns
    -------
    ModelSpec
        ``Linear(64, h1), ReLU, ..., Linear(h_last, num_classes)``; 2410 parameters with the
        defaults.
    """
    layers: list[dict[str, Any]] = []
    width = 64
    for size in hidden:
        layers.append({"type": "Linear", "in_features": width, "out_features": size})
        layers.append({"type": "ReLU"})
        width = size
    layers.append({"type": "Linear", "in_features": width, "out_features": num_classes})
    return ModelSpec.from_dict(
        {
            "input_shape": [64],
            "num_classes": num_classes,
            "layers": layers,
            "input": DIGITS_INPUT,
            "purpose": DIGITS_PURPOSE,
        }
    )


def cnn_mnist(num_classes: int = 10) -> ModelSpec:
    """A small CNN for 1x28x28 images (MNIST-like).

    Two 3x3 convolutions (8 and 16 channels, padding 1), each followed by ReLU and a 2x2 max
    pool, then ``Linear(784, 64)``, ReLU, ``Linear(64, num_classes)``.

    Parameters
    ----------
    num_classes
        Number of classes (10 digits).

    Returns
    -------
    ModelSpec
        52,138 parameters with 10 classes.
    """
    return ModelSpec.from_dict(
        {
            "input_shape": [1, 28, 28],
            "num_classes": num_classes,
            "layers": [
                {
                    "type": "Conv2d",
                    "in_channels": 1,
                    "out_channels": 8,
                    "kernel_size": 3,
                    "padding": 1,
                },
                {"type": "ReLU"},
                {"type": "MaxPool2d", "kernel_size": 2},
                {
                    "type": "Conv2d",
                    "in_channels": 8,
                    "out_channels": 16,
                    "kernel_size": 3,
                    "padding": 1,
                },
                {"type": "ReLU"},
                {"type": "MaxPool2d", "kernel_size": 2},
                {"type": "Flatten"},
                {"type": "Linear", "in_features": 16 * 7 * 7, "out_features": 64},
                {"type": "ReLU"},
                {"type": "Linear", "in_features": 64, "out_features": num_classes},
            ],
            "input": MNIST_INPUT,
            "purpose": MNIST_PURPOSE,
        }
    )
