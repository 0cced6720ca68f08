"""How fast a provider works: when an update it prepared may be submitted.

A provider prepares an update (selects its parents or takes the round's base model, trains,
puts the content on IPFS) in one step; its :class:`Pace` decides from when the submission may
go out. Without a pace it goes out at once. The lab harness gives each provider a
:class:`BlockPace`: local training takes as many blocks as its data and speed factor say, so
slow providers (stragglers) are modelled on the chain's own clock, the same in a one-process
simulation and on a devnet with a block time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

__all__ = ["BlockPace", "Pace"]


class Pace(Protocol):
    """When an update prepared at ``block`` after ``samples`` sample-passes of training may
    be submitted."""

    def ready_block(self, block: int, samples: int) -> int:
        """The first block from which the submission may be sent."""
        ...


@dataclass(frozen=True)
class BlockPace:
    """Training takes ``ceil(samples * speed_factor / samples_per_block)`` blocks.

    Parameters
    ----------
    samples_per_block
        Sample-passes (samples x epochs) a provider at speed 1 trains per block.
    speed_factor
        How much slower than that this provider is (5.0: a 5x-slower straggler).
    """

    samples_per_block: float
    speed_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("samples_per_block", "speed_factor"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value}")

    def blocks(self, samples: int) -> int:
        """Blocks the training of ``samples`` sample-passes takes (at least 1)."""
        return max(1, math.ceil(samples * self.speed_factor / self.samples_per_block))

    def ready_block(self, block: int, samples: int) -> int:
        """``block`` plus the training time in blocks."""
        return block + self.blocks(samples)
