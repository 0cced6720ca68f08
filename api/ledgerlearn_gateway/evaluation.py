"""The accuracy curve: each round's global model scored on a held-out set the gateway has.

With ``gateway.eval_dataset`` set (a bundled dataset's test split), the gateway evaluates the
initial weights and every finalized round's result of each federation task whose model fits
that dataset (its input shape, its classes, and the input range the spec declares, after the
spec's transform: a model that divides raw pixels by 16 itself does not fit the pre-scaled
bundled data), with the task's own metric, in a background thread; the results are cached by
content hash. Without it (or when the model does not fit) the curve falls back to the
committee's scores (see :func:`ledgerlearn_gateway.views.metric_curve`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ledgerlearn.data import Dataset, load_bundled, range_report
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.limits import MAX_SPEC_BYTES
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.weights import decode
from ledgerlearn.storage import IpfsNode
from ledgerlearn.training import METRICS_BY_ID, evaluate

log = logging.getLogger(__name__)

MAX_TRIES = 3
"""Evaluations of one model before the gateway gives up on it (and says so in a WARNING)."""


@dataclass(frozen=True)
class EvalJob:
    """One model to score."""

    task_id: int
    content_hash: bytes
    cid: str
    spec_cid: str
    spec_hash: bytes
    metric_id: int


class Evaluator:
    """Scores models on the gateway's held-out set; results by (task, content hash)."""

    def __init__(self, dataset: str | None, node: IpfsNode, fetch_timeout_s: float) -> None:
        self.dataset = dataset
        self.node = node
        self.fetch_timeout_s = fetch_timeout_s
        self.results: dict[tuple[int, bytes], float] = {}
        self.unfit: dict[int, str] = {}  # task -> why its model does not fit the held-out set
        self._failures: dict[tuple[int, bytes], int] = {}
        self._specs: dict[int, ModelSpec] = {}
        self._data: dict[tuple[int, ...], Dataset] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str | None:
        """What the held-out set is, for the curve's label."""
        if self.dataset is None:
            return None
        sizes = [len(d) for d in self._data.values()]
        size = f", {sizes[0]} samples" if sizes else ""
        return f"the gateway's held-out set ({self.dataset} test split{size})"

    def wanted(self, job: EvalJob) -> bool:
        """Whether ``job`` still needs doing (not done, not given up, model fits)."""
        key = (job.task_id, job.content_hash)
        return (
            self.dataset is not None
            and key not in self.results
            and job.task_id not in self.unfit
            and self._failures.get(key, 0) < MAX_TRIES
        )

    def run(self, job: EvalJob) -> None:
        """Fetch, verify, decode and score one model; failures are counted and logged."""
        key = (job.task_id, job.content_hash)
        try:
            spec = self._spec(job)
            data = self._held_out(job.task_id, spec)
            if data is None:
                return
            raw = self.node.get(job.cid, job.content_hash, None, self.fetch_timeout_s)
            weights = decode(raw, spec)
            self.results[key] = evaluate(spec, weights, data, METRICS_BY_ID[job.metric_id])
        except LedgerlearnError as exc:
            tries = self._failures[key] = self._failures.get(key, 0) + 1
            if tries < MAX_TRIES:  # content not reachable yet is a normal race: tried again
                log.info(
                    "model %s of task %d not evaluated yet (try %d of %d): %s",
                    job.cid,
                    job.task_id,
                    tries,
                    MAX_TRIES,
                    exc,
                )
            else:
                log.warning(
                    "model %s of task %d cannot be evaluated (%d tries): %s",
                    job.cid,
                    job.task_id,
                    tries,
                    exc,
                )

    def _spec(self, job: EvalJob) -> ModelSpec:
        if job.task_id not in self._specs:
            raw = self.node.get(job.spec_cid, job.spec_hash, MAX_SPEC_BYTES, self.fetch_timeout_s)
            self._specs[job.task_id] = ModelSpec.from_json(raw)
        return self._specs[job.task_id]

    def _held_out(self, task_id: int, spec: ModelSpec) -> Dataset | None:
        assert self.dataset is not None
        shape = tuple(spec.input_shape)
        try:
            if shape not in self._data:
                self._data[shape] = load_bundled(self.dataset, "test", input_shape=shape)
            data = self._data[shape]
            data.check_matches(spec)
        except LedgerlearnError as exc:
            self.unfit[task_id] = f"the task's model does not fit {self.dataset}: {exc}"
            return None
        report = range_report(spec, data)
        if report is not None and not report.fits:  # e.g. a model that divides by 16 itself
            self.unfit[task_id] = (
                f"the task's model expects other values than the {self.dataset} test split: "
                f"{report.describe(self.dataset)}"
            )
            return None
        return data
