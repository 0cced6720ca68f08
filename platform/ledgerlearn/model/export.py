"""A learned model in the formats people deploy: TorchScript and ONNX, checked against torch.

Everything starts from the bytes the chain names (a task's safetensors weights) and its spec:
:func:`load_model` decodes them strictly (a malformed or non-finite file is refused) into the
module :func:`~ledgerlearn.model.build.build` makes for the spec, so whatever ``build`` puts in
the module (every layer, and any input preprocessing it builds in) is what gets exported: this
module never re-implements a layer or a preprocessing step.

- :func:`to_torchscript`: ``torch.jit.script`` (``torch.jit.trace`` when a module cannot be
  scripted), saved with the spec and the weights' sha256 as extra files, then loaded back and
  run once. torch 2.13 marks ``torch.jit`` deprecated (a ``DeprecationWarning`` at every call);
  TorchScript is still the format a C++ or mobile runtime loads, so the warning is caught here
  and not shown.
- :func:`to_onnx`: ``torch.onnx.export(dynamo=True)``, opset :data:`ONNX_OPSET`, one input
  ``input`` of shape ``(batch, *spec.input_shape)`` with a dynamic batch dimension, one output
  ``logits``, weights inside the file; the legacy TorchScript-based exporter only when the
  dynamo exporter fails (the result says so, with the reason). The file is checked with
  ``onnx.checker`` and run once in onnxruntime.
- :func:`agreement`: torch, TorchScript and onnxruntime (CPU execution provider, one thread)
  on the same inputs: max and mean ``|Δlogit|`` against torch, the share of equal argmaxes, and
  each one's accuracy when labels are given.
- :func:`write_bundle` / :func:`read_bundle`: a folder with ``model.safetensors`` (the exact
  on-chain bytes), ``spec.json`` (the canonical spec, whose sha256 is the on-chain spec hash),
  ``model.pt``, ``model.onnx`` and ``SHA256SUMS`` (``sha256sum -c`` reads it). Reading a
  bundle back uses only the safetensors file and the spec: nothing is unpickled or run.

This is the only module of ledgerlearn that imports ``onnx``, ``onnxruntime``, ``onnxscript``
or ``torch.onnx`` (a test checks the sources). They come with the ``export`` extra and are
imported when an ONNX function runs; without them the error says
``pip install 'ledgerlearn[export]'``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import logging
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ledgerlearn.errors import ExportError, ModelSpecError
from ledgerlearn.model.build import build
from ledgerlearn.model.flatten import load_arrays_into
from ledgerlearn.model.spec import ModelSpec
from ledgerlearn.model.weights import decode

__all__ = [
    "BUNDLE_FILES",
    "EXPORT_EXTRA",
    "FORMATS",
    "ONNX_OPSET",
    "Agreement",
    "Bundle",
    "Exported",
    "Format",
    "FormatAgreement",
    "agreement",
    "load_model",
    "onnx_session",
    "read_bundle",
    "to_onnx",
    "to_torchscript",
    "write_bundle",
]

log = logging.getLogger(__name__)

ONNX_OPSET = 18
"""The ONNX opset of every export (onnxruntime 1.16 and later run it)."""

EXPORT_EXTRA = "pip install 'ledgerlearn[export]'"
"""What installs the ONNX exporter and runtime."""

Format = Literal["safetensors", "torchscript", "onnx"]
"""A format a model is written in: the on-chain weights (with the spec), or an export."""

FORMATS: tuple[Format, ...] = ("safetensors", "torchscript", "onnx")
"""Every format, in the order a bundle is written."""

WEIGHTS_FILE = "model.safetensors"
SPEC_FILE = "spec.json"
TORCHSCRIPT_FILE = "model.pt"
ONNX_FILE = "model.onnx"
SUMS_FILE = "SHA256SUMS"

BUNDLE_FILES: dict[Format, str] = {
    "safetensors": WEIGHTS_FILE,
    "torchscript": TORCHSCRIPT_FILE,
    "onnx": ONNX_FILE,
}
"""The file each format is written to in a bundle (``spec.json`` and ``SHA256SUMS`` come with
every bundle)."""

INPUT_NAME = "input"
OUTPUT_NAME = "logits"

PROBE_SAMPLES = 2
"""Samples of the seeded batch each export is run on once it is written (not 1: the dynamic
batch dimension must not be specialised to 1)."""
PROBE_RTOL = 1e-3
PROBE_ATOL = 1e-4
"""How close an export's logits on the probe batch must be to torch's: a gross mistake fails,
the kernels' rounding does not (:func:`agreement` measures the real figures)."""

