"""``ledgerlearn model ...``: take a task's learned model out and use it.

Every command reads the chain (no key needed) and fetches what it needs from the members' IPFS
nodes through a reader of its own (:mod:`ledgerlearn.cli.reader`), checking every byte against
the hash the chain records. Which model is a task's, its flow decides
(:meth:`~ledgerlearn.flows.base.FlowStrategy.model`): a federation round's finalized result
(``--round N``, default the last), a dag task's consensus model (as of ``--at-block B``, default
now).

- ``model get TASK --format safetensors|torchscript|onnx|all --out DIR [--check-on D]``: the
  model as ``model.safetensors`` (the on-chain bytes) with ``spec.json``, plus TorchScript and
  ONNX exports and ``SHA256SUMS``; ``--check-on digits|mnist|FILE`` runs the exports in their
  runtimes against torch on that data;
- ``model evaluate TASK --data D``: the model's metrics on a labelled data file;
- ``model predict (TASK | --model DIR) --data FILE --out preds.csv|.json``: predicted classes
  and probabilities;
- ``model card TASK [--out DIR]``: ``card.md`` and ``card.json`` (what was trained, the policy,
  the committee, the providers, the decisions, per-round figures, the receipts);
- ``model verify TASK``: every result recomputed from the updates the chain names.

Progress goes to standard error, results to standard output; a mistake (unknown task, round not
finalized, missing file, data of the wrong shape) is one ``error:`` line.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ledgerlearn.cli.common import (
    DeploymentOpt,
    RpcOpt,
    clear_errors,
    console,
    err,
    fail,
    ledger_client,
    setup_logging,
)
from ledgerlearn.cli.reader import reader
from ledgerlearn.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ledgerlearn.agents.participant import Participant
    from ledgerlearn.chain.index import TaskRecord
    from ledgerlearn.flows.base import FlowStrategy
    from ledgerlearn.flows.models import TaskModel
    from ledgerlearn.model import ModelSpec

__all__ = ["model_app"]

model_app = typer.Typer(
    help="A task's learned model: get it (safetensors, TorchScript, ONNX), evaluate it, "
    "predict with it, its model card.",
    no_args_is_help=True,
)

TaskArg = Annotated[int, typer.Argument(min=1, help="The task.", show_default=False)]
RoundOpt = Annotated[
    int | None,
    typer.Option(
        "--round", min=1, help="Federation: this round's result (default: the last finalized)."
    ),
]
AtBlockOpt = Annotated[
    int | None,
    typer.Option(
        "--at-block",
        min=0,
        help="The model as of this block (dag: the consensus model then; federation: the last "
        "round finalized by then). Default: now.",
    ),
]
IpfsOpt = Annotated[
    Path | None, typer.Option(help="IPFS repository to use (default: a temporary one).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
FormatName = Literal["safetensors", "torchscript", "onnx", "all"]

BUNDLED = ("digits", "mnist")
DATA_HELP = (
    "digits or mnist (the bundled test split), or a .npz (arrays x, y) or .csv (label last) file"
)


def progress(message: str) -> None:
    """One line of progress on standard error."""
    err.print(f"[dim]{message}[/]", highlight=False)


@dataclass
class Source:
    """Where the commands read from."""

    deployment: Path | None
    rpc: str | None
    ipfs_repo: Path | None


@contextmanager
def _reading(source: Source) -> Iterator[Participant]:
    progress("reading the chain and dialling the members' IPFS nodes...")
    client = ledger_client(source.deployment, source.rpc)
    with reader(client, source.ipfs_repo) as participant:
        progress(
            f"synced to block {participant.head}; {len(participant.index.members)} members "
            "registered"
        )
        yield participant


def _task(participant: Participant, task_id: int) -> tuple[TaskRecord, FlowStrategy]:
    from ledgerlearn.flows.registry import FLOWS

    task = participant.task(task_id)  # AgentError: not published on this chain
    return task, FLOWS[task.flow]


def _model(
    participant: Participant, task_id: int, round: int | None, at_block: int | None
) -> tuple[TaskRecord, ModelSpec, TaskModel]:
    task, strategy = _task(participant, task_id)
    spec = participant.spec(task_id)
    what = "computing its consensus model" if strategy.has_graph else "fetching its model"
    progress(f"task {task_id} ({strategy.name}): {what} from the members' IPFS nodes...")
    started = time.perf_counter()
    model = strategy.model(participant, task, round=round, block=at_block)
    progress(
        f"{model.source}: {len(model.content):,} bytes, sha256 0x{model.content_hash.hex()} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return task, spec, model


@dataclass
class Samples:
    """Data to run a model on."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64] | None
    name: str


