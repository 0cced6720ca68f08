"""The vector attacks on plain arrays: one uniform call, and each attack's formula.

Every attack takes ``(k, d)`` honest vectors and the same keywords and returns
``(num_attackers, d)`` vectors of the input's dtype, the same for the same generator seed. The
attacks' effect on a trained model is tested through the provider behaviours
(tests/platform/behaviours/test_provider_attacks.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from ledgerlearn.core.attacks import (
    SCALE_GRID,
    VECTOR_ATTACKS,
    Alie,
    Gaussian,
    Ipm,
    Mimic,
    OptimisedAlie,
    OptimisedIpm,
    Scaling,
    SignFlip,
    alie_z,
    scale_gaps,
)
from ledgerlearn.core.attacks.attack import VectorAttack

D = 40


def _honest(k: int, dtype: type[np.floating[Any]], seed: int = 3) -> npt.NDArray[Any]:
    rng = np.random.default_rng(seed)
    return (rng.normal(0.0, 0.1, (k, D)) + rng.normal(0.0, 0.05, D)).astype(dtype)


def _call(
    attack: VectorAttack,
    honest: npt.NDArray[Any],
    *,
    num_attackers: int = 3,
    providers: int = 10,
    rule: str = "median",
    num_byzantine: int = 3,
    seed: int = 0,
) -> npt.NDArray[Any]:
    return np.asarray(
        attack(
            honest,
            num_attackers=num_attackers,
            providers=providers,
            rule=rule,
            num_byzantine=num_byzantine,
            rng=np.random.default_rng(seed),
        )
    )


def test_the_catalogue_holds_every_vector_attack() -> None:
    assert set(VECTOR_ATTACKS) == {
        "sign_flip", "gaussian", "scaling", "alie", "alie_opt", "ipm", "ipm_opt", "mimic",
    }  # fmt: skip
    assert all(cls().name == name for name, cls in VECTOR_ATTACKS.items())


@pytest.mark.parametrize("name", sorted(VECTOR_ATTACKS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("k", "num_attackers"), [(1, 1), (7, 3)])
def test_every_vector_attack_honours_the_uniform_call(
    name: str, dtype: type[np.floating[Any]], k: int, num_attackers: int
) -> None:
    attack = VECTOR_ATTACKS[name]()
    honest = _honest(k, dtype)
    before = honest.copy()
    out = _call(attack, honest, num_attackers=num_attackers, seed=5)
    assert out.shape == (num_attackers, D)
    assert out.dtype == honest.dtype
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(honest, before)  # the honest vectors are left alone
    again = _call(attack, honest, num_attackers=num_attackers, seed=5)
    np.testing.assert_array_equal(out, again)  # deterministic for a seed
    assert not np.array_equal(out[0], np.zeros(D))


def test_only_the_gaussian_attack_draws_from_the_generator() -> None:
    honest = _honest(7, np.float64)
    for name, cls in VECTOR_ATTACKS.items():
        a, b = _call(cls(), honest, seed=1), _call(cls(), honest, seed=2)
        assert np.array_equal(a, b) == (name != "gaussian"), name
    rng = np.random.default_rng(9)
    expected = rng.normal(0.0, 1.0, (2, D))
    np.testing.assert_array_equal(_call(Gaussian(), honest, num_attackers=2, seed=9), expected)


def test_alie_z_matches_the_paper() -> None:
    # n = 10, f = 3: s = floor(10/2 + 1) - 3 = 3 supporters; z = Phi^-1(7/10)
    assert alie_z(10, 3) == pytest.approx(0.5244, abs=1e-4)
    # n = 50, f = 12 (the paper's table): s = 14, z = Phi^-1(36/50) ~ 0.58
    assert alie_z(50, 12) == pytest.approx(0.5828, abs=1e-3)
    with pytest.raises(ValueError, match="0 < f < n"):
        alie_z(3, 3)


def test_alie_and_ipm_follow_their_formulas() -> None:
    honest = _honest(7, np.float64)
    mean, std = honest.mean(axis=0), honest.std(axis=0)
    alie = _call(Alie(), honest, num_attackers=3, providers=10)
    np.testing.assert_allclose(alie, np.tile(mean - alie_z(10, 3) * std, (3, 1)))
    np.testing.assert_allclose(_call(Alie(z=2.0), honest)[0], mean - 2.0 * std)
    np.testing.assert_allclose(_call(Ipm(epsilon=0.5), honest)[0], -0.5 * mean)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        Ipm(epsilon=0.0)


def test_local_attacks_keep_a_single_vector_bit_for_bit() -> None:
    own = _honest(1, np.float32)
    own[0, :3] = [-0.0, 0.0, 1e-42]  # numpy's mean of one row would turn -0.0 into 0.0
    flipped = _call(SignFlip(scale=2.0), own, num_attackers=1)[0]
    assert flipped.tobytes() == (-(np.float32(2.0) * own[0])).tobytes()
    scaled = _call(Scaling(factor=10.0), own, num_attackers=1)[0]
    assert scaled.tobytes() == (np.float32(10.0) * own[0]).tobytes()
    assert np.signbit(scaled[0]) and not np.signbit(flipped[0])


def test_mimic_copies_the_most_extreme_honest_vector() -> None:
    honest = _honest(7, np.float64)
    honest[4] += 1.0  # far out along one direction
    np.testing.assert_array_equal(_call(Mimic(), honest)[1], honest[4])


def test_the_line_search_picks_the_most_damaging_scale() -> None:
    honest = _honest(7, np.float64)
    # against the plain mean, the aggregate moves with the scale: the largest wins
    gaps = scale_gaps(honest, "mean", 0, 3, lambda e: -e * honest.mean(axis=0))
    assert gaps[0][0] == max(SCALE_GRID)
    assert [g for _, g in gaps] == sorted((g for _, g in gaps), reverse=True)
    optimised = _call(OptimisedIpm(), honest, rule="mean", num_byzantine=0)[0]
    np.testing.assert_allclose(optimised, -max(SCALE_GRID) * honest.mean(axis=0))
    # against the median the largest ALIE strength is no longer the most damaging one
    alie = _call(OptimisedAlie(), honest, rule="median", num_byzantine=3)[0]
    mean, std = honest.mean(axis=0), honest.std(axis=0)
    z = [s for s in SCALE_GRID if np.allclose(alie, mean - s * std)]
    assert len(z) == 1 and z[0] < max(SCALE_GRID)


def test_a_rule_that_refuses_the_count_falls_back_to_the_mean() -> None:
    honest = _honest(2, np.float64)
    # krum with num_byzantine = 3 refuses 2 + 1 updates: the search uses the mean instead
    refused = scale_gaps(honest, "krum", 3, 1, lambda e: -e * honest.mean(axis=0))
    plain = scale_gaps(honest, "mean", 0, 1, lambda e: -e * honest.mean(axis=0))
    assert refused == plain
