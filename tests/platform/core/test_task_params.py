"""The generated ``core/task_params.py``: its schema is the shipped ABI's (the test of
``scripts/gen_task_params.py --check`` is in tests/platform/chain/test_artifacts.py), and its
codecs invert each other."""

from __future__ import annotations

import re
from pathlib import Path

from ledgerlearn.chain.artifacts import load_artifact
from ledgerlearn.core.abi import IntRange, int_range, snake_case
from ledgerlearn.core.rules import INT64_MAX, INT64_MIN, Flow, MetricId, ThresholdMode
from ledgerlearn.core.task_params import EIP712_FIELDS, FIELDS, RANGES, TaskParams

ROOT = Path(__file__).resolve().parents[3]


def test_integer_types_of_the_abi() -> None:
    assert int_range("q", "uint8") == IntRange("q", "uint8", 0, 255)
    assert int_range("t", "int64") == IntRange("t", "int64", INT64_MIN, INT64_MAX)
    assert int_range("x", "uint") == IntRange("x", "uint", 0, 2**256 - 1)
    assert int_range("s", "string") is None and int_range("a", "address[]") is None
    assert snake_case("maxFaultyValidators") == "max_faulty_validators"
    r = int_range("q", "uint8")
    assert r is not None and 255 in r and 256 not in r and -1 not in r and True not in r


def test_the_fields_are_the_shipped_abis() -> None:
    [publish] = [e for e in load_artifact("LearningLedger").abi if e.get("name") == "publishTask"]
    components = publish["inputs"][0]["components"]  # type: ignore[typeddict-item]
    assert [(f.abi_name, f.abi_type) for f in FIELDS] == [
        (c["name"], c["type"]) for c in components
    ]
    assert RANGES["round_length"].abi_type == "uint32"
    assert RANGES["num_byzantine"] == IntRange("numByzantine", "uint16", 0, 2**16 - 1)
    assert RANGES["threshold"] == IntRange("threshold", "int64", INT64_MIN, INT64_MAX)
    assert "committee" not in RANGES and "model_spec_cid" not in RANGES


def test_the_typed_data_fields_are_the_contracts_type_string() -> None:
    """EIP712_FIELDS spells the TASK_PARAMS_TYPE the contract hashes (TaskRegistry.sol)."""
    source = (ROOT / "contracts" / "ledger" / "TaskRegistry.sol").read_text()
    declaration = re.search(r"TASK_PARAMS_TYPE = keccak256\((.*?)\);", source, re.S)
    assert declaration is not None
    type_string = "".join(re.findall(r'"([^"]*)"', declaration[1]))
    fields = ",".join(f"{f['type']} {f['name']}" for f in EIP712_FIELDS)
    assert type_string == f"TaskParams({fields})"


def _params() -> TaskParams:
    return TaskParams(
        model_spec_hash=b"\x01" * 32,
        model_spec_cid="bafy-spec",
        initial_weights_hash=b"\x02" * 32,
        initial_weights_cid="bafy-w0",
        flow=Flow.DAG,
        metric=MetricId.MACRO_F1,
        threshold_mode=ThresholdMode.PEER,
        threshold=-250_000,
        quorum=2,
        max_faulty_validators=0,
        aggregation_rule=3,
        max_rounds=4,
        committee=("0x" + "aa" * 20, "0x" + "bb" * 20),
        fragment_hashes=(b"\x03" * 32, b"\x04" * 32),
        fragment_cids=("bafy-f0", "bafy-f1"),
    )


def test_the_codecs_invert_each_other() -> None:
    params = _params()
    view = params.to_view()
    assert view.model_spec_hash == "0x" + "01" * 32 and view.flow == 1 and view.metric == 1
    assert view.fragment_hashes == ["0x" + "03" * 32, "0x" + "04" * 32]
    assert TaskParams.from_view(type(view).model_validate_json(view.model_dump_json())) == params
    as_event = {f.name: value for f, value in zip(FIELDS, params.as_tuple(), strict=True)}
    assert TaskParams.from_event(as_event) == params
    message = params.typed_data_message()
    assert list(message) == [f.abi_name for f in FIELDS]
    assert list(message.values()) == list(params.as_tuple())
    assert message["thresholdMode"] == 2 and message["committee"] == list(params.committee)
