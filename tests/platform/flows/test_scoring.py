"""The committee's one scoring pipeline, without a chain: contents in, (score, reason) out.

Each kind of bad update fails for its own reason (unavailable, invalid, the sanity checks),
the rest are scored against the flow's reference: a federation round's (absolute, the base
model's metric, the peers' median, or the lone rule with fewer than three peers) or a dag
update's (its parents' merge).
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Sequence

import numpy as np
import pytest
import safetensors.numpy
import torch

from ledgerlearn.core.rules import SCORE_INVALID, ThresholdMode, from_fixed, to_fixed
from ledgerlearn.core.sanity import SanityVerdict, check_changes
from ledgerlearn.core.types import Vector, Weights
from ledgerlearn.data import Dataset, load_bundled
from ledgerlearn.errors import (
    ContentHashMismatchError,
    ContentTooLargeError,
    ContentUnavailableError,
    LedgerlearnError,
)
from ledgerlearn.flows.dag.updates import merge_models, parents_reference
from ledgerlearn.flows.federation.rounds import LONE_MIN_GAIN, round_reference, round_sanity
from ledgerlearn.flows.scoring import FAILURES, score_updates
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import encode
from ledgerlearn.training import METRICS_BY_ID, TrainingConfig, evaluate, train

torch.set_num_threads(1)
SPEC = logreg_digits()
METRIC = METRICS_BY_ID[0]
Contents = dict[bytes, bytes | LedgerlearnError]


@pytest.fixture(scope="module")
def fragment() -> Dataset:
    return load_bundled("digits", "test").subset(range(150))


@pytest.fixture(scope="module")
def base() -> Weights:
    return dict(state_dict_to_arrays(build(SPEC, seed=0)))


@pytest.fixture(scope="module")
def honest(base: Weights) -> list[Weights]:
    """Five updates trained from ``base`` on different slices of the training set."""
    data = load_bundled("digits", "train")
    return [
        dict(
            train(
                SPEC,
                data.subset(range(i * 120, (i + 1) * 120)),
                TrainingConfig(epochs=1, lr=0.1, seed=i),
                initial=base,
            )
        )
        for i in range(5)
    ]


def content(vector: Vector) -> bytes:
    return encode(unflatten(vector, SPEC), spec=SPEC)


def attacks(base: Weights, honest: list[Weights]) -> Contents:
    """Every kind of bad update, derived from a base model and two honest updates."""
    flat = flatten(base, SPEC)
    first, second = (flatten(h, SPEC) for h in honest[:2])
    nan = {k: np.ascontiguousarray(v).copy() for k, v in honest[0].items()}
    nan[next(iter(nan))].flat[0] = np.nan
    noise = np.random.default_rng(5).normal(0, 1e-7, flat.size).astype(np.float32)
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


def honest_contents(honest: list[Weights]) -> Contents:
    return {f"honest {i}".encode(): encode(h, spec=SPEC) for i, h in enumerate(honest)}


def test_every_bad_update_fails_for_its_own_reason(
    fragment: Dataset, base: Weights, honest: list[Weights]
) -> None:
    contents = {**honest_contents(honest), **attacks(base, honest)}
    reference = round_reference(ThresholdMode.ABSOLUTE, 0.0, 0)
    scoring = score_updates(
        SPEC, fragment, METRIC, reference, contents, round_sanity(flatten(base, SPEC), [])
    )
    assert list(scoring.scores) == list(contents)  # every update, in the order given
    reasons = {u.decode(): s.reason for u, s in scoring.scores.items()}
    assert reasons["withheld"] == "unavailable: no peer has cid-w before the deadline"
    assert reasons["too large"] == "invalid: cid-l is larger than 9000 bytes"
    assert reasons["mismatch"] == "invalid: cid-m does not match its hash"
    assert reasons["nan"].startswith("invalid: ") and reasons["pickle"].startswith("invalid: ")
    assert reasons["free rider"].startswith("free rider")
    assert reasons["copy"] == "near-duplicate of update #0 of the round"
    assert reasons["sign flip"].startswith("reversed")
    assert reasons["scaled"].startswith("norm outlier")
    for u, scored in scoring.scores.items():
        assert (scored.score == SCORE_INVALID) == (scored.reason != ""), u
        assert (scored.reason != "") == (scored.failure in FAILURES), u
    failures = {u.decode(): s.failure for u, s in scoring.scores.items() if s.failure}
    assert failures == {  # the kinds the validators' metrics count
        "withheld": "unavailable",
        "too large": "fetch",
        "mismatch": "fetch",
        "nan": "decode",
        "pickle": "decode",
        "free rider": "checks",
        "copy": "checks",
        "sign flip": "checks",
        "scaled": "checks",
    }
    # the honest updates passed, scored by their metric (absolute mode: reference 0)
    for i, h in enumerate(honest):
        value = evaluate(SPEC, h, fragment, METRIC)
        assert scoring.scores[f"honest {i}".encode()].score == to_fixed(value)
    # what the checks saw: the decodable updates, flat, in order
    assert list(scoring.vectors) == [
        *honest_contents(honest),
        b"free rider",
        b"copy",
        b"sign flip",
        b"scaled",
    ]


def test_without_sanity_checks_only_decoding_is_enforced(
    fragment: Dataset, base: Weights, honest: list[Weights]
) -> None:
    contents = {**honest_contents(honest), **attacks(base, honest)}
    scoring = score_updates(
        SPEC, fragment, METRIC, round_reference(ThresholdMode.ABSOLUTE, 0.0, 0), contents, None
    )
    failed = {u for u, s in scoring.scores.items() if s.score == SCORE_INVALID}
    assert failed == {b"withheld", b"too large", b"mismatch", b"nan", b"pickle"}


@pytest.mark.parametrize("peers", [1, 2, 5])
@pytest.mark.parametrize("mode", list(ThresholdMode))
def test_a_round_is_scored_against_its_reference(
    fragment: Dataset, base: Weights, honest: list[Weights], mode: ThresholdMode, peers: int
) -> None:
    base_metric = evaluate(SPEC, base, fragment, METRIC)
    threshold = to_fixed(-0.25)
    contents = honest_contents(honest[:peers])
    scoring = score_updates(
        SPEC, fragment, METRIC, round_reference(mode, base_metric, threshold), contents, None
    )
    values = {
        f"honest {i}".encode(): evaluate(SPEC, h, fragment, METRIC)
        for i, h in enumerate(honest[:peers])
    }
    if mode is ThresholdMode.ABSOLUTE:
        level = 0.0
    elif mode is ThresholdMode.RELATIVE:
        level = base_metric
    elif peers >= 3:
        level = float(np.median(list(values.values())))
    else:  # too few peers: beat the global model, no tolerance below it
        level = base_metric + 0.25 + LONE_MIN_GAIN
    assert {u: s.score for u, s in scoring.scores.items()} == {
        u: to_fixed(v - level) for u, v in values.items()
    }
    assert from_fixed(threshold) == -0.25


def test_a_lone_update_is_checked_against_the_previous_rounds_changes(
    fragment: Dataset, base: Weights, honest: list[Weights]
) -> None:
    flat = flatten(base, SPEC)
    earlier = [flatten(h, SPEC) - flat for h in honest]
    lazy = {b"lazy": content(flat + 1e-2 * (earlier[0] / np.linalg.norm(earlier[0])))}
    reference = round_reference(ThresholdMode.ABSOLUTE, 0.0, 0)
    alone = score_updates(SPEC, fragment, METRIC, reference, lazy, round_sanity(flat, []))
    assert alone.scores[b"lazy"].reason == ""
    context = score_updates(SPEC, fragment, METRIC, reference, lazy, round_sanity(flat, earlier))
    assert context.scores[b"lazy"].reason.startswith("free rider")
    # with enough peers of its own round the context does not count
    peers = {**honest_contents(honest[:3]), **lazy}
    with_peers = score_updates(
        SPEC, fragment, METRIC, reference, peers, round_sanity(flat, [100 * c for c in earlier])
    )
    assert all(s.reason == "" for u, s in with_peers.scores.items() if u != b"lazy")


@pytest.mark.parametrize("mode", list(ThresholdMode))
def test_a_dag_update_is_scored_against_its_parents_merge(
    fragment: Dataset, base: Weights, honest: list[Weights], mode: ThresholdMode
) -> None:
    parents = {b"child": [0, 1], b"sign flip": [2, 3]}
    merges = {u: merge_models(SPEC, [honest[i] for i in p], "mean", 0) for u, p in parents.items()}
    child = dict(
        train(
            SPEC,
            load_bundled("digits", "train").subset(range(600, 720)),
            TrainingConfig(epochs=1, lr=0.1, seed=9),
            initial=merges[b"child"],
        )
    )
    change = flatten(child, SPEC) - flatten(merges[b"child"], SPEC)
    flipped = flatten(merges[b"sign flip"], SPEC) - change  # the child's change, reversed
    contents: Contents = {b"child": encode(child, spec=SPEC), b"sign flip": content(flipped)}
    context: deque[Vector] = deque([flatten(h, SPEC) - flatten(base, SPEC) for h in honest])

    def check(order: Sequence[bytes], vectors: Sequence[Vector]) -> list[SanityVerdict]:
        verdicts, changes = check_changes(
            [flatten(merges[u], SPEC) for u in order], vectors, context
        )
        context.extend(changes)
        return verdicts

    def merge_metric(u: bytes) -> float:
        return evaluate(SPEC, merges[u], fragment, METRIC)

    scoring = score_updates(
        SPEC, fragment, METRIC, parents_reference(mode, merge_metric), contents, check
    )
    value = evaluate(SPEC, child, fragment, METRIC)
    reference = 0.0 if mode is ThresholdMode.ABSOLUTE else merge_metric(b"child")
    assert scoring.scores[b"child"].score == to_fixed(value - reference)
    assert scoring.scores[b"sign flip"].reason.startswith("reversed")
    assert len(context) == len(honest) + 2  # the caller's context took both changes