EVAL_BATCH = 1024
"""Samples per forward pass in :func:`agreement`."""


# --- the module ------------------------------------------------------------------------------


def load_model(spec: ModelSpec, content: bytes) -> nn.Module:
    """The module of ``spec`` holding the weights of ``content``, in evaluation mode.

    Parameters
    ----------
    spec
        The task's model spec.
    content
        The safetensors bytes (untrusted: decoded by :func:`~ledgerlearn.model.weights.decode`).

    Raises
    ------
    WeightsError
        The bytes are not a safetensors file of the spec's tensors, or hold NaN or infinite
        values.
    """
    arrays = decode(content, spec)
    module = build(spec, seed=0)
    load_arrays_into(module, arrays)
    module.eval()
    return module


def _probe(spec: ModelSpec) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn((PROBE_SAMPLES, *spec.input_shape), generator=generator)


def _logits(module: Any, x: torch.Tensor) -> npt.NDArray[np.float32]:
    with torch.inference_mode():
        return np.asarray(module(x).detach().numpy(), dtype=np.float32)


def _check_probe(what: str, got: npt.NDArray[np.float32], want: npt.NDArray[np.float32]) -> None:
    if got.shape != want.shape or not np.allclose(got, want, rtol=PROBE_RTOL, atol=PROBE_ATOL):
        worst = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("nan")
        raise ExportError(
            f"{what} disagrees with torch on a probe batch (shape {got.shape} vs {want.shape}, "
            f"max |difference| {worst:.3g})"
        )


# --- TorchScript -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """One exported file."""

    format: Format
    path: Path
    seconds: float
    """Wall time of the export and its checks."""
    method: str
    """How it was made (``torch.jit.script``, ``torch.onnx.export(dynamo=True)``, or a
    fallback and why)."""

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self.path.stat().st_size


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    """torch 2.13 warns that ``torch.jit`` is deprecated at every call; the formats it
    writes are still what C++ and mobile runtimes load, so the warning is not shown."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*torch\.jit")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.jit")
        yield


def to_torchscript(
    module: nn.Module, spec: ModelSpec, path: Path, *, weights_sha256: bytes | None = None
) -> Exported:
    """Write ``module`` as a TorchScript archive, load it back and run it once.

    Parameters
    ----------
    module
        The model (from :func:`load_model`), in evaluation mode.
    spec
        Its spec: stored in the archive as the extra file ``spec.json``, with the input shape
        of the probe batch.
    path
        Where to write it (``model.pt``).
    weights_sha256
        The on-chain hash of the weights, stored as the extra file ``weights.sha256``.

    Raises
    ------
    ExportError
        Neither scripting nor tracing worked, or the archive loaded back disagrees with torch.
    """
    started = time.perf_counter()
    probe = _probe(spec)
    expected = _logits(module, probe)
    extra = {SPEC_FILE: spec.to_json()}
    if weights_sha256 is not None:
        extra["weights.sha256"] = weights_sha256.hex().encode("ascii")
    with _quiet_jit():
        method = "torch.jit.script"
        try:
            compiled: Any = torch.jit.script(module)
        except Exception as exc:  # a module TorchScript's compiler does not take: trace it
            method = f"torch.jit.trace (torch.jit.script failed: {_first_line(exc)})"
            log.info("TorchScript: %s", method)
            try:
                compiled = torch.jit.trace(module, probe)  # type: ignore[no-untyped-call]
            except Exception as trace_exc:
                raise ExportError(f"TorchScript export failed: {_first_line(trace_exc)}") from None
        try:
            torch.jit.save(compiled, str(path), _extra_files=extra)
        except OSError as exc:
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
        # the file we just wrote (never a file from elsewhere)
        loaded = torch.jit.load(str(path))  # type: ignore[no-untyped-call]
    _check_probe(f"the TorchScript file {path.name}", _logits(loaded, probe), expected)
    return Exported("torchscript", path, time.perf_counter() - started, method)


# --- ONNX ------------------------------------------------------------------------------------


def _import(name: str) -> ModuleType:
    """A module of the export extra, or a one-line error saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ExportError(
            f"ONNX needs the export extra ({name} is not installed): {EXPORT_EXTRA}"
        ) from None


