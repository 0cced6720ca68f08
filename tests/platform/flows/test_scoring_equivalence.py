"""The one scoring pipeline gives the same (score, reason) as the two it replaces.

The old bodies (``Validator._score`` for a federation round, ``DagScorer.score`` for a dag
batch) run on a real validator (py-evm chain, IPFS node); the new pipeline
(:func:`~ledgerlearn.flows.scoring.score_updates`) runs on the same inputs with each flow's
reference and sanity policy. Inputs: withheld, too large, a hash mismatch, NaN, a pickle, a
free rider, a copy, a sign flip, a scaled update; rounds of 1, 2 and 5 honest peers; every
threshold mode; sanity on and off; consecutive rounds and batches (the sanity context).
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import torch
from eth_account import Account

from ledgerlearn.agents.dag_scoring import DagScorer
from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.validator import HISTORY as OLD_HISTORY
from ledgerlearn.agents.validator import ScoreRecord, Validator
from ledgerlearn.aggregation import RULE_NAMES
from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import deploy
from ledgerlearn.chain.index import RoundRecord, TaskRecord, UpdateRecord
from ledgerlearn.chain.types import Flow, TaskParams, ThresholdMode, to_fixed
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.core.sanity import SanityVerdict, check_changes
from ledgerlearn.core.types import Vector, Weights
from ledgerlearn.data import Dataset, load_bundled
from ledgerlearn.errors import (
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    LedgerlearnError,
)
from ledgerlearn.flows.dag import HISTORY as DAG_HISTORY
from ledgerlearn.flows.dag import merge_models, parents_reference
from ledgerlearn.flows.federation import HISTORY, round_reference, round_sanity
from ledgerlearn.flows.scoring import score_updates
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn.storage import IpfsNode
from ledgerlearn.storage.content import sha256_digest
from ledgerlearn.training import METRICS_BY_ID, TrainingConfig, evaluate, train

torch.set_num_threads(1)
SPEC = logreg_digits()
METRIC = METRICS_BY_ID[0]
Contents = dict[bytes, bytes | LedgerlearnError]


@pytest.fixture(scope="module")
def fragment() -> Dataset:
    return load_bundled("digits", "test").subset(range(150))


@pytest.fixture(scope="module")
def shards() -> list[Dataset]:
    train_set = load_bundled("digits", "train")
    return [train_set.subset(range(i * 120, (i + 1) * 120)) for i in range(8)]


@pytest.fixture
def member(tmp_path: Path, fragment: Dataset) -> Iterator[tuple[Validator, IpfsNode]]:
    chain = connect(ChainSettings())
    admin = Account.create()
    chain.fund(admin.address, 10**18)
    deployment = deploy(chain, admin, admin_delay_s=0)
    account = Account.create()
    with IpfsNode(StorageSettings(repo_dir=tmp_path / "ipfs")) as node:
        participant = Participant(LedgerClient(chain, deployment, account), node, tmp_path)
        participant._specs[1] = SPEC  # the task's spec, as if fetched and checked
        validator = Validator(participant, bytes(account.key))
        validator._fragments[1] = fragment  # as if fetched and decrypted
        yield validator, node


def trained(start: Weights, data: Dataset, seed: int) -> Weights:
    config = TrainingConfig(epochs=1, lr=0.1, seed=seed)
    return dict(train(SPEC, data, config, initial=start))


def attacks(base: Weights, honest: list[Weights]) -> Contents:
    """Every kind of bad update, derived from a round's base and honest updates."""
    flat = flatten(base, SPEC)
    first, second = (flatten(h, SPEC) for h in honest[:2])
    nan = {k: np.ascontiguousarray(v).copy() for k, v in honest[0].items()}
    nan[next(iter(nan))].flat[0] = np.nan
    noise = np.random.default_rng(5).normal(0, 1e-7, flat.size).astype(np.float32)

    def content(vector: Vector) -> bytes:
        return encode(unflatten(vector, SPEC), spec=SPEC)

    return {
        b"withheld": ContentUnavailableError("no peer has cid-w before the deadline"),
        b"too large": ContentTooLargeError("cid-l is larger than 9000 bytes"),
        b"mismatch": ContentHashMismatchError("cid-m does not match its hash"),
        b"nan": bytes(safetensors.numpy.save(nan)),
        b"pickle": pickle.dumps({"weights": [1, 2, 3]}),
        b"free rider": content(flat + noise),
        b"copy": content(first + 1e-7),
        b"sign flip": content(flat - (second - flat)),
        b"scaled": content(flat + 30 * (second - flat)),
    }


