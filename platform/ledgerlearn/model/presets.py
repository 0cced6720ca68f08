"""Ready-made model specs for the bundled datasets.

Each function returns a validated :class:`~ledgerlearn.model.spec.ModelSpec`; publish it with
``spec.to_json()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgerlearn.model.spec import ModelSpec

__all__ = ["cnn_mnist", "logreg_digits", "mlp_digits"]


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
    return ModelSpec.from_dict({"input_shape": [64], "num_classes": num_classes, "layers": layers})


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
        }
    )