def onnx_session(path: Path) -> Any:
    """An onnxruntime session on ``path``: CPU execution provider, one thread."""
    ort = _import("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        raise ExportError(f"onnxruntime cannot load {path.name}: {_first_line(exc)}") from None


def _run_session(session: Any, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: np.ascontiguousarray(x)})[0], dtype=np.float32)


@contextlib.contextmanager
def _quiet_onnx() -> Iterator[None]:
    """The exporters' chatter: progress lines on stdout, log lines about torchvision operators
    they have no use for, warnings (deprecations of torch internals, the legacy exporter's own
    deprecation, its tracer's notes); a failure is an exception, never a warning."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _export_dynamo(module: nn.Module, probe: torch.Tensor, path: Path) -> None:
    _import("onnxscript")  # the dynamo exporter translates through it
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(
        module,
        (probe,),
        dynamo=True,
        dynamic_shapes=({0: batch},),
        opset_version=ONNX_OPSET,
        external_data=False,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        verbose=False,
    )
    if program is None:  # pragma: no cover - the dynamo exporter always returns its program
        raise ExportError("torch.onnx.export returned no program")
    program.save(str(path))


def _export_legacy(module: nn.Module, probe: torch.Tensor, path: Path) -> None:
    torch.onnx.export(
        module,
        (probe,),
        str(path),
        dynamo=False,
        opset_version=ONNX_OPSET,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
    )


def to_onnx(
    module: nn.Module,
    spec: ModelSpec,
    path: Path,
    *,
    weights_sha256: bytes | None = None,
    dynamo: bool = True,
) -> Exported:
    """Write ``module`` as an ONNX file with a dynamic batch dimension, check it, run it once.

    Parameters
    ----------
    module
        The model (from :func:`load_model`), in evaluation mode.
    spec
        Its spec (the input shape; stored with the weights' hash in the file's metadata as
        ``ledgerlearn.spec_sha256`` and ``ledgerlearn.weights_sha256``).
    path
        Where to write it (``model.onnx``).
    weights_sha256
        The on-chain hash of the weights.
    dynamo
        Use the dynamo exporter (the default), falling back to the legacy exporter when it
        fails; False: the legacy exporter only.

    Raises
    ------
    ExportError
        The export extra is missing, both exporters failed, or the file does not pass
        ``onnx.checker`` or disagrees with torch on the probe batch.
    """
    onnx = _import("onnx")
    _import("onnxruntime")
    started = time.perf_counter()
    probe = _probe(spec)
    expected = _logits(module, probe)
    method = "torch.onnx.export(dynamo=True)"
    with _quiet_onnx():
        failure = None
        if dynamo:
            try:
                _export_dynamo(module, probe, path)
            except ExportError:
                raise
            except Exception as exc:  # a layer the dynamo exporter cannot take
                failure = _first_line(exc)
        if not dynamo or failure is not None:
            method = "torch.onnx.export(dynamo=False)" + (
                ", as asked" if failure is None else f": the dynamo exporter failed ({failure})"
            )
            if failure is not None:
                log.warning("ONNX export of %s: %s", path.name, method)
            try:
                _export_legacy(module, probe, path)
            except Exception as exc:
                raise ExportError(f"ONNX export failed: {_first_line(exc)}") from None
    try:
        model = onnx.load(str(path))
        _set_metadata(model, spec, weights_sha256)
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # onnx.checker.ValidationError and friends
        raise ExportError(f"the ONNX file {path.name} is invalid: {_first_line(exc)}") from None
    got = _run_session(onnx_session(path), probe.numpy())
    _check_probe(f"the ONNX file {path.name}", got, expected)
    return Exported("onnx", path, time.perf_counter() - started, method)


def _set_metadata(model: Any, spec: ModelSpec, weights_sha256: bytes | None) -> None:
    entries = {"ledgerlearn.spec_sha256": spec.content_hash().hex()}
    if weights_sha256 is not None:
        entries["ledgerlearn.weights_sha256"] = weights_sha256.hex()
    for key, value in entries.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value


# --- agreement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatAgreement:
    """How one export's outputs compare with torch's on the same inputs."""

    format: Format
    max_abs_diff: float
    """Largest ``|logit - torch's logit|``."""
    mean_abs_diff: float
    """Mean ``|logit - torch's logit|`` over every sample and class."""
    argmax_agreement: float
    """Share of samples whose predicted class is torch's."""
    accuracy: float | None
    """Share of samples whose predicted class is the label (labels given)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "max_abs_diff": self.max_abs_diff,
            "mean_abs_diff": self.mean_abs_diff,
            "argmax_agreement": self.argmax_agreement,
            "accuracy": self.accuracy,
        }


@dataclass(frozen=True)
class Agreement:
    """Torch and the exports on the same inputs."""

    samples: int
    torch_accuracy: float | None
    """torch's accuracy (labels given)."""
    formats: list[FormatAgreement] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "torch_accuracy": self.torch_accuracy,
            "formats": [f.as_json() for f in self.formats],
        }


