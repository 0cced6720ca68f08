"""``ledgerlearn model get/evaluate/predict/card/verify`` on a finished federation task.

Real parts: an anvil devnet, the contracts, the real agents (validators, providers, the
publisher's keeper) run to the task's end by the in-process simulation on that devnet, their
content on an IPFS node that stays up; the commands run as separate processes, each with an
IPFS node of its own that fetches from it. One task for the whole module.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.index import LedgerIndex, TaskRecord, read_index
from ledgerlearn.config import ChainSettings, DevnetSettings, StorageSettings
from ledgerlearn.core.rules import Status
from ledgerlearn.data import load_bundled
from ledgerlearn.flows.policy import Policy
from ledgerlearn.lab.results import RunResult
from ledgerlearn.lab.simulate import RunConfig, simulate
from ledgerlearn.model import ModelSpec, mlp_digits
from ledgerlearn.model.export import onnx_session
from ledgerlearn.model.weights import decode
from ledgerlearn.storage import IpfsNode
from ledgerlearn.training import predict_logits
from tests.platform.chain.conftest import free_port

torch.set_num_threads(1)

CLI = [sys.executable, "-m", "ledgerlearn.cli"]
SPEC: ModelSpec = mlp_digits()


@dataclass
class Finished:
    rpc: str
    deployment: Path
    task: TaskRecord
    index: LedgerIndex
    result: RunResult
    home: Path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    """A federation task on the digits, run to its end: 4 providers (one free rider), a
    committee of 3 (k = 2, f = 1), 2 rounds."""
    root = tmp_path_factory.mktemp("cli-model")
    config = RunConfig.preset(quick=True, simulated=True).model_copy(
        update={
            "providers": ["honest", "honest", "honest", "free_rider"],
            "validators": 3,
            "policy": Policy(
                quorum=2,
                max_faulty_validators=1,
                rounds=2,
                round_length=30,
                score_window=20,
                attest_window=20,
                score_extension=20,
            ),
        }
    )
    settings = DevnetSettings(port=free_port(), state_file=root / "devnet" / "state.json")
    with Devnet(settings, log_file=root / "devnet.log") as net:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        storage = StorageSettings(repo_dir=root / "ipfs")
        with IpfsNode(storage, handle_signals=False) as node:
            deployment = root / "deployment.json"
            result = simulate(config, chain=chain, node=node, deployment_file=deployment)
            index = read_index(LedgerClient(chain, Deployment.load(deployment)))
            task = index.tasks[result.task_id]
            assert task.closed
            yield Finished(net.rpc_url, deployment, task, index, result, root / "home")


def run(f: Finished, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "model", *args, "--rpc", f.rpc, "--deployment", str(f.deployment)],
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(f.home), "OMP_NUM_THREADS": "1", "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_clear_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit 1, one ``error:`` line naming the problem, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], errors[0]


def final_result(task: TaskRecord) -> tuple[int, bytes]:
    number = max(n for n, r in task.rounds.items() if r.result_hash is not None)
    result = task.rounds[number].result_hash
    assert result is not None
    return number, result


def test_the_card_says_what_the_chain_index_says(finished: Finished, tmp_path: Path) -> None:
    out = tmp_path / "card"
    ok(run(finished, "card", str(finished.task.task_id), "--out", str(out), "--eval-on", "digits"))
    card = json.loads((out / "card.json").read_text())
    task = finished.task
    updates = list(task.updates.values())
    assert card["updates"] == {
        "submitted": len(updates),
        "accepted": sum(u.status is Status.ACCEPTED for u in updates),
        "rejected": sum(u.status is Status.REJECTED for u in updates),
        "expired": sum(u.status is Status.EXPIRED for u in updates),
        "pending": 0,
    }
    assert card["updates"]["accepted"] >= 4 and card["updates"]["rejected"] >= 1
    assert card["providers"]["joined"] == task.providers and len(task.providers) == 4
    assert card["providers"]["contributing"] == sorted(
        {u.provider for u in updates}, key=task.providers.index
    )
    assert card["committee"] == {
        "members": list(task.params.committee),
        "quorum": 2,
        "tolerated_liars": 1,
    }
    assert card["policy"]["rounds"] == 2 and card["policy"]["aggregation_rule"] == "median"
    assert card["trained"]["parameters"] == SPEC.num_parameters()
    assert card["trained"]["spec_hash"] == "0x" + SPEC.content_hash().hex()
    number, result = final_result(task)
    assert card["model"]["content_hash"] == "0x" + result.hex()
    assert card["model"]["round"] == number
    # the receipts: every finalized round, its accepted updates in acceptance order
    receipts = card["receipts"]["rounds"]
    assert [r["round"] for r in receipts] == sorted(task.rounds)
    for receipt in receipts:
        record = task.rounds[receipt["round"]]
        assert [u["hash"] for u in receipt["accepted_updates"]] == [
            "0x" + u.hex() for u in record.accepted
        ]
        assert receipt["result"]["hash"] == "0x" + (record.result_hash or b"").hex()
        assert receipt["base_model"]["hash"] == "0x" + record.base_model_hash.hex()
        assert receipt["finalized_block"] == record.finalized_block
        assert len(receipt["attesters"]) >= 2
    # per round: the counts, and the accuracy the lab measured on the same test split
    rows = card["history"]["rows"]
    assert [row[0] for row in rows] == [0, 1, 2]
    lab_rounds = finished.result.history.rounds  # type: ignore[attr-defined]
    for row, lab in zip(rows[1:], lab_rounds, strict=True):
        record = task.rounds[row[0]]
        assert row[1:5] == [
            len(record.updates),
            lab.accepted,
            lab.rejected,
            sum(task.updates[u].status is Status.EXPIRED for u in record.updates),
        ]
        assert row[5] is not None  # the committee's median score
        assert row[6] == pytest.approx(lab.test_metric, abs=1e-9)
    assert rows[0][6] == pytest.approx(finished.result.initial_metric, abs=1e-9)
    assert card["reverify"][0] == f"ledgerlearn model verify {task.task_id}"
    markdown = (out / "card.md").read_text()
    for heading in ("## What was trained", "## Policy", "## Committee", "## Receipts"):
        assert heading in markdown
    assert "0x" + result.hex() in markdown


def test_get_writes_the_on_chain_bytes_and_exports_that_agree_in_their_runtimes(
    finished: Finished, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    task_id = str(finished.task.task_id)
    got = ok(
        run(
            finished,
            "get",
            task_id,
            "--format",
            "all",
            "--out",
            str(out),
            "--check-on",
            "digits",
            "--json",
        )
    )
    summary = json.loads(got.stdout)
    _, result = final_result(finished.task)
    content = (out / "model.safetensors").read_bytes()
    assert hashlib.sha256(content).digest() == result
    assert (out / "spec.json").read_bytes() == SPEC.to_json()
    check = summary["check"]
    assert check["samples"] == 359
    assert [f["format"] for f in check["formats"]] == ["torchscript", "onnx"]
    for figures in check["formats"]:
        assert figures["max_abs_diff"] <= 1e-4 and figures["argmax_agreement"] == 1.0
        assert figures["accuracy"] == check["torch_accuracy"]
    assert check["torch_accuracy"] == pytest.approx(finished.result.final_metric, abs=1e-9)
    print("digits test split:", json.dumps(check), json.dumps(summary["exports"]))
    print("files:", json.dumps(summary["files"]))
    # and here, in this process: onnxruntime on the file against torch on the on-chain bytes
    test = load_bundled("digits", "test")
    expected = predict_logits(SPEC, decode(content, SPEC), test.x)
    session = onnx_session(out / "model.onnx")
    [logits] = session.run(None, {"input": test.x})
    assert np.abs(logits - expected).max() <= 1e-4
    assert (logits.argmax(axis=1) == expected.argmax(axis=1)).all()
    # an earlier round, safetensors only
    first = tmp_path / "round-1"
    ok(
        run(
            finished, "get", task_id, "--round", "1", "--format", "safetensors", "--out", str(first)
        )
    )
    assert sorted(p.name for p in first.iterdir()) == [
        "SHA256SUMS",
        "model.safetensors",
        "spec.json",
    ]
    assert hashlib.sha256((first / "model.safetensors").read_bytes()).digest() == (
        finished.task.rounds[1].result_hash
    )


def test_evaluate_gives_the_metrics_of_the_final_model(finished: Finished, tmp_path: Path) -> None:
    test = load_bundled("digits", "test")
    path = tmp_path / "test.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([f"pixel{i}" for i in range(64)] + ["digit"])
        for x, y in zip(test.x, test.y, strict=True):
            writer.writerow([*(f"{v:.6g}" for v in x), int(y)])
    answer = json.loads(
        ok(
            run(finished, "evaluate", str(finished.task.task_id), "--data", str(path), "--json")
        ).stdout
    )
    assert answer["samples"] == len(test) and answer["metric"] == "accuracy"
    assert answer["metrics"]["accuracy"] == pytest.approx(finished.result.final_metric, abs=1e-9)
    assert answer["loss"] > 0 and answer["loss"] == -answer["metrics"]["negative_loss"]


def test_predict_from_the_task_and_from_a_folder(finished: Finished, tmp_path: Path) -> None:
    test = load_bundled("digits", "test")
    x = test.x[:50]
    folder = tmp_path / "model"
    task_id = str(finished.task.task_id)
    ok(run(finished, "get", task_id, "--format", "safetensors", "--out", str(folder)))
    expected = predict_logits(
        SPEC, decode((folder / "model.safetensors").read_bytes(), SPEC), x
    ).argmax(axis=1)
    np.savez(tmp_path / "unlabelled.npz", x=x)
    ok(
        run(
            finished,
            "predict",
            task_id,
            "--data",
            str(tmp_path / "unlabelled.npz"),
            "--out",
            str(tmp_path / "preds.csv"),
        )
    )
    with (tmp_path / "preds.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["class"]) for r in rows] == expected.tolist()
    assert all(abs(sum(float(r[f"p{c}"]) for c in range(10)) - 1) < 1e-4 for r in rows)
    # a folder from `model get`, a CSV of pixels without labels
    np.savetxt(tmp_path / "pixels.csv", x, delimiter=",", fmt="%.6g")
    ok(
        run(
            finished,
            "predict",
            "--model",
            str(folder),
            "--data",
            str(tmp_path / "pixels.csv"),
            "--out",
            str(tmp_path / "preds.json"),
        )
    )
    document = json.loads((tmp_path / "preds.json").read_text())
    assert [p["class"] for p in document["predictions"]] == expected.tolist()
    assert document["model"] == {"folder": str(folder)}


def test_the_committees_aggregates_are_recomputed(finished: Finished) -> None:
    answer = json.loads(ok(run(finished, "verify", str(finished.task.task_id), "--json")).stdout)
    checks = answer["checks"]
    assert [c["what"] for c in checks] == ["round 1's result", "round 2's result"]
    assert all(c["ok"] and c["recomputed"] == c["recorded"] for c in checks), checks


def test_mistakes_are_one_line_errors(finished: Finished, tmp_path: Path) -> None:
    task_id = str(finished.task.task_id)
    out = str(tmp_path / "out")
    assert_clear_error(
        run(finished, "get", "99", "--out", out), "task 99 is not published on this chain"
    )
    assert_clear_error(
        run(finished, "get", task_id, "--round", "3", "--out", out),
        f"task {task_id} has rounds 1 to 2, not 3",
    )
    np.savez(tmp_path / "wide.npz", x=np.zeros((3, 65), np.float32), y=np.zeros(3, np.int64))
    assert_clear_error(
        run(finished, "evaluate", task_id, "--data", str(tmp_path / "wide.npz")),
        "samples have 65 values",
        "input_shape [64]",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "1", "--data", "{tmp}/missing.csv"], "missing.csv: no such file (give "),
        (["predict", "1", "--data", "digits", "--out", "{tmp}/p.txt"], "a .csv or .json file"),
        (
            ["predict", "--model", "{tmp}/nowhere", "--data", "digits", "--out", "{tmp}/p.csv"],
            "nowhere: no such folder",
        ),
        (
            ["predict", "1", "--model", "{tmp}", "--data", "digits", "--out", "{tmp}/p.csv"],
            "give a TASK or --model DIR (one of them)",
        ),
    ],
)
def test_mistakes_found_before_reading_the_chain(
    args: list[str], message: str, tmp_path: Path
) -> None:
    """Refused before anything is read (here in-process: no chain, no IPFS node is needed)."""
    from typer.testing import CliRunner

    from ledgerlearn.cli import app

    given = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(app, ["model", *given, "--rpc", "http://127.0.0.1:9"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
