"""The DAG of a dag task as a plain value: accepted updates, their parents, their scores.

:class:`DagGraph` is what tip selection, staleness and the consensus model read. The dag flow
builds it from the event index (:func:`~ledgerlearn.flows.dag.consensus.graph_of`), as of the latest
block or any earlier one, so every participant derives the same graph from the chain.

Quality of an update. The committee scores an update once, relative to the merge of its
parents in the relative and peer modes (absolute: the metric itself). The score of a deep
update is then an *improvement*, not a level: a late update that gains 0.5 points on a good
merge is better than an early one that gained 40 points on the initial model. The quality
:math:`q` of an update puts the scores back on one scale:

- absolute mode: :math:`q(u) = s(u)`;
- relative and peer modes: :math:`q(\\text{root}) = 0` and
  :math:`q(u) = \\max_{p \\in \\text{parents}(u)} q(p) + s(u)` — the estimated metric of
  the update relative to the initial model, accumulated along the DAG, taking the merge of
  the parents to be as good as the best of them (merging models of one lineage rarely makes
  them worse; the mean would mark down every update that also names an older parent).

:math:`s(u)` is the committee score (the lower median of the scores received, see
:attr:`~ledgerlearn.chain.index.UpdateRecord.committee_score`). A branch grown on a poisoned
update inherits the poisoned update's low quality, however much its own updates improve on
it, so biased walks and the consensus model leave it alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

__all__ = ["DagGraph"]


@dataclass(frozen=True)
class DagGraph:
    """Accepted updates of a dag task, their parents and committee scores.

    Parameters
    ----------
    root
        The task's initial weights (content hash).
    parents
        Each accepted update -> the models it names as parents, in its order.
    scores
        Each accepted update -> its committee score (metric units).
    order
        The accepted updates in acceptance order (ties and iteration follow it).
    cumulative
        Scores are relative to the parents' merge (relative and peer modes): quality
        accumulates along the DAG.
    decided
        Each accepted update -> the block it was accepted in (default: its position).
    """

    root: bytes
    parents: Mapping[bytes, tuple[bytes, ...]]
    scores: Mapping[bytes, float]
    order: tuple[bytes, ...]
    cumulative: bool = True
    decided: Mapping[bytes, int] | None = None

    def __post_init__(self) -> None:
        known = {self.root}
        for u in self.order:
            if u not in self.parents or u not in self.scores:
                raise ValueError(f"update 0x{u.hex()} has no parents or no score")
            missing = [p for p in self.parents[u] if p not in known]
            if missing or not self.parents[u]:
                raise ValueError(
                    f"update 0x{u.hex()} names parents that are not earlier accepted models"
                )
            known.add(u)

    @property
    def models(self) -> tuple[bytes, ...]:
        """The root then the accepted updates in acceptance order."""
        return (self.root, *self.order)

    @cached_property
    def children(self) -> dict[bytes, list[bytes]]:
        """Each model -> the accepted updates built on it, in acceptance order."""
        result: dict[bytes, list[bytes]] = {m: [] for m in self.models}
        for u in self.order:
            for p in self.parents[u]:
                result[p].append(u)
        return result

    @cached_property
    def tips(self) -> list[bytes]:
        """Models nobody built on, in acceptance order (``[root]`` while nothing is
        accepted)."""
        return [m for m, kids in self.children.items() if not kids]

    @cached_property
    def quality(self) -> dict[bytes, float]:
        """Each model's quality (see the module docstring); the root's is 0."""
        q: dict[bytes, float] = {self.root: 0.0}
        for u in self.order:
            if self.cumulative:
                q[u] = max(q[p] for p in self.parents[u]) + self.scores[u]
            else:
                q[u] = self.scores[u]
        return q

    @cached_property
    def depth(self) -> dict[bytes, int]:
        """Each model's depth: 0 for the root, one more than its deepest parent."""
        d: dict[bytes, int] = {self.root: 0}
        for u in self.order:
            d[u] = 1 + max(d[p] for p in self.parents[u])
        return d

    def staleness(self, models: Sequence[bytes]) -> list[int]:
        """How far behind the deepest tip each model is, in DAG levels (Kardam's staleness
        measured on the DAG: 0 for a model as deep as the deepest tip)."""
        front = max(self.depth[t] for t in self.tips)
        return [max(0, front - self.depth[m]) for m in models]

    def accepted_at(self, model: bytes) -> int:
        """The block ``model`` was accepted in (the root: 0)."""
        if model == self.root:
            return 0
        if self.decided is None:
            return self.order.index(model) + 1
        return self.decided[model]

    def ranked_tips(self, horizon: int | None = None, margin: float | None = None) -> list[bytes]:
        """Tips by quality, best first; ties in acceptance order (deterministic).

        ``horizon``: only the tips accepted within that many blocks of the DAG's last
        acceptance (a tip nobody built on for that long is stale: the walks left it, or it
        is an old straggler's); when no tip is that recent, every tip counts. ``margin``:
        only the tips whose quality is within that much of the best one.
        """
        tips = self.tips
        if horizon is not None and self.order:
            latest = max(self.accepted_at(u) for u in self.order)
            recent = [t for t in tips if self.accepted_at(t) >= latest - horizon]
            tips = recent or tips
        quality = self.quality
        if margin is not None:
            best = max(quality[t] for t in tips)
            tips = [t for t in tips if quality[t] >= best - margin]
        position = {m: i for i, m in enumerate(self.models)}
        return sorted(tips, key=lambda t: (-quality[t], position[t]))