def _samples(spec: ModelSpec, data: str, *, labels: bool) -> Samples:
    """The bundled test split or a file, shaped for ``spec`` (with labels when ``labels``)."""
    from ledgerlearn.data import load_bundled, load_features, load_file

    if data in BUNDLED:
        test = load_bundled(data, "test", input_shape=spec.input_shape)
        return Samples(test.x, test.y, f"the {data} test split ({len(test)} samples)")
    path = Path(data).expanduser()
    if labels:
        found = load_file(path, num_classes=spec.num_classes, input_shape=spec.input_shape)
        return Samples(found.x, found.y, f"{path} ({len(found)} samples)")
    features = load_features(path, num_classes=spec.num_classes, input_shape=spec.input_shape)
    return Samples(features.x, features.y, f"{path} ({len(features.x)} samples)")


def _check_data(data: str | None) -> None:
    """Refuse a data file that is not there before reading the chain."""
    if data is not None and data not in BUNDLED and not Path(data).expanduser().is_file():
        fail(f"{data}: no such file (give {', '.join(BUNDLED)} or a .npz or .csv file)")


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value))


# --- model get ---------------------------------------------------------------------------------


@model_app.command("get")
def get(
    task: TaskArg,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model to.")],
    format: Annotated[
        FormatName,
        typer.Option(
            "--format",
            help="safetensors (the on-chain bytes, with spec.json), torchscript or onnx (each "
            "also writes the safetensors and spec), or all.",
        ),
    ] = "all",
    round: RoundOpt = None,
    at_block: AtBlockOpt = None,
    check_on: Annotated[
        str | None,
        typer.Option(
            "--check-on",
            help="Compare the exports with torch on this data: " + DATA_HELP + ".",
        ),
    ] = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    ipfs_repo: IpfsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a task's model out: safetensors with its spec, TorchScript, ONNX."""
    setup_logging()
    _check_data(check_on)
    with clear_errors(), _reading(Source(deployment, rpc, ipfs_repo)) as participant:
        from ledgerlearn.model.export import FORMATS, Format, agreement, write_bundle

        _, spec, model = _model(participant, task, round, at_block)
        formats: list[Format] = list(FORMATS) if format == "all" else ["safetensors", format]
        exports = [f for f in formats if f != "safetensors"]
        if exports:
            progress(f"exporting {' and '.join(exports)} (a few seconds each)...")
        bundle = write_bundle(out, spec, model.content, formats)
        for made in bundle.exports:
            progress(f"{made.path.name}: {made.method}, {made.seconds:.1f} s")
        check = None
        if check_on is not None:
            samples = _samples(spec, check_on, labels=False)
            progress(f"comparing the exports with torch on {samples.name}...")
            paths = {e.format: e.path for e in bundle.exports}
            check = agreement(
                bundle.module,
                spec,
                samples.x,
                labels=samples.y,
                torchscript=paths.get("torchscript"),
                onnx=paths.get("onnx"),
            )
        summary: dict[str, Any] = {
            "model": model.as_json(),
            "out": str(out),
            "files": [
                {"name": p.name, "bytes": p.stat().st_size}
                for p in sorted(bundle.files, key=lambda p: p.name)
            ],
            "exports": [
                {"format": e.format, "method": e.method, "seconds": round_s(e.seconds)}
                for e in bundle.exports
            ],
            "check": None if check is None else {"data": check_on, **check.as_json()},
        }
        if as_json:
            _print_json(summary)
            return
        console.print(f"task {task}: {model.source}")
        console.print(f"written to {out}:")
        for item in summary["files"]:
            console.print(f"  {item['name']:<18} {item['bytes']:>12,} bytes")
        if check is not None:
            accuracy = (
                f" (torch: accuracy {check.torch_accuracy:.4f})"
                if check.torch_accuracy is not None
                else ""
            )
            console.print(f"against torch on {check_on}, {check.samples} samples{accuracy}:")
            for f in check.formats:
                line = (
                    f"  {f.format:<12} max |Δlogit| {f.max_abs_diff:.3g}, mean "
                    f"{f.mean_abs_diff:.3g}, same class {100 * f.argmax_agreement:.2f}%"
                )
                if f.accuracy is not None:
                    line += f", accuracy {f.accuracy:.4f}"
                console.print(line)


def round_s(seconds: float) -> float:
    return round(seconds, 2)


# --- model evaluate ----------------------------------------------------------------------------


@model_app.command("evaluate")
def evaluate_command(
    task: TaskArg,
    data: Annotated[str, typer.Option("--data", help=DATA_HELP + ".")],
    round: RoundOpt = None,
    at_block: AtBlockOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    ipfs_repo: IpfsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A task's model on your labelled data: its metrics (accuracy, macro-F1, loss)."""
    setup_logging()
    _check_data(data)
    with clear_errors(), _reading(Source(deployment, rpc, ipfs_repo)) as participant:
        from ledgerlearn.data import Dataset
        from ledgerlearn.model.weights import decode
        from ledgerlearn.training import METRICS_BY_ID, evaluate_all

        record, spec, model = _model(participant, task, round, at_block)
        samples = _samples(spec, data, labels=True)
        assert samples.y is not None
        dataset = Dataset(samples.x, samples.y, spec.num_classes, samples.name)
        metrics = evaluate_all(spec, decode(model.content, spec), dataset)
        metric = METRICS_BY_ID[int(record.params.metric)].name
        result = {
            "model": model.as_json(),
            "data": samples.name,
            "samples": len(dataset),
            "metric": metric,
            "metrics": metrics,
            "loss": -metrics["negative_loss"],
        }
        if as_json:
            _print_json(result)
            return
        console.print(f"task {task}: {model.source}")
        console.print(
            f"on {samples.name}: accuracy {metrics['accuracy']:.4f}, macro-F1 "
            f"{metrics['macro_f1']:.4f}, loss {result['loss']:.4f} (the task's metric: {metric})"
        )


# --- model predict -----------------------------------------------------------------------------


@model_app.command("predict")
def predict(
    task: Annotated[
        int | None,
        typer.Argument(
            min=1, help="The task whose model predicts (or --model).", show_default=False
        ),
    ] = None,
    *,
    data: Annotated[
        str,
        typer.Option(
            "--data",
            help="Samples to predict: digits or mnist (the bundled test split), or a .npz "
            "(array x, and y if you have labels) or .csv (the model's input values per line, "
            "and the label last if you have one) file.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Predictions: a .csv or .json file.")],
    model_dir: Annotated[
        Path | None,
        typer.Option("--model", help="A folder written by `model get` (instead of TASK)."),
    ] = None,
    round: RoundOpt = None,
    at_block: AtBlockOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    ipfs_repo: IpfsOpt = None,
) -> None:
    """Predict with a task's model (or a folder from `model get`): classes and probabilities."""
    setup_logging()
    if (task is None) == (model_dir is None):
        fail("give a TASK or --model DIR (one of them)")
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".json"):
        fail(f"--out {out}: write predictions to a .csv or .json file")
    _check_data(data)
    with clear_errors():
        from ledgerlearn.model.export import read_bundle

        if model_dir is not None:
            spec, content = read_bundle(model_dir.expanduser())
            described: dict[str, Any] = {"folder": str(model_dir)}
        else:
            assert task is not None
            with _reading(Source(deployment, rpc, ipfs_repo)) as participant:
                _, spec, model = _model(participant, task, round, at_block)
                content, described = model.content, model.as_json()
        samples = _samples(spec, data, labels=False)
        classes, probabilities = _predict(spec, content, samples.x)
        _write_predictions(out, classes, probabilities, samples.y, described, samples.name)
        line = f"{len(classes)} predictions for {samples.name} written to {out}"
        if samples.y is not None:
            line += f"; accuracy against its labels {float((classes == samples.y).mean()):.4f}"
        console.print(line)


def _predict(
    spec: ModelSpec, content: bytes, x: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    import numpy as np

    from ledgerlearn.model.weights import decode
    from ledgerlearn.training import predict_logits

    logits = predict_logits(spec, decode(content, spec), x).astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return logits.argmax(axis=1).astype(np.int64), probabilities


def _write_predictions(
    out: Path,
    classes: npt.NDArray[np.int64],
    probabilities: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64] | None,
    model: dict[str, Any],
    data: str,
) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".json":
            rows = [
                {
                    "sample": i,
                    "class": int(c),
                    "probabilities": [round(float(p), 6) for p in probabilities[i]],
                    **({"label": int(labels[i])} if labels is not None else {}),
                }
                for i, c in enumerate(classes)
            ]
            document = {"model": model, "data": data, "predictions": rows}
            out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
            return
        with out.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            header = ["sample", "class"] + [f"p{c}" for c in range(probabilities.shape[1])]
            writer.writerow([*header, *(["label"] if labels is not None else [])])
            for i, c in enumerate(classes):
                row = [i, int(c), *(f"{p:.6f}" for p in probabilities[i])]
                writer.writerow([*row, *([int(labels[i])] if labels is not None else [])])
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None


# --- model card --------------------------------------------------------------------------------


@model_app.command("card")
def card(
    task: TaskArg,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write card.md and card.json into this folder (default: print card.md)."
        ),
    ] = None,
    eval_on: Annotated[
        str | None,
        typer.Option(
            "--eval-on", help="Evaluate the task's models on this data: " + DATA_HELP + "."
        ),
    ] = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    ipfs_repo: IpfsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A task's model card: what was trained, by whom, how it was decided, the receipts."""
    setup_logging()
    _check_data(eval_on)
    with clear_errors(), _reading(Source(deployment, rpc, ipfs_repo)) as participant:
        from ledgerlearn.flows.card import model_card
        from ledgerlearn.flows.models import NoModelError

        record, strategy = _task(participant, task)
        spec = participant.spec(task)
        model: TaskModel | None = None
        no_model = None
        try:
            _, _, model = _model(participant, task, None, None)
        except NoModelError as exc:
            no_model = str(exc)
        evaluate = None
        data_name = None
        if eval_on is not None:
            samples = _samples(spec, eval_on, labels=True)
            data_name = samples.name
            evaluate = _evaluator(participant, record, spec, model, samples)
        section = strategy.card_section(record, model, evaluate)
        made = model_card(
            record,
            spec,
            section,
            model,
            no_model=no_model,
            as_of_block=participant.head,
            evaluated_on=data_name,
        )
        if out is not None:
            try:
                out.mkdir(parents=True, exist_ok=True)
                (out / "card.json").write_text(made.dumps(), encoding="utf-8")
                (out / "card.md").write_text(made.to_markdown(), encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
        if as_json:
            _print_json(made.as_json())
        elif out is None:
            console.print(made.to_markdown(), markup=False, highlight=False)
        else:
            console.print(f"task {task}: card.md and card.json written to {out}")


def _evaluator(
    participant: Participant,
    task: TaskRecord,
    spec: ModelSpec,
    model: TaskModel | None,
    samples: Samples,
) -> Any:
    """The task's metric of any of its models on ``samples``, fetched as needed, cached."""
    from ledgerlearn.data import Dataset
    from ledgerlearn.model.weights import decode
    from ledgerlearn.training import METRICS_BY_ID, evaluate

    assert samples.y is not None
    dataset = Dataset(samples.x, samples.y, spec.num_classes, samples.name)
    metric = METRICS_BY_ID[int(task.params.metric)]
    known = {model.content_hash: model.content} if model is not None else {}
    cache: dict[bytes, float] = {}

    def metric_of(content_hash: bytes) -> float:
        if content_hash not in cache:
            content = known.get(content_hash)
            if content is None:
                progress(f"fetching 0x{content_hash.hex()[:12]} to evaluate it...")
                content = participant.fetch_model(task.task_id, content_hash)
            cache[content_hash] = evaluate(spec, decode(content, spec), dataset, metric)
        return cache[content_hash]

    return metric_of


# --- model verify ------------------------------------------------------------------------------


@model_app.command("verify")
def verify(
    task: TaskArg,
    round: RoundOpt = None,
    at_block: AtBlockOpt = None,
    deployment: DeploymentOpt = None,
    rpc: RpcOpt = None,
    ipfs_repo: IpfsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute a task's models from the updates the chain names, as its committee did."""
    setup_logging()
    with clear_errors(), _reading(Source(deployment, rpc, ipfs_repo)) as participant:
        record, strategy = _task(participant, task)
        progress(f"task {task} ({strategy.name}): recomputing from the accepted updates...")
        checks = strategy.verify(participant, record, round=round, block=at_block)
        if as_json:
            _print_json({"task": task, "checks": [c.as_json() for c in checks]})
        else:
            for check in checks:
                mark = "ok" if check.ok else "MISMATCH"
                recorded = (
                    f"recorded 0x{check.recorded.hex()}" if check.recorded else "no record on chain"
                )
                console.print(
                    f"{mark:<8} {check.what}: recomputed 0x{check.recomputed.hex()}, {recorded} "
                    f"({check.how})"
                )
        wrong = [c.what for c in checks if not c.ok]
        if wrong:
            fail(f"task {task}: {', '.join(wrong)} do(es) not match the recomputation")