def _batched(run: Any, x: npt.NDArray[np.float32], classes: int) -> npt.NDArray[np.float32]:
    out = np.empty((x.shape[0], classes), dtype=np.float32)
    for start in range(0, x.shape[0], EVAL_BATCH):
        out[start : start + EVAL_BATCH] = run(x[start : start + EVAL_BATCH])
    return out


def agreement(
    module: nn.Module,
    spec: ModelSpec,
    x: npt.NDArray[np.float32],
    *,
    labels: npt.NDArray[np.integer[Any]] | None = None,
    torchscript: Path | None = None,
    onnx: Path | None = None,
) -> Agreement:
    """Run torch and the given exports on ``x`` and compare their logits.

    Parameters
    ----------
    module
        The model in torch (the reference).
    spec
        Its spec; ``x`` must be ``(n, *spec.input_shape)`` float32.
    x
        The inputs.
    labels
        ``(n,)`` labels: each one's accuracy is reported too.
    torchscript, onnx
        The exported files to compare (loaded from here: the files written, not the
        objects in memory). Only files this process wrote: a TorchScript archive holds
        pickled data, and nothing from the network is unpickled.

    Raises
    ------
    ExportError
        ``x`` does not fit the model, or an export cannot be loaded.
    """
    if x.dtype != np.float32 or tuple(x.shape[1:]) != tuple(spec.input_shape) or not len(x):
        raise ExportError(
            f"inputs have shape {tuple(x.shape)} and dtype {x.dtype}; the model takes float32 "
            f"samples of shape {tuple(spec.input_shape)}"
        )
    if labels is not None and labels.shape != (x.shape[0],):
        raise ExportError(f"{labels.shape[0]} labels for {x.shape[0]} samples")
    classes = spec.num_classes

    def torch_run(module: Any) -> Any:
        return lambda batch: _logits(module, torch.from_numpy(batch))

    reference = _batched(torch_run(module), x, classes)
    outputs: dict[Format, npt.NDArray[np.float32]] = {}
    if torchscript is not None:
        with _quiet_jit():
            # a file this process wrote (see the docstring)
            loaded = torch.jit.load(str(torchscript))  # type: ignore[no-untyped-call]
        outputs["torchscript"] = _batched(torch_run(loaded), x, classes)
    if onnx is not None:
        session = onnx_session(onnx)
        outputs["onnx"] = _batched(lambda batch: _run_session(session, batch), x, classes)

    def accuracy(logits: npt.NDArray[np.float32]) -> float | None:
        return None if labels is None else float(np.mean(logits.argmax(axis=1) == labels))

    expected = reference.argmax(axis=1)
    result = Agreement(len(x), accuracy(reference))
    for name, logits in outputs.items():
        diff = np.abs(logits.astype(np.float64) - reference.astype(np.float64))
        result.formats.append(
            FormatAgreement(
                format=name,
                max_abs_diff=float(diff.max()),
                mean_abs_diff=float(diff.mean()),
                argmax_agreement=float(np.mean(logits.argmax(axis=1) == expected)),
                accuracy=accuracy(logits),
            )
        )
    return result


# --- bundles ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundle:
    """A folder holding a model: its on-chain weights and spec, exports, checksums."""

    directory: Path
    files: list[Path]
    """Every file written, ``SHA256SUMS`` last."""
    exports: list[Exported]
    module: nn.Module
    """The model in torch (what the exports were made from)."""


