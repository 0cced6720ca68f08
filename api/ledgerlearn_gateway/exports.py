"""A task's model taken out through the gateway: its model card, and the model in the formats
people deploy (``model/export.py``), as ``ledgerlearn model card`` and ``model get`` make them.

The work runs on a participant of its own (its own index and checkpoint, synced when asked),
so a card or an export never holds the lock the read routes and the sync thread share. One
job at a time: exports cost seconds of CPU (ONNX) and cards may fetch models; a request that
finds the turn taken is answered 503 with Retry-After. Exported files are kept under
``state_dir/exports/<task>-<hash>/``: the same model is exported once.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ledgerlearn.agents.participant import Participant
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.errors import LedgerlearnError
from ledgerlearn.flows.card import ModelCard, model_card
from ledgerlearn.flows.models import NoModelError, TaskModel
from ledgerlearn.flows.registry import FLOWS
from ledgerlearn.model.export import BUNDLE_FILES, Format, write_bundle
from ledgerlearn.storage import IpfsNode

__all__ = ["ExportBusyError", "ExportedFile", "ModelExports"]


class ExportBusyError(LedgerlearnError):
    """Another card or export is being made."""


@dataclass(frozen=True)
class ExportedFile:
    """A model file ready to download."""

    path: Path
    model: TaskModel


class ModelExports:
    """Cards and exports of the tasks' models, one at a time."""

    def __init__(self, client: LedgerClient, node: IpfsNode, state: Path, fetch_timeout_s: float):
        self.folder = state / "exports"
        self.participant = Participant(
            client, node, self.folder / "reader", fetch_timeout_s=fetch_timeout_s
        )
        self._turn = threading.Lock()

    @contextmanager
    def _job(self) -> Iterator[Participant]:
        if not self._turn.acquire(blocking=False):
            raise ExportBusyError("another model card or export is being made")
        try:
            self.participant.sync()
            yield self.participant
        finally:
            self._turn.release()

    def card(self, task_id: int) -> ModelCard:
        """The task's model card as the chain stands now (its last finalized model)."""
        with self._job() as p:
            record = p.task(task_id)
            strategy = FLOWS[record.flow]
            spec = p.spec(task_id)
            model: TaskModel | None = None
            no_model = None
            try:
                model = strategy.model(p, record)
            except NoModelError as exc:
                no_model = str(exc)
            section = strategy.card_section(record, model, None)
            return model_card(record, spec, section, model, no_model=no_model, as_of_block=p.head)

    def export(self, task_id: int, fmt: Format, round_number: int | None) -> ExportedFile:
        """The task's model (``round_number``'s result, default its last finalized; a dag
        task's consensus model) as a ``fmt`` file, exported once per model and format."""
        with self._job() as p:
            record = p.task(task_id)
            model = FLOWS[record.flow].model(p, record, round=round_number)
            folder = self.folder / f"task-{task_id}-{model.content_hash.hex()[:16]}"
            path = folder / BUNDLE_FILES[fmt]
            if not path.exists():  # made aside, then moved in whole: never a partial file
                self.folder.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=self.folder, prefix=".making-") as tmp:
                    write_bundle(Path(tmp), p.spec(task_id), model.content, [fmt])
                    folder.mkdir(exist_ok=True)
                    os.replace(Path(tmp) / BUNDLE_FILES[fmt], path)
            return ExportedFile(path, model)
