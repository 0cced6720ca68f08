"""Mimic: every attacker copies the one honest update that most skews the aggregate.

Reference: Karimireddy, He and Jaggi, "Byzantine-Robust Learning on Heterogeneous Datasets
via Bucketing" (ICLR 2022). On non-IID data, over-representing one honest worker biases
robust aggregates toward its data. The mimicked worker is the one whose (centred) update
has the largest projection on the honest updates' top principal direction.
"""

from __future__ import annotations

import numpy as np

from ledgerlearn.core.attacks.attack import Matrix, Vector, rows

__all__ = ["Mimic", "top_direction"]


def top_direction(centred: Matrix, iterations: int = 50) -> Vector:
    """The top right singular vector of ``centred`` by power iteration (seeded, exact
    enough for choosing a row)."""
    rng = np.random.default_rng(0)
    v: Vector = np.asarray(rng.normal(size=centred.shape[1]), dtype=np.float64)
    for _ in range(iterations):
        w = centred.T @ (centred @ v)
        norm = float(np.linalg.norm(w))
        if norm == 0.0:
            break
        v = w / norm
    direction: Vector = v
    return direction


class Mimic:
    """Every attacker submits a copy of the most extreme honest vector."""

    name = "mimic"

    def __call__(
        self,
        honest_vectors: Matrix,
        *,
        num_attackers: int,
        providers: int,
        rule: str,
        num_byzantine: int,
        rng: np.random.Generator,
    ) -> Matrix:
        """The honest vector with the largest projection on the top principal direction."""
        centred = honest_vectors - honest_vectors.mean(axis=0)
        projections = np.abs(centred @ top_direction(centred))
        return rows(honest_vectors[int(np.argmax(projections))], num_attackers)