def as_map(records: dict[bytes, ScoreRecord]) -> dict[bytes, tuple[int, str]]:
    return {u: (r.score, r.reason) for u, r in records.items()}


def assert_labels(reasons: dict[bytes, str], sanity: bool) -> None:
    """Each kind of bad update failed for its own reason (the inputs reach every path)."""
    assert reasons[b"withheld"].startswith("unavailable: ")
    for kind in (b"too large", b"mismatch", b"nan", b"pickle"):
        assert reasons[kind].startswith("invalid: "), (kind, reasons[kind])
    if sanity:
        assert reasons[b"free rider"].startswith("free rider")
        assert reasons[b"copy"].startswith("near-duplicate")
        assert reasons[b"sign flip"].startswith("reversed")
        assert reasons[b"scaled"].startswith("norm outlier")
    else:
        assert all(reasons[k] == "" for k in (b"free rider", b"copy", b"sign flip", b"scaled"))


def federation_task(mode: ThresholdMode, threshold: float) -> TaskRecord:
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="weights",
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        quorum=1,
        max_faulty_validators=0,
        threshold=to_fixed(threshold),
        threshold_mode=mode,
    )
    return TaskRecord(1, "publisher", params, 0)


@pytest.mark.parametrize("sanity", [True, False])
@pytest.mark.parametrize("mode", list(ThresholdMode))
def test_a_federation_round_scores_as_before(
    member: tuple[Validator, IpfsNode],
    fragment: Dataset,
    shards: list[Dataset],
    mode: ThresholdMode,
    sanity: bool,
) -> None:
    old, _ = member
    old.sanity = sanity
    task = federation_task(mode, -0.25)
    base = dict(state_dict_to_arrays(build(SPEC, seed=0)))
    history: tuple[int, list[Vector]] | None = None  # the new pipeline's caller state
    compared = 0
    # rounds of 5, 1 and 2 honest peers (the lone rules and the context), the first with
    # every kind of bad update, the second with a free rider next to its lone update
    for number, peers in ((1, 5), (2, 1), (3, 2)):
        honest = [
            trained(base, shards[(number + i) % 8], seed=10 * number + i) for i in range(peers)
        ]
        contents: Contents = {
            sha256_digest(encode(h, spec=SPEC)): encode(h, spec=SPEC) for h in honest
        }
        bad = attacks(base, [*honest, *honest])
        if number == 1:
            contents.update(bad)
        elif number == 2:
            contents[b"free rider"] = bad[b"free rider"]
        record = RoundRecord(
            number, bytes([number]) * 32, f"base-{number}", 0, updates=list(contents)
        )
        old_scores = old._score(task, record, SPEC, fragment, METRIC, base, dict(contents))

        base_metric = evaluate(SPEC, base, fragment, METRIC)
        flat_base = flatten(base, SPEC)
        context: list[Vector] = []
        if history is not None and history[0] < number:
            context = history[1]
        policy = round_sanity(flat_base, context) if sanity else None
        reference = round_reference(mode, base_metric, task.params.threshold)
        new = score_updates(SPEC, fragment, METRIC, reference, contents, policy)
        if sanity and new.vectors and (history is None or history[0] <= number):
            history = (number, [v - flat_base for v in new.vectors.values()][-HISTORY:])

        assert {u: (s.score, s.reason) for u, s in new.scores.items()} == as_map(old_scores)
        if number == 1:
            assert_labels({u: s.reason for u, s in new.scores.items()}, sanity)
        if sanity:
            kept = old._history[1]
            assert kept[0] == history[0] and len(kept[1]) == len(history[1])
            assert all(np.array_equal(a, b) for a, b in zip(kept[1], history[1], strict=True))
        compared += len(old_scores)
        base = unflatten(np.mean([flatten(h, SPEC) for h in honest], axis=0), SPEC)
    assert compared == 5 + 9 + 2 + 2
    assert OLD_HISTORY == HISTORY


