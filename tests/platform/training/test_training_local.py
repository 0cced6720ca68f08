"""Local training: accuracy on digits, determinism, starting weights, progress, failures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ledgerlearn.data import Dataset, DatasetError, LabelRangeError, load_digits
from ledgerlearn.model import (
    ModelSpec,
    WeightsMismatchError,
    build,
    flatten,
    logreg_digits,
    mlp_digits,
    state_dict_to_arrays,
)
from ledgerlearn.training import (
    TrainingConfig,
    TrainingDivergedError,
    TrainingError,
    TrainingProgress,
    evaluate,
    train,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits() -> tuple[Dataset, Dataset]:
    return load_digits("train"), load_digits("test")


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return list(a) == list(b) and all(a[k].tobytes() == b[k].tobytes() for k in a)


@pytest.mark.parametrize(
    ("spec", "config"),
    [
        (logreg_digits(), TrainingConfig(epochs=5, lr=0.5, batch_size=32)),
        (mlp_digits(), TrainingConfig(epochs=5, lr=0.1, momentum=0.9, batch_size=32)),
        (mlp_digits(), TrainingConfig(epochs=5, lr=0.01, optimizer="adam", batch_size=32)),
    ],
    ids=["logreg-sgd", "mlp-momentum", "mlp-adam"],
)
def test_reaches_90_percent_on_held_out_digits(
    digits: tuple[Dataset, Dataset], spec: ModelSpec, config: TrainingConfig
) -> None:
    train_set, test_set = digits
    before = evaluate(
        spec, state_dict_to_arrays(build(spec, seed=config.seed)), test_set, "accuracy"
    )
    weights = train(spec, train_set, config)
    assert list(weights) == list(spec.parameter_shapes())
    assert all(
        w.dtype == np.float32 and w.shape == spec.parameter_shapes()[n] for n, w in weights.items()
    )
    after = evaluate(spec, weights, test_set, "accuracy")
    assert before < 0.3 and after >= 0.90


def test_two_runs_give_identical_weights(digits: tuple[Dataset, Dataset]) -> None:
    spec = mlp_digits()
    config = TrainingConfig(epochs=2, lr=0.05, momentum=0.5, seed=7)
    first = train(spec, digits[0], config)
    second = train(spec, digits[0], config)
    assert _equal(first, second)
    other = train(spec, digits[0], config.model_copy(update={"seed": 8}))
    assert not _equal(first, other)


def test_dropout_is_deterministic_and_the_global_rng_untouched(
    digits: tuple[Dataset, Dataset],
) -> None:
    spec = ModelSpec.from_dict(
        {
            "input_shape": [64],
            "num_classes": 10,
            "layers": [
                {"type": "Linear", "in_features": 64, "out_features": 16},
                {"type": "ReLU"},
                {"type": "Dropout", "p": 0.5},
                {"type": "Linear", "in_features": 16, "out_features": 10},
            ],
        }
    )
    small = digits[0].subset(range(300))
    state = torch.get_rng_state()
    first = train(spec, small, TrainingConfig(epochs=1, seed=3))
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(12345)  # a different global RNG state must not matter
    assert _equal(first, train(spec, small, TrainingConfig(epochs=1, seed=3)))


def test_starting_weights_as_state_dict_or_vector(digits: tuple[Dataset, Dataset]) -> None:
    spec = logreg_digits()
    start = state_dict_to_arrays(build(spec, seed=99))
    config = TrainingConfig(epochs=1, seed=1)
    from_dict = train(spec, digits[0], config, initial=start)
    from_vector = train(spec, digits[0], config, initial=flatten(start, spec))
    from_tensors = train(spec, digits[0], config, initial=build(spec, seed=99).state_dict())
    assert _equal(from_dict, from_vector) and _equal(from_dict, from_tensors)
    assert not _equal(from_dict, train(spec, digits[0], config))  # seed-1 initialisation
    assert (
        start["0.weight"].tobytes()
        == state_dict_to_arrays(build(spec, seed=99))["0.weight"].tobytes()
    )
    with pytest.raises(WeightsMismatchError):
        train(spec, digits[0], config, initial=np.zeros(3, np.float32))
    with pytest.raises(WeightsMismatchError, match=r"missing tensor '0.bias'"):
        train(spec, digits[0], config, initial={"0.weight": start["0.weight"]})


def test_progress_is_reported_per_batch(digits: tuple[Dataset, Dataset]) -> None:
    data = digits[0].subset(range(100))
    events: list[TrainingProgress] = []
    train(logreg_digits(), data, TrainingConfig(epochs=2, batch_size=32), on_progress=events.append)
    assert len(events) == 2 * 4
    assert [(e.epoch, e.batch) for e in events] == [(ep, b) for ep in (1, 2) for b in (1, 2, 3, 4)]
    assert [e.samples for e in events[:4]] == [32, 64, 96, 100]
    assert [e.end_of_epoch for e in events] == [False, False, False, True] * 2
    assert all(e.epochs == 2 and e.batches == 4 for e in events)
    last = events[3]
    batch_losses = [e.batch_loss for e in events[:4]]
    expected = (32 * sum(batch_losses[:3]) + 4 * batch_losses[3]) / 100
    assert last.epoch_loss == pytest.approx(expected)


def test_data_that_does_not_fit_the_model(digits: tuple[Dataset, Dataset]) -> None:
    with pytest.raises(DatasetError, match=r"expects input_shape \(64,\)"):
        train(logreg_digits(), digits[0].reshaped((1, 8, 8)))
    with pytest.raises(LabelRangeError, match=r"outside \[0, 5\)"):
        train(logreg_digits(num_classes=5), digits[0])


def test_divergence_is_an_error(digits: tuple[Dataset, Dataset]) -> None:
    with pytest.raises(TrainingDivergedError, match=r"lower the learning rate \(lr=1e\+30\)"):
        train(mlp_digits(), digits[0], TrainingConfig(epochs=3, lr=1e30))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"epochs": 0}, r"epochs: Input should be greater than or equal to 1 \(got 0\)"),
        ({"lr": -1.0}, r"lr: Input should be greater than 0"),
        ({"lr": float("nan")}, r"lr: Input should be a finite number"),
        ({"optimizer": "rmsprop"}, r"optimizer: Input should be 'sgd' or 'adam'"),
        ({"momentum": 1.0}, r"momentum: Input should be less than 1"),
        ({"batch_size": 0}, r"batch_size"),
        ({"seed": -1}, r"seed"),
        ({"epoch": 3}, r"epoch: Extra inputs are not permitted"),
    ],
)
def test_invalid_config_is_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        TrainingConfig(**fields)
