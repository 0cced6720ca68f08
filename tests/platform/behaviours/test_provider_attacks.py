"""The attack suite on real local updates (digits, 7 honest providers trained for real).

Each attack is produced through its behaviour exactly as a provider would call it (the
ledger's view of the round with the honest updates already submitted); three attackers and
seven honest updates are then averaged with the plain mean, and the attack must hurt: lower
test accuracy for the model-poisoning attacks, an aggregate pulled away from the honest mean
for the free riders and Mimic (which only re-weight honest work)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ledgerlearn.aggregation import get
from ledgerlearn.behaviours import behaviour
from ledgerlearn.behaviours.backdoor import add_trigger, backdoor_accuracy
from ledgerlearn.behaviours.omniscient import LATE_BLOCKS
from ledgerlearn.core.sanity import check_round
from ledgerlearn.data import DirichletPartitioner, load_bundled
from ledgerlearn.flows.view import ProviderView
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import mlp_digits
from ledgerlearn.training import TrainingConfig, evaluate, get_metric, train

HONEST, ATTACKERS = 7, 3
ACCURACY = get_metric("accuracy")


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    torch.set_num_threads(1)
    spec = mlp_digits()
    pool, test = load_bundled("digits", "train"), load_bundled("digits", "test")
    parts = pool.partition(DirichletPartitioner(alpha=1.0), HONEST + ATTACKERS, seed=0)
    config = TrainingConfig(epochs=3, batch_size=16, lr=0.1, momentum=0.9)
    # the round's base: a global model after a little training, as in round 2 of a task
    base = dict(state_dict_to_arrays(build(spec, seed=0)))
    base = train(spec, pool.split(0.1, seed=1)[0], config, initial=base)
    honest = [train(spec, parts[i], config, initial=base) for i in range(HONEST)]

    def view(round_: int = 2) -> ProviderView:
        return ProviderView(spec, base, round_, 10, HONEST + ATTACKERS, HONEST, "mean", 0,
                         lambda: honest)  # fmt: skip

    def trainer(data):  # type: ignore[no-untyped-def]
        return train(spec, data, config, initial=base)

    return spec, base, honest, parts, test, view, trainer


def _attacked(world, name):  # type: ignore[no-untyped-def]
    spec, _base, honest, parts, _test, view, trainer = world
    attackers = [
        behaviour(name, seed=i, num_attackers=ATTACKERS).produce(view(), parts[HONEST + i], trainer)
        for i in range(ATTACKERS)
    ]
    vectors = np.stack([flatten(w, spec) for w in [*honest, *attackers]])
    return unflatten(get("mean")(vectors).astype(np.float32), spec), attackers


def _accuracy(world, weights) -> float:  # type: ignore[no-untyped-def]
    spec, test = world[0], world[4]
    return evaluate(spec, weights, test, ACCURACY)


def _honest_mean(world):  # type: ignore[no-untyped-def]
    spec, honest = world[0], world[2]
    return get("mean")(np.stack([flatten(w, spec) for w in honest]))


ALL_UPDATE_ATTACKS = [
    "sign_flip", "gaussian", "scaling", "alie", "alie_opt", "ipm", "ipm_opt", "mimic",
    "label_flip", "backdoor", "free_rider", "free_rider_replay", "free_rider_zero",
    "free_rider_copy",
]  # fmt: skip


@pytest.mark.parametrize("name", ALL_UPDATE_ATTACKS)
def test_every_attack_raises_the_mean_s_test_loss(world, name: str) -> None:  # type: ignore[no-untyped-def]
    spec, test = world[0], world[4]
    loss = get_metric("negative_loss")
    clean = evaluate(spec, unflatten(_honest_mean(world).astype(np.float32), spec), test, loss)
    attacked, _ = _attacked(world, name)
    assert evaluate(spec, attacked, test, loss) < clean - 1e-4, name


@pytest.mark.parametrize(
    ("name", "drop"),
    [
        ("sign_flip", 0.005),
        ("gaussian", 0.02),
        ("scaling", 0.2),
        ("alie_opt", 0.5),
        ("ipm_opt", 0.5),
        ("label_flip", 0.2),
        ("backdoor", 0.2),
    ],
)
def test_model_poisoning_lowers_the_mean_s_accuracy(world, name: str, drop: float) -> None:  # type: ignore[no-untyped-def]
    clean = _accuracy(world, unflatten(_honest_mean(world).astype(np.float32), world[0]))
    attacked, _ = _attacked(world, name)
    assert _accuracy(world, attacked) <= clean - drop, (name, clean)


def test_colluders_submit_distinct_contents_of_one_vector(world) -> None:  # type: ignore[no-untyped-def]
    spec = world[0]
    _, attackers = _attacked(world, "alie")
    vectors = [flatten(w, spec) for w in attackers]
    assert not np.array_equal(vectors[0], vectors[1])  # distinct hashes on the ledger
    assert np.allclose(vectors[0], vectors[1], rtol=0, atol=1e-4 * np.abs(vectors[0]).max())


def test_optimised_alie_beats_the_paper_z_against_the_mean(world) -> None:  # type: ignore[no-untyped-def]
    fixed, _ = _attacked(world, "alie")
    optimised, _ = _attacked(world, "alie_opt")
    assert _accuracy(world, optimised) <= _accuracy(world, fixed)


def test_omniscient_attackers_wait_for_the_honest_updates(world) -> None:  # type: ignore[no-untyped-def]
    spec, base = world[0], world[1]
    attack = behaviour("ipm_opt", num_attackers=3)

    def view(submitted: int, blocks_left: int) -> ProviderView:
        return ProviderView(spec, base, 1, blocks_left, 10, submitted, "median", 0)

    assert not attack.ready(view(submitted=5, blocks_left=20))
    assert attack.ready(view(submitted=7, blocks_left=20))  # every honest one is in
    assert attack.ready(view(submitted=0, blocks_left=LATE_BLOCKS))  # last chance
    assert behaviour("honest").ready(view(submitted=0, blocks_left=20))


def test_backdoor_plants_its_trigger(world) -> None:  # type: ignore[no-untyped-def]
    spec, _base, honest, parts, test, view, trainer = world
    x = test.x[:3]
    triggered = add_trigger(x)
    image = triggered.reshape(3, 8, 8)
    assert (image[:, -2:, -2:] == x.max()).all() and (triggered[:, :40] == x[:, :40]).all()
    planted = behaviour("backdoor").produce(view(), parts[HONEST], trainer)
    assert backdoor_accuracy(spec, planted, test) >= 0.5
    assert backdoor_accuracy(spec, honest[0], test) <= 0.3


def test_unknown_attack_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour 'alie2'"):
        behaviour("alie2")


def _adaptive_view(world, threshold: float, mode: str = "peer"):  # type: ignore[no-untyped-def]
    spec, base, honest = world[0], world[1], world[2]
    return ProviderView(spec, base, 2, 10, HONEST + ATTACKERS, HONEST, "median", ATTACKERS,
                     lambda: honest, "accuracy", threshold, mode)  # fmt: skip


# ALIE finds a strength the committee lets through; every strength of IPM (-eps * mean) is
# either reversed or a free rider for the sanity checks, so it submits honest work instead.
@pytest.mark.parametrize(("name", "attacks"), [("alie_adaptive", True), ("ipm_adaptive", False)])
def test_adaptive_attacks_pass_the_committee_checks_the_optimised_ones_fail(
    world,  # type: ignore[no-untyped-def]
    name: str,
    attacks: bool,
) -> None:
    spec, base, honest, parts, _test, _view, trainer = world
    view = _adaptive_view(world, threshold=-0.25)
    vectors = [flatten(w, spec) for w in honest]

    def colluders(attack: str) -> list[np.ndarray]:
        return [
            flatten(
                behaviour(attack, seed=i, num_attackers=ATTACKERS).produce(
                    view, parts[HONEST + i], trainer
                ),
                spec,
            )
            for i in range(ATTACKERS)
        ]

    adaptive = colluders(name)
    verdicts = check_round(flatten(base, spec), [*vectors, *adaptive])
    assert all(v.ok for v in verdicts), [v.reason for v in verdicts]
    own = flatten(trainer(parts[HONEST]), spec)
    assert (np.linalg.norm(adaptive[0] - own) > 1e-3) == attacks  # an attack, or honest work
    # the rule-only optimised attack is caught: its colluders are near-duplicates
    naive = colluders(name.replace("adaptive", "opt"))
    caught = check_round(flatten(base, spec), [*vectors, *naive])[HONEST:]
    assert not all(v.ok for v in caught), [v.reason for v in caught]


def test_an_adaptive_attacker_that_cannot_pass_submits_its_honest_update(world) -> None:  # type: ignore[no-untyped-def]
    _spec, _base, _honest, parts, _test, _view, trainer = world
    view = _adaptive_view(world, threshold=2.0, mode="absolute")  # accuracy can never clear it
    produced = behaviour("alie_adaptive", num_attackers=ATTACKERS).produce(
        view, parts[HONEST], trainer
    )
    own = trainer(parts[HONEST])
    for key in own:
        np.testing.assert_array_equal(produced[key], own[key])
