"""Bucketing (a pre-aggregator).

Reference: S. P. Karimireddy, L. He, M. Jaggi. "Byzantine-Robust Learning on Heterogeneous
Datasets via Bucketing", ICLR 2022.

The updates are shuffled, cut into consecutive buckets of ``bucket_size`` (the last one may be
smaller) and each bucket is replaced by its mean, giving ``ceil(n / bucket_size)`` updates for
the rule that follows (which must tolerate ``num_byzantine`` of *those*; a pipeline checks it).

The shuffle is the only randomness in the library, and it is reproducible by anyone: a
Fisher-Yates shuffle whose draws are ``SHA-256("ledgerlearn-bucketing:{seed}:{n}:{i}")`` taken
modulo ``i + 1``, i.e. it depends on ``seed`` and ``n`` only, on no library's random generator
(whose streams may change between versions). Give a per-round ``seed`` (e.g. the round number)
to reshuffle every round. Each bucket is averaged in ascending index order.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from ledgerlearn.aggregation.base import PreAggregator, check_count
from ledgerlearn.aggregation.inputs import Matrix, group_means

__all__ = ["Bucketing", "bucket", "seeded_permutation"]


def seeded_permutation(n: int, seed: int) -> list[int]:
    """A permutation of ``range(n)`` determined by ``seed`` (see the module docstring)."""
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        digest = hashlib.sha256(f"ledgerlearn-bucketing:{seed}:{n}:{i}".encode()).digest()
        j = int.from_bytes(digest, "big") % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def bucket(x: Matrix, bucket_size: int, seed: int) -> Matrix:
    """``(ceil(n / bucket_size), d)`` bucket means of the shuffled rows of ``x``."""
    order = seeded_permutation(x.shape[0], seed)
    groups = [order[s : s + bucket_size] for s in range(0, len(order), bucket_size)]
    return group_means(x, groups)


class Bucketing(PreAggregator):
    """Average the updates in seeded random buckets of ``bucket_size``.

    Parameters
    ----------
    num_byzantine
        Kept for the pipeline's bookkeeping; bucketing itself accepts any ``n``.
    bucket_size
        ``s``, updates per bucket (the paper suggests ``s <= n / (2 num_byzantine)``).
    seed
        Seed of the shuffle.
    """

    kind: ClassVar[str] = "bucketing"

    def __init__(self, num_byzantine: int = 0, bucket_size: int = 2, seed: int = 0) -> None:
        super().__init__(num_byzantine)
        self.bucket_size = check_count("bucket_size", bucket_size, 1)
        self.seed = check_count("seed", seed, 0)

    def num_outputs(self, n: int) -> int:
        return -(-n // self.bucket_size)

    def transform(self, x: Matrix) -> Matrix:
        return bucket(x, self.bucket_size, self.seed)