@pytest.mark.parametrize("sanity", [True, False])
@pytest.mark.parametrize("mode", list(ThresholdMode))
def test_a_dag_batch_scores_as_before(
    member: tuple[Validator, IpfsNode],
    fragment: Dataset,
    shards: list[Dataset],
    mode: ThresholdMode,
    sanity: bool,
) -> None:
    old, node = member
    old.sanity = sanity
    scorer: DagScorer = old._dag
    root = dict(state_dict_to_arrays(build(SPEC, seed=1)))
    root_cid, root_hash = node.put(encode(root, spec=SPEC))
    params = TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="spec",
        initial_weights_hash=root_hash,
        initial_weights_cid=root_cid,
        committee=(),
        fragment_hashes=(),
        fragment_cids=(),
        quorum=1,
        max_faulty_validators=0,
        threshold=0,
        flow=Flow.DAG,
        threshold_mode=mode,
        aggregation_rule=0,
    )
    task = TaskRecord(1, "publisher", params, 0)
    old.participant.index.tasks[1] = task
    models: dict[bytes, Weights] = {root_hash: root}
    context: deque[Vector] = deque(maxlen=DAG_HISTORY)
    compared = 0

    def submit(h: bytes, parents: list[bytes], cid: str, block: int) -> UpdateRecord:
        record = UpdateRecord(1, h, f"provider-{len(task.updates)}", block, 10, cid, parents, block)
        task.updates[h] = record
        return record

    # batch 1: five updates on the root and every kind of bad update; batch 2: updates on
    # two parents each (merges), one a free rider, with batch 1's changes as the context
    for batch in (1, 2):
        contents: Contents = {}
        records: list[UpdateRecord] = []
        parents = [root_hash] if batch == 1 else list(models)[1:3]
        merge = merge_models(SPEC, [models[p] for p in parents], RULE_NAMES[0], 0)
        honest = [
            trained(merge, shards[(batch + i) % 8], seed=100 * batch + i)
            for i in range(5 if batch == 1 else 2)
        ]
        for i, weights in enumerate(honest):
            data = encode(weights, spec=SPEC)
            cid, h = node.put(data)
            records.append(submit(h, parents, cid, batch * 10 + i))
            contents[h] = data
            models[h] = weights
        bad = attacks(merge, [*honest, *honest])
        for name, data in bad.items() if batch == 1 else [(b"free rider", bad[b"free rider"])]:
            h = name + bytes([batch])
            records.append(submit(h, parents, f"cid-{h!r}", batch * 10 + 5))
            contents[h] = data
        for r in records:
            scorer._content[r.update] = contents[r.update]
        old_scores = scorer.score(task, records)

        def merge_of(u: bytes) -> Weights:
            return merge_models(
                SPEC, [models[p] for p in task.updates[u].parents], RULE_NAMES[0], 0
            )

        def check(order: Sequence[bytes], vectors: Sequence[Vector]) -> list[SanityVerdict]:
            merges = [flatten(merge_of(u), SPEC) for u in order]
            verdicts, changes = check_changes(merges, vectors, context)
            context.extend(changes)
            return verdicts

        reference = parents_reference(mode, lambda u: evaluate(SPEC, merge_of(u), fragment, METRIC))
        new = score_updates(SPEC, fragment, METRIC, reference, contents, check if sanity else None)
        assert {u: (s.score, s.reason) for u, s in new.scores.items()} == as_map(old_scores)
        if batch == 1:
            reasons = {u[:-1]: s.reason for u, s in new.scores.items() if u[:-1] in bad}
            assert_labels(reasons, sanity)
        compared += len(old_scores)
    assert compared == 14 + 3
