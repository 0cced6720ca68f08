"""The dag flow's computations: the parents' merge, staleness dampening, publish-if-better
and the consensus model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ledgerlearn.core.dag_graph import DagGraph
from ledgerlearn.data import load_bundled
from ledgerlearn.flows.dag.consensus import consensus_model
from ledgerlearn.flows.dag.updates import beats, merge_models
from ledgerlearn.model import build
from ledgerlearn.model.flatten import flatten, state_dict_to_arrays, unflatten
from ledgerlearn.model.presets import logreg_digits
from ledgerlearn.model.weights import decode
from ledgerlearn.storage.content import sha256_digest
from ledgerlearn.training import TrainingConfig, evaluate, train

torch.set_num_threads(1)
SPEC = logreg_digits()


def model(value: float) -> dict[str, np.ndarray]:
    size = flatten(dict(state_dict_to_arrays(build(SPEC, seed=0))), SPEC).size
    return unflatten(np.full(size, value, dtype=np.float32), SPEC)


def test_merge_is_the_rule_over_the_parents_and_one_parent_is_itself() -> None:
    merged = merge_models(SPEC, [model(1.0), model(2.0), model(9.0)], "median", 0)
    assert np.all(flatten(merged, SPEC) == 2.0)
    mean = merge_models(SPEC, [model(1.0), model(2.0), model(9.0)], "mean", 0)
    assert np.allclose(flatten(mean, SPEC), 4.0)
    alone = model(3.0)
    copy = merge_models(SPEC, [alone], "median", 0)
    assert np.all(flatten(copy, SPEC) == 3.0)
    name = next(iter(copy))
    copy[name].flat[0] = 7.0
    assert np.all(flatten(alone, SPEC) == 3.0)  # a copy, not the parent itself


def test_a_merge_with_staleness_dampens_stale_parents_first() -> None:
    damped = merge_models(
        SPEC, [model(0.0), model(4.0)], "mean", 0, staleness=[0, 2], beta=math.log(2)
    )
    assert np.allclose(flatten(damped, SPEC), (0.0 + 4.0 / 4) / 2)  # 4 pulled to 1, then mean
    with pytest.raises(ValueError, match="at least one parent"):
        merge_models(SPEC, [], "mean", 0)


def test_publish_if_better_compares_on_held_out_data() -> None:
    digits = load_bundled("digits", "train")
    local, held_out = digits.split(0.2, seed=0)
    start = dict(state_dict_to_arrays(build(SPEC, seed=0)))
    trained = dict(train(SPEC, local, TrainingConfig(epochs=3, lr=0.1), initial=start))
    better = beats(SPEC, trained, start, held_out, "accuracy")
    assert better.better and better.candidate > better.reference + 0.5
    worse = beats(SPEC, start, trained, held_out, "accuracy")
    assert not worse.better
    # an identical model is no improvement; a margin asks for more than a tie
    assert not beats(SPEC, trained, trained, held_out, "accuracy").better
    gain = better.candidate - better.reference
    assert not beats(SPEC, trained, start, held_out, "accuracy", gain + 0.01).better
    assert beats(SPEC, trained, start, held_out, "accuracy", gain - 0.01).better


def test_consensus_is_the_rule_over_the_best_tips_and_reproducible() -> None:
    root = b"root"
    edges = {b"a": (root,), b"b": (root,), b"c": (root,), b"d": (b"a",)}
    scores = {b"a": 0.5, b"b": 0.9, b"c": 0.2, b"d": 0.8}
    graph = DagGraph(root, edges, scores, tuple(edges), cumulative=False)
    assert graph.tips == [b"b", b"c", b"d"]
    weights = {b"b": model(1.0), b"c": model(100.0), b"d": model(3.0)}
    loaded: list[bytes] = []

    def load(h: bytes) -> dict[str, np.ndarray]:
        loaded.append(h)
        return weights[h]

    top2 = consensus_model(SPEC, graph, load, "mean", 0, top_k=2)
    assert top2.tips == [b"b", b"d"] and loaded == [b"b", b"d"]
    assert np.allclose(flatten(top2.weights, SPEC), 2.0)
    assert top2.content_hash == sha256_digest(top2.content)
    assert np.allclose(flatten(decode(top2.content, SPEC), SPEC), 2.0)
    again = consensus_model(SPEC, graph, weights.__getitem__, "mean", 0, top_k=2)
    assert again.content == top2.content
    robust = consensus_model(SPEC, graph, weights.__getitem__, "median", 0, top_k=3)
    assert np.allclose(flatten(robust.weights, SPEC), 3.0)  # the poor tip c is outvoted
    with pytest.raises(ValueError, match="top_k"):
        consensus_model(SPEC, graph, weights.__getitem__, "mean", 0, top_k=0)


def test_the_initial_model_is_the_consensus_while_nothing_is_accepted() -> None:
    start = dict(state_dict_to_arrays(build(SPEC, seed=3)))
    graph = DagGraph(b"root", {}, {}, ())
    result = consensus_model(SPEC, graph, lambda h: start, "median", 0)
    assert result.tips == [b"root"]
    test = load_bundled("digits", "test")
    assert evaluate(SPEC, result.weights, test, "accuracy") == evaluate(
        SPEC, start, test, "accuracy"
    )