def write_bundle(
    directory: Path,
    spec: ModelSpec,
    content: bytes,
    formats: Sequence[Format] = FORMATS,
) -> Bundle:
    """Write a model's bundle: ``model.safetensors`` (``content`` itself) and ``spec.json``
    always, ``model.pt`` and ``model.onnx`` for the formats asked, and ``SHA256SUMS``.

    Parameters
    ----------
    directory
        The folder (made when missing; files of the same names are replaced).
    spec
        The model's spec (written canonically: its sha256 is the spec's on-chain hash).
    content
        The weights' safetensors bytes (checked strictly first: a malformed or non-finite
        file is refused before anything is written).
    formats
        Which of :data:`FORMATS` to write (``safetensors`` is always written).

    Raises
    ------
    WeightsError
        ``content`` is not a valid weights file for ``spec``.
    ExportError
        An export failed, the ONNX extra is missing, or the folder cannot be written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    module = load_model(spec, content)
    if "onnx" in formats:  # before writing anything: a missing extra is known at once
        for name in ("onnx", "onnxruntime", "onnxscript"):
            _import(name)
    weights_sha256 = hashlib.sha256(content).digest()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        files = [directory / WEIGHTS_FILE, directory / SPEC_FILE]
        files[0].write_bytes(content)
        files[1].write_bytes(spec.to_json())
    except OSError as exc:
        raise ExportError(f"cannot write {directory}: {exc.strerror or exc}") from None
    exports = []
    if "torchscript" in formats:
        path = directory / TORCHSCRIPT_FILE
        exports.append(to_torchscript(module, spec, path, weights_sha256=weights_sha256))
    if "onnx" in formats:
        path = directory / ONNX_FILE
        exports.append(to_onnx(module, spec, path, weights_sha256=weights_sha256))
    files += [e.path for e in exports]
    sums = directory / SUMS_FILE
    lines = [f"{_sha256_file(p)}  {p.name}\n" for p in sorted(files, key=lambda p: p.name)]
    try:
        sums.write_text("".join(lines), encoding="ascii")
    except OSError as exc:
        raise ExportError(f"cannot write {sums}: {exc.strerror or exc}") from None
    return Bundle(directory, [*files, sums], exports, module)


def read_bundle(directory: Path) -> tuple[ModelSpec, bytes]:
    """The spec and weights of a bundle written by :func:`write_bundle`, checked against its
    ``SHA256SUMS`` (when present) and decoded strictly. Only ``spec.json`` and
    ``model.safetensors`` are read: the exports are never loaded.

    Raises
    ------
    ExportError
        A file is missing or unreadable, or differs from its checksum.
    ModelSpecError, WeightsError
        The spec or the weights are invalid.
    """
    if not directory.is_dir():
        raise ExportError(f"{directory}: no such folder (a folder written by `model get`)")
    try:
        spec_bytes = (directory / SPEC_FILE).read_bytes()
        content = (directory / WEIGHTS_FILE).read_bytes()
    except OSError as exc:
        name = Path(exc.filename).name if exc.filename else "a file"
        raise ExportError(f"{directory}: cannot read {name} ({exc.strerror or exc})") from None
    sums = directory / SUMS_FILE
    if sums.is_file():
        listed = _read_sums(sums)
        for name, data in ((SPEC_FILE, spec_bytes), (WEIGHTS_FILE, content)):
            want = listed.get(name)
            if want is not None and hashlib.sha256(data).hexdigest() != want:
                raise ExportError(f"{directory / name} does not match its sha256 in {SUMS_FILE}")
    try:
        spec = ModelSpec.from_json(spec_bytes)
    except ModelSpecError as exc:
        raise ModelSpecError(f"{directory / SPEC_FILE}: {exc}") from None
    decode(content, spec)  # refused here, with the weights' own message, when invalid
    return spec, content


def _read_sums(path: Path) -> Mapping[str, str]:
    listed: dict[str, str] = {}
    for line in path.read_text(encoding="ascii", errors="replace").splitlines()[:64]:
        digest, _, name = line.partition("  ")
        if len(digest) == 64 and name:
            listed[name.strip()] = digest.lower()
    return listed


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
