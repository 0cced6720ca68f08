"""What the publishing and providing commands read: the committee, the model spec and initial
weights, the validation data and a provider's data, from files or the bundled datasets.

Bundled datasets (``--dataset``): the publisher keeps a seeded share of the training split as
its validation set (:data:`BUNDLED_VALIDATION_FRACTION`, seed :data:`BUNDLED_SPLIT_SEED`) and
providers partition the rest, so validation and training data never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from ledgerlearn.cli.common import one_of
from ledgerlearn.errors import ConfigError

if TYPE_CHECKING:
    from ledgerlearn.data import Dataset
    from ledgerlearn.model import ModelSpec

PresetName = Literal["mlp_digits", "logreg_digits", "cnn_mnist"]
"""The ready-made model specs (:mod:`ledgerlearn.model.presets`)."""

BUNDLED_VALIDATION_FRACTION: dict[str, float] = {"digits": 0.3, "mnist": 0.05}
"""Share of a bundled dataset's training split the publisher keeps as validation data."""

BUNDLED_SPLIT_SEED = 0
"""Seed of that split (fixed: publisher and providers must agree on it)."""


def committee(text: str | None, *, drawn: int = 0) -> list[str]:
    """The ``--committee`` addresses, checksummed; refuses none, a bad one and a repeated one.
    With ``drawn`` (the policy's draw size) the committee is drawn: it refuses any."""
    from ledgerlearn.addresses import AddressError, parse_address

    members = [part.strip() for part in (text or "").split(",") if part.strip()]
    if drawn:
        if members:
            raise ConfigError(
                f"--committee: the policy draws a committee of {drawn} from the validators' "
                "pool (--draw-size): name no committee"
            )
        return []
    if not members:
        raise ConfigError(
            "--committee: give the validators' addresses, comma separated (or, on a "
            "consortium, --draw-size N to draw the committee from the validators' pool)"
        )
    checksummed: list[str] = []
    for member in members:
        try:
            checksummed.append(parse_address(member))
        except AddressError as exc:
            raise ConfigError(f"--committee: {exc}") from None
    if len(set(checksummed)) != len(checksummed):
        raise ConfigError("--committee: an address appears twice")
    return checksummed


def model_spec(path: Path | None, preset: str | None) -> ModelSpec:
    """The model spec of ``--spec FILE`` or ``--preset NAME``."""
    from ledgerlearn.model import ModelSpec, presets

    if path is not None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--spec {path}: cannot read it ({exc.strerror or exc})") from None
        return ModelSpec.from_json(raw)
    factory: Callable[[], ModelSpec] = getattr(presets, str(preset))
    return factory()


def initial_weights(path: Path | None, spec: ModelSpec) -> dict[str, object] | None:
    """The ``--weights`` file decoded against ``spec`` (None: the publisher draws them)."""
    if path is None:
        return None
    from ledgerlearn.errors import WeightsError
    from ledgerlearn.model.weights import decode

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--weights {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return dict(decode(data, spec))
    except WeightsError as exc:
        raise WeightsError(f"--weights {path}: {exc}") from None


def bundled(name: str, spec: ModelSpec) -> tuple[Dataset, Dataset]:
    """(training pool, validation share) of a bundled dataset, shaped for ``spec``."""
    from ledgerlearn.data import DatasetError, load_bundled

    try:
        train = load_bundled(name, "train", input_shape=spec.input_shape)
    except DatasetError as exc:
        raise DatasetError(f"--dataset {name} does not fit the task's model: {exc}") from None
    pool, validation = train.split(BUNDLED_VALIDATION_FRACTION[name], seed=BUNDLED_SPLIT_SEED)
    return pool, validation


def csv_only(header: bool | None, path: Path | None, option: str) -> None:
    """Refuse ``--header/--no-header`` unless ``option`` names a .csv file."""
    if header is not None and (path is None or path.suffix.lower() != ".csv"):
        raise typer.BadParameter(f"--header/--no-header apply to a .csv {option} file")


def validation_data(
    path: Path | None,
    dataset: str | None,
    spec: ModelSpec,
    header: bool | None = None,
    notice: Callable[[str], None] | None = None,
) -> Dataset:
    """The publisher's validation data: ``--validation FILE`` (``header``: whether a CSV's
    line 1 is a header; how the file was read goes to ``notice``) or a bundled dataset's
    share."""
    from ledgerlearn.data import load_file

    csv_only(header, path, "--validation")
    if path is not None:
        data = load_file(
            path,
            num_classes=spec.num_classes,
            input_shape=spec.input_shape,
            header=header,
            notice=notice,
        )
    else:
        _, data = bundled(str(dataset), spec)
    data.check_matches(spec)
    return data


def provider_source(
    data: Path | None,
    dataset: str | None,
    part: str | None,
    partition: str,
    alpha: float,
    header: bool | None = None,
    notice: Callable[[str], None] | None = None,
) -> Callable[[ModelSpec, int], Dataset]:
    """Check a provider's data options now; the data are loaded once the task's spec is
    known (the callable takes the spec and the partition seed). ``header`` says whether a
    CSV's line 1 is a header (None: detect it); how the file was read goes to ``notice``."""
    one_of(data, dataset, "--data FILE and --dataset NAME")
    csv_only(header, data, "--data")
    if data is not None and part is not None:
        raise typer.BadParameter("--part applies to --dataset, not --data")
    if data is None and part is None:
        raise typer.BadParameter("--dataset needs --part I/N (which of N parts is yours)")
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", part or "1/1")
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise typer.BadParameter(f"{part!r}: expected I/N with 1 <= I <= N, e.g. 2/5")
    index, count = int(match[1]), int(match[2])

    import dataclasses

    from ledgerlearn.data import DirichletPartitioner, IidPartitioner, ShardPartitioner, load_file

    if data is not None:
        path = data

        def from_file(spec: ModelSpec, _: int) -> Dataset:
            return load_file(
                path,
                num_classes=spec.num_classes,
                input_shape=spec.input_shape,
                header=header,
                notice=notice,
            )

        return from_file
    partitioner: IidPartitioner | DirichletPartitioner | ShardPartitioner
    if partition == "dirichlet":
        partitioner = DirichletPartitioner(alpha=alpha)
    elif partition == "shard":
        partitioner = ShardPartitioner()
    else:
        partitioner = IidPartitioner()
    name = str(dataset)

    def from_bundled(spec: ModelSpec, seed: int) -> Dataset:
        pool, _ = bundled(name, spec)
        mine = pool.partition(partitioner, count, seed=seed)[index - 1]
        return dataclasses.replace(mine, name=f"{name} part {index}/{count}, {partition}")

    return from_bundled


ApproveOpt = Annotated[
    bool | None,
    typer.Option("--approve/--reject", help="Your decision.", show_default=False),
]
"""A vetting vote's decision (``validator vet``, ``api vet``)."""
ReasonOpt = Annotated[str, typer.Option(help="Why (on chain, at most 280 bytes).")]
"""A vetting vote's reason."""


def vote(approve: bool | None, reason: str) -> tuple[bool, str]:
    """A vetting vote from the command line: the decision and the reason, checked (one line
    naming the option otherwise)."""
    text = reason.strip()
    if approve is None:
        raise ConfigError("give --approve or --reject")
    if not text or len(text.encode()) > 280:
        raise ConfigError("give --reason: why, in 1 to 280 bytes (it goes on chain with the vote)")
    return approve, text
