"""The uniform call of a vector attack, and the helpers the attacks share.

A vector attack maps what the attackers know of the honest updates to what they submit, as
ByzFL's attacks do (``attack(honest_vectors)``): ``honest_vectors`` is a ``(k, d)`` matrix of
honest changes (deltas from the base model, float32 or float64), the result an
``(num_attackers, d)`` matrix of the same dtype, one row per colluding attacker. The attack's
own parameters (``z``, ``epsilon``, a factor) are given at construction; what the ledger shows
of the task (its providers, aggregation rule and num_byzantine) and a random generator are
given at every call, by keyword, to every attack alike: an attack ignores what it does not
need. The same inputs and the same generator state give the same output.

Nothing here knows models, rounds or the ledger: the provider behaviours
(:mod:`ledgerlearn.behaviours`) turn a model into a vector and back.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ledgerlearn.aggregation.inputs import Matrix, Vector

__all__ = ["Matrix", "Vector", "VectorAttack", "honest_mean", "rows"]


class VectorAttack(Protocol):
    """A Byzantine attack on update vectors."""

    name: str

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
        """The attackers' vectors ``(num_attackers, d)`` from the honest ones ``(k, d)``.

        Parameters
        ----------
        honest_vectors
            The honest changes the attackers know (k >= 1).
        num_attackers
            How many colluding attackers submit (the result's rows).
        providers
            How many providers the task has, attackers included.
        rule, num_byzantine
            The task's aggregation rule and its parameter (public on chain).
        rng
            The attacker's random generator (only attacks that draw use it).
        """
        ...


def rows(vector: Vector, num_attackers: int) -> Matrix:
    """``vector`` once per attacker: the rows every colluder submits."""
    return np.repeat(vector[None, :], num_attackers, axis=0)


def honest_mean(honest_vectors: Matrix) -> Vector:
    """The mean of the honest vectors; one vector is returned bit for bit (numpy's mean of a
    single row turns ``-0.0`` into ``0.0``)."""
    if len(honest_vectors) == 1:
        only: Vector = honest_vectors[0].copy()
        return only
    mean: Vector = honest_vectors.mean(axis=0)
    return mean
