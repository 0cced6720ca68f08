"""TorchScript and ONNX exports of a model (``ledgerlearn.model.export``), checked in the
runtimes people deploy with: torch's own TorchScript loader and onnxruntime (CPU, one thread).

Every ready-made spec and a spec with every allowed layer type, with seeded weights: the
exports agree with torch on 256 random inputs and on the digits test split (max |Δlogit| at
most 1e-4, the same predicted class for every sample), at batch sizes 1 and 300.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from ledgerlearn.data import load_bundled
from ledgerlearn.errors import ExportError, WeightsError
from ledgerlearn.model import ModelSpec, build, cnn_mnist, encode, export, logreg_digits, mlp_digits
from ledgerlearn.model.export import (
    Bundle,
    agreement,
    load_model,
    onnx_session,
    read_bundle,
    to_onnx,
    write_bundle,
)
from ledgerlearn.model.flatten import state_dict_to_arrays
from ledgerlearn.model.weights import NonFiniteWeightsError, WeightsFormatError
from tests.platform.model.conftest import every_layer_document

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")

MAX_DIFF = 1e-4
SPECS: dict[str, Callable[[], ModelSpec]] = {
    "logreg_digits": logreg_digits,
    "mlp_digits": mlp_digits,
    "cnn_mnist": cnn_mnist,
    "every_layer": lambda: ModelSpec.from_dict(every_layer_document()),
}


def seeded_weights(spec: ModelSpec, seed: int = 7) -> bytes:
    return encode(dict(state_dict_to_arrays(build(spec, seed=seed))), spec=spec)


@dataclass
class Written:
    spec: ModelSpec
    content: bytes
    bundle: Bundle


@pytest.fixture(scope="module", params=list(SPECS))
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Written:
    spec = SPECS[request.param]()
    content = seeded_weights(spec)
    bundle = write_bundle(tmp_path_factory.mktemp(request.param), spec, content)
    return Written(spec, content, bundle)


def random_inputs(spec: ModelSpec, n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, *spec.input_shape)).astype(np.float32)


def assert_agrees(result: export.Agreement, samples: int) -> None:
    assert result.samples == samples
    assert [f.format for f in result.formats] == ["torchscript", "onnx"]
    for f in result.formats:
        assert f.max_abs_diff <= MAX_DIFF, f
        assert f.mean_abs_diff <= f.max_abs_diff
        assert f.argmax_agreement == 1.0, f
        assert f.accuracy == result.torch_accuracy


def test_the_bundle_holds_the_on_chain_bytes_the_exports_and_their_checksums(
    written: Written,
) -> None:
    folder = written.bundle.directory
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["SHA256SUMS", "model.onnx", "model.pt", "model.safetensors", "spec.json"]
    assert (folder / "model.safetensors").read_bytes() == written.content
    assert (folder / "spec.json").read_bytes() == written.spec.to_json()
    listed = (folder / "SHA256SUMS").read_text().splitlines()
    assert len(listed) == 4
    for line in listed:
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    checked = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert [e.format for e in written.bundle.exports] == ["torchscript", "onnx"]
    assert [e.method for e in written.bundle.exports] == [
        "torch.jit.script",
        "torch.onnx.export(dynamo=True)",
    ]
    assert read_bundle(folder) == (written.spec, written.content)


def test_exports_agree_with_torch_on_random_inputs(written: Written) -> None:
    folder = written.bundle.directory
    x = random_inputs(written.spec, 256)
    result = agreement(
        written.bundle.module,
        written.spec,
        x,
        torchscript=folder / "model.pt",
        onnx=folder / "model.onnx",
    )
    assert_agrees(result, 256)
    assert result.torch_accuracy is None


def test_exports_agree_with_torch_on_the_digits_test_split(written: Written) -> None:
    if written.spec.input_shape != (64,):
        pytest.skip("the digits are 64 features; this model takes images")
    test = load_bundled("digits", "test")
    folder = written.bundle.directory
    result = agreement(
        written.bundle.module,
        written.spec,
        test.x,
        labels=test.y,
        torchscript=folder / "model.pt",
        onnx=folder / "model.onnx",
    )
    assert_agrees(result, len(test))
    assert result.torch_accuracy is not None


@pytest.mark.parametrize("batch", [1, 300])
def test_the_batch_dimension_is_dynamic(written: Written, batch: int) -> None:
    folder = written.bundle.directory
    x = random_inputs(written.spec, batch, seed=batch)
    with torch.inference_mode():
        expected = written.bundle.module(torch.from_numpy(x)).numpy()
    session = onnx_session(folder / "model.onnx")
    [onnx_out] = session.run(None, {"input": x})
    assert session.get_inputs()[0].shape[0] == "batch"
    loaded = torch.jit.load(str(folder / "model.pt"))
    with torch.inference_mode():
        script_out = loaded(torch.from_numpy(x)).numpy()
    for out in (onnx_out, script_out):
        assert out.shape == (batch, written.spec.num_classes)
        assert np.abs(out - expected).max() <= MAX_DIFF


def test_the_exports_name_the_spec_and_the_weights_they_hold(written: Written) -> None:
    folder = written.bundle.directory
    weights_sha = hashlib.sha256(written.content).hexdigest()
    model = onnx.load(str(folder / "model.onnx"))
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["ledgerlearn.spec_sha256"] == written.spec.content_hash().hex()
    assert metadata["ledgerlearn.weights_sha256"] == weights_sha
    assert model.opset_import[0].version == export.ONNX_OPSET
    extra = {"spec.json": b"", "weights.sha256": b""}
    torch.jit.load(str(folder / "model.pt"), _extra_files=extra)
    assert extra == {"spec.json": written.spec.to_json(), "weights.sha256": weights_sha.encode()}


def test_the_legacy_exporter_agrees_too(tmp_path: Path) -> None:
    spec = SPECS["every_layer"]()
    module = load_model(spec, seeded_weights(spec, seed=3))
    made = to_onnx(module, spec, tmp_path / "legacy.onnx", dynamo=False)
    assert made.method == "torch.onnx.export(dynamo=False), as asked"
    result = agreement(module, spec, random_inputs(spec, 256), onnx=made.path)
    assert result.formats[0].max_abs_diff <= MAX_DIFF
    assert result.formats[0].argmax_agreement == 1.0


def test_a_dynamo_failure_falls_back_to_the_legacy_exporter_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*args: object) -> None:
        raise RuntimeError("no translation for aten::made_up\nsecond line")

    monkeypatch.setattr(export, "_export_dynamo", refuse)
    spec = logreg_digits()
    module = load_model(spec, seeded_weights(spec))
    with caplog.at_level(logging.WARNING, logger="ledgerlearn.model.export"):
        made = to_onnx(module, spec, tmp_path / "model.onnx")
    assert made.method == (
        "torch.onnx.export(dynamo=False): the dynamo exporter failed "
        "(RuntimeError: no translation for aten::made_up)"
    )
    assert [r.getMessage() for r in caplog.records] == [f"ONNX export of model.onnx: {made.method}"]
    result = agreement(module, spec, random_inputs(spec, 32), onnx=made.path)
    assert result.formats[0].argmax_agreement == 1.0


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime", "onnxscript"])
def test_without_the_export_extra_the_error_says_how_to_install_it(
    missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if not installed
    spec = logreg_digits()
    with pytest.raises(ExportError) as caught:
        write_bundle(tmp_path / "out", spec, seeded_weights(spec), ["safetensors", "onnx"])
    message = str(caught.value)
    assert "\n" not in message
    assert f"({missing} is not installed)" in message
    assert message.endswith("pip install 'ledgerlearn[export]'")
    assert not (tmp_path / "out").exists()  # refused before anything was written
    write_bundle(tmp_path / "ts", spec, seeded_weights(spec), ["torchscript"])  # no extra needed
    assert (tmp_path / "ts" / "model.pt").is_file()


@pytest.mark.parametrize(
    ("corrupt", "error"),
    [
        (lambda good: good[:-7], WeightsFormatError),
        (lambda good: b"\x80\x04K\x01." + good, WeightsFormatError),  # a pickle in front
        (lambda good: good[:-4] + np.float32("nan").tobytes(), NonFiniteWeightsError),
    ],
    ids=["truncated", "pickle", "nan"],
)
def test_a_malformed_or_non_finite_weights_file_is_refused(
    corrupt: Callable[[bytes], bytes], error: type[WeightsError], tmp_path: Path
) -> None:
    spec = mlp_digits()
    with pytest.raises(error) as caught:
        write_bundle(tmp_path / "out", spec, corrupt(seeded_weights(spec)))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_a_bundle_whose_weights_changed_is_refused(tmp_path: Path) -> None:
    spec = logreg_digits()
    folder = write_bundle(
        tmp_path / "bundle", spec, seeded_weights(spec), ["safetensors"]
    ).directory
    assert sorted(p.name for p in folder.iterdir()) == [
        "SHA256SUMS",
        "model.safetensors",
        "spec.json",
    ]
    (folder / "model.safetensors").write_bytes(seeded_weights(spec, seed=99))
    with pytest.raises(ExportError, match=r"model.safetensors does not match its sha256"):
        read_bundle(folder)
    with pytest.raises(ExportError, match="no such folder"):
        read_bundle(tmp_path / "nowhere")


def test_inputs_that_do_not_fit_the_model_are_refused() -> None:
    spec = logreg_digits()
    wrong = np.zeros((3, 65), dtype=np.float32)
    with pytest.raises(ExportError, match=r"shape \(3, 65\).*samples of shape \(64,\)"):
        agreement(load_model(spec, seeded_weights(spec)), spec, wrong)


def test_only_the_export_module_imports_onnx() -> None:
    root = Path(__file__).resolve().parents[3]
    onnx_modules = {"onnx", "onnxruntime", "onnxscript", "onnx_ir", "torch.onnx"}

    def onnx_names(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Import):
            names = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {node.module or ""} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Attribute) and ast.unparse(node) == "torch.onnx":
            names = {"torch.onnx"}
        else:
            return set()
        return {n for n in names if n.split(".")[0] in onnx_modules or n.startswith("torch.onnx")}

    importers = set()
    scanned = 0
    for folder in ("platform/ledgerlearn", "api"):
        for path in sorted((root / folder).rglob("*.py")):
            scanned += 1
            tree = ast.parse(path.read_text(), filename=str(path))
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
            dynamic = [
                c
                for c in calls
                if ast.unparse(c.func) in {"__import__", "importlib.import_module"}
                and path.name != "export.py"
            ]
            if any(onnx_names(n) for n in ast.walk(tree)) or any(
                "onnx" in ast.unparse(c) for c in dynamic
            ):
                importers.add(str(path.relative_to(root)))
    assert scanned > 150
    assert importers == {"platform/ledgerlearn/model/export.py"}
