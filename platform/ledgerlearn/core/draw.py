"""A task's committee draw, re-derived from chain data (mirrors ``TaskVetting.draw``).

Anyone re-checks a draw from its events: the revealed seeds (``SeedRevealed``) and the eligible
pool members in pool order (``CommitteeDrawn``). The seed is ``keccak256(taskId, x)`` where x is
the XOR of ``keccak256(taskId, s)`` over the revealed seeds s; the committee is a partial
Fisher-Yates shuffle of the eligible list: for i = 0 .. size-1,
``j = i + uint256(keccak256(seed, i)) mod (n - i)``, swap i and j, member i is the i-th.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

__all__ = ["draw_committee", "draw_seed"]


def draw_seed(task_id: int, revealed: Sequence[bytes]) -> bytes:
    """The draw's seed from the revealed seeds (their order does not matter)."""
    mix = 0
    for seed in revealed:
        mix ^= int.from_bytes(keccak(abi_encode(["uint256", "bytes32"], [task_id, seed])), "big")
    return keccak(abi_encode(["uint256", "bytes32"], [task_id, mix.to_bytes(32, "big")]))


def draw_committee(seed: bytes, eligible: Sequence[str], size: int) -> list[str]:
    """The committee of ``size`` drawn with ``seed`` from ``eligible`` (pool order).

    Raises
    ------
    ValueError
        Fewer eligible members than seats (the contract expires such a task instead).
    """
    n = len(eligible)
    if size > n:
        raise ValueError(f"{size} seats for {n} eligible members")
    members = list(eligible)
    for i in range(size):
        r = int.from_bytes(keccak(abi_encode(["bytes32", "uint256"], [seed, i])), "big")
        j = i + r % (n - i)
        members[i], members[j] = members[j], members[i]
    return members[:size]
