"""The vetting policy's review of a task's spec: approve, reject with the reason, or a person."""

from __future__ import annotations

import pytest

from ledgerlearn.config import VettingPolicy
from ledgerlearn.flows.vetting import MAX_REASON_BYTES, Review, review
from ledgerlearn.model import ModelSpec
from ledgerlearn.model.presets import cnn_mnist, mlp_digits


def _with_purpose(spec: ModelSpec, **purpose: str) -> ModelSpec:
    document = spec.model_dump(mode="json", exclude_none=True)
    document["purpose"] = purpose
    return ModelSpec.from_dict(document)


def test_a_preset_within_limits_is_approved_with_its_figures() -> None:
    result = review(mlp_digits(), VettingPolicy())
    assert result.decision == "approve"
    # 64*32+32 + 32*10+10 = 2410 parameters; 64*32 + 32*10 = 2368 MACs
    assert "2,410 parameters" in result.reason
    assert "2,368 MACs" in result.reason
    assert "handwritten-digits" in result.reason


def test_a_model_over_the_size_limit_is_rejected_naming_both_numbers() -> None:
    spec = cnn_mnist()  # 52,138 parameters
    result = review(spec, VettingPolicy(max_parameters=10_000))
    assert result.decision == "reject"
    assert "52,138 parameters, above the limit of 10,000" in result.reason


def test_compute_layers_and_data_kind_each_reject() -> None:
    spec = cnn_mnist()
    macs = spec.macs_per_sample()
    assert review(spec, VettingPolicy(max_macs=macs - 1)).decision == "reject"
    assert review(spec, VettingPolicy(max_macs=macs)).decision == "approve"
    result = review(spec, VettingPolicy(allowed_layers=["Linear", "ReLU", "Flatten"]))
    assert result.decision == "reject"
    assert "layer types not allowed: Conv2d, MaxPool2d" in result.reason
    other = _with_purpose(mlp_digits(), data_kind="street-photos", description="count cars")
    result = review(other, VettingPolicy())
    assert result == Review(
        "reject", "data kind 'street-photos' is not one the consortium trains on"
    )


def test_every_broken_limit_is_in_the_reason_within_the_on_chain_bound() -> None:
    policy = VettingPolicy(max_parameters=1, max_macs=1, allowed_layers=[], allowed_data_kinds=[])
    result = review(cnn_mnist(), policy)
    assert result.decision == "reject"
    assert len(result.reason.encode()) <= MAX_REASON_BYTES
    assert result.reason.startswith("52,138 parameters")


@pytest.mark.parametrize(
    ("description", "word"),
    [("find faces in crowds", "face"), ("Health records triage", "health")],
)
def test_a_flagged_word_leaves_the_decision_to_a_person(description: str, word: str) -> None:
    spec = _with_purpose(mlp_digits(), data_kind="handwritten-digits", description=description)
    result = review(spec, VettingPolicy())
    assert result.decision == "human"
    assert not result.automatic
    assert word in result.reason


def test_no_purpose_or_a_manual_policy_leaves_it_to_a_person() -> None:
    document = mlp_digits().model_dump(mode="json", exclude_none=True)
    del document["purpose"]
    bare = ModelSpec.from_dict(document)
    assert review(bare, VettingPolicy()).decision == "human"
    assert review(bare, VettingPolicy(require_purpose=False)).decision == "approve"
    assert review(mlp_digits(), VettingPolicy(auto=False)).decision == "human"
    # a word inside another word is not flagged ("surface" is not "face")
    spec = _with_purpose(mlp_digits(), data_kind="handwritten-digits", description="surface scans")
    assert review(spec, VettingPolicy()).decision == "approve"
