"""Generate ``ledgerlearn/core/task_params.py`` from the shipped contract ABI.

The ``TaskParams`` struct of ``publishTask`` (its components' names, Solidity types and order)
becomes the :class:`TaskParams` dataclass with its codecs: ``from_event`` (a decoded
``TaskPublished``), ``as_tuple`` (the call argument), ``typed_data_message`` and
``EIP712_FIELDS`` (what a publisher signs), ``to_view``/``from_view`` (the gateway's JSON,
:class:`TaskParamsView`), plus ``FIELDS`` and the integer ``RANGES``. The comment after each
component in ``contracts/interfaces/ITaskRegistry.sol`` becomes its documentation.

What the ABI cannot say is below: which components are enums on the Python side, and the
defaults of the dataclass. Run after ``make compile``; a test fails when the generated module
is out of date.

Usage: python scripts/gen_task_params.py [--check]
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from ledgerlearn.core.abi import int_range, snake_case  # noqa: E402

ARTIFACT = ROOT / "platform" / "ledgerlearn" / "chain" / "artifacts" / "LearningLedger.json"
SOURCE = ROOT / "contracts" / "interfaces" / "ITaskRegistry.sol"
TARGET = ROOT / "platform" / "ledgerlearn" / "core" / "task_params.py"

ENUMS = {"flow": "Flow", "metric": "MetricId", "threshold_mode": "ThresholdMode"}
"""Components held as an enum of :mod:`ledgerlearn.core.rules` (uint8 on chain)."""
DEFAULTS = {
    "flow": "Flow.FEDERATION",
    "metric": "MetricId.ACCURACY",
    "threshold_mode": "ThresholdMode.ABSOLUTE",
    "aggregation_rule": "0",
    "num_byzantine": "0",
    "round_length": "20",
    "score_window": "20",
    "max_rounds": "1",
    "max_parents": "2",
    "min_updates": "0",
    "round_extension": "0",
    "score_extension": "0",
    "attest_window": "20",
    "max_pending": "4",
    "draw_size": "0",
    "commit_window": "0",
    "max_rejections": "0",
}
"""Defaults of the dataclass (a publisher's :class:`~ledgerlearn.flows.policy.Policy` sets every
policy component; these serve hand-built parameters, in tests and benchmarks)."""


class Component:
    """One component of the struct and how each codec treats it."""

    def __init__(self, abi_name: str, abi_type: str, doc: str) -> None:
        self.abi_name = abi_name
        self.abi_type = abi_type
        self.name = snake_case(abi_name)
        self.doc = doc
        self.array = abi_type.endswith("[]")
        self.element = abi_type.removesuffix("[]")
        self.enum = ENUMS.get(self.name)
        if self.array and self.enum:
            raise SystemExit(f"{abi_name}: an array of enums is not supported")

    @property
    def element_py(self) -> str:
        if self.enum:
            return self.enum
        if self.element in ("string", "address"):
            return "str"
        if self.element.startswith("bytes"):
            return "bytes"
        if self.element.startswith(("uint", "int")):
            return "int"
        if self.element == "bool":
            return "bool"
        raise SystemExit(f"{self.abi_name}: unsupported type {self.abi_type}")

    @property
    def py_type(self) -> str:
        return f"tuple[{self.element_py}, ...]" if self.array else self.element_py

    @property
    def hexed(self) -> bool:
        return self.element_py == "bytes"

    @property
    def view_type(self) -> str:
        element = "str" if self.hexed else ("int" if self.enum else self.element_py)
        return f"list[{element}]" if self.array else element

    def to_chain(self, value: str) -> str:
        """The ABI value (call tuple and typed data) of ``value``."""
        if self.array:
            return f"list({value})"
        return f"int({value})" if self.enum else value

    def from_event(self, value: str) -> str:
        if self.array:
            return f"tuple({value})"
        return f"{self.enum}({value})" if self.enum else value

    def to_view(self, value: str) -> str:
        if self.array:
            return f"[_hex(v) for v in {value}]" if self.hexed else f"list({value})"
        if self.hexed:
            return f"_hex({value})"
        return f"int({value})" if self.enum else value

    def from_view(self, value: str) -> str:
        if self.array:
            return f"tuple(_unhex(v) for v in {value})" if self.hexed else f"tuple({value})"
        if self.hexed:
            return f"_unhex({value})"
        return f"{self.enum}({value})" if self.enum else value


def components() -> list[Component]:
    """The components of ``publishTask``'s TaskParams, in the struct's order."""
    abi = json.loads(ARTIFACT.read_text())["abi"]
    docs = _source_comments()
    for entry in abi:
        if entry.get("type") != "function" or entry.get("name") != "publishTask":
            continue
        for argument in entry["inputs"]:
            if argument["type"] == "tuple" and "TaskParams" in argument.get("internalType", ""):
                return [
                    Component(c["name"], c["type"], docs.get(c["name"], ""))
                    for c in argument["components"]
                ]
    raise SystemExit("the LearningLedger ABI has no publishTask(TaskParams)")


def _source_comments() -> dict[str, str]:
    """The ``// comment`` after each component of ``struct TaskParams``, by ABI name."""
    text = SOURCE.read_text()
    body = re.search(r"struct TaskParams \{(.*?)\n\s*\}", text, re.S)
    if body is None:
        raise SystemExit(f"{SOURCE} has no struct TaskParams")
    docs = {}
    for line in body[1].splitlines():
        match = re.match(r"\s*[\w\[\]]+\s+(\w+);\s*(?://\s*(.*))?$", line)
        if match and match[2]:
            docs[match[1]] = match[2].strip()
    return docs


def _quoted(text: str) -> str:
    return json.dumps(text)


def _docstring(text: str, indent: str = "    ") -> list[str]:
    """An attribute docstring wrapped to the line length."""
    wrapped = textwrap.wrap(text, width=94 - len(indent))
    if len(wrapped) == 1:
        return [f'{indent}"""{wrapped[0]}"""']
    return [
        f'{indent}"""{wrapped[0]}',
        *[f"{indent}{w}" for w in wrapped[1:-1]],
        f'{indent}{wrapped[-1]}"""',
    ]


def _described(name: str, py_type: str, description: str) -> list[str]:
    """``name: type = Field(description=...)``, the text split to fit the line length."""
    one = f"    {name}: {py_type} = Field(description={_quoted(description)})"
    if len(one) <= 100:
        return [one]
    middle = f"        description={_quoted(description)}"
    if len(middle) <= 100:
        return [f"    {name}: {py_type} = Field(", middle, "    )"]
    parts = textwrap.wrap(description, width=76, drop_whitespace=False)
    return [
        f"    {name}: {py_type} = Field(",
        f"        description={_quoted(parts[0])}",
        *[f"        {_quoted(part)}" for part in parts[1:]],
        "    )",
    ]


def render() -> str:
    fields = components()
    enums = sorted({c.enum for c in fields if c.enum})
    lines = [
        '"""What a publisher declares about a task (``ITaskRegistry.TaskParams``) and its codecs.',
        "",
        "GENERATED by scripts/gen_task_params.py from the shipped ABI (and the struct's comments",
        "in contracts/interfaces/ITaskRegistry.sol): do not edit. One definition for every form",
        "the parameters take: the decoded ``TaskPublished`` event, the ``publishTask`` argument,",
        "the EIP-712 message a publisher signs, and the gateway's JSON view.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from typing import Any",
        "",
        "from pydantic import BaseModel, Field",
        "",
        "from ledgerlearn.core.abi import IntRange, ParamField",
        f"from ledgerlearn.core.rules import {', '.join(enums)}",
        "",
        "",
        "@dataclass(frozen=True, kw_only=True)",
        "class TaskParams:",
        '    """What a publisher declares about a task, in the struct\'s order."""',
        "",
    ]
    for c in fields:
        default = DEFAULTS.get(c.name)
        lines.append(f"    {c.name}: {c.py_type}" + (f" = {default}" if default else ""))
        if c.doc:
            lines += _docstring(c.doc)
    lines += [
        "",
        "    @classmethod",
        "    def from_event(cls, params: dict[str, Any]) -> TaskParams:",
        '        """The parameters as decoded from a ``TaskPublished`` event (snake_case keys)."""',
        "        return cls(",
        *[f"            {c.name}={c.from_event(f'params[{_quoted(c.name)}]')}," for c in fields],
        "        )",
        "",
        "    def as_tuple(self) -> tuple[object, ...]:",
        '        """The ABI tuple, in the struct\'s order."""',
        "        return (",
        *[f"            {c.to_chain(f'self.{c.name}')}," for c in fields],
        "        )",
        "",
        "    def typed_data_message(self) -> dict[str, object]:",
        '        """The EIP-712 ``TaskParams`` message (see :data:`EIP712_FIELDS`)."""',
        "        return {",
        *[f"            {_quoted(c.abi_name)}: {c.to_chain(f'self.{c.name}')}," for c in fields],
        "        }",
        "",
        "    def to_view(self) -> TaskParamsView:",
        '        """The parameters as JSON: hashes as 0x-hex, enums as their numbers."""',
        "        return TaskParamsView(",
        *[f"            {c.name}={c.to_view(f'self.{c.name}')}," for c in fields],
        "        )",
        "",
        "    @classmethod",
        "    def from_view(cls, view: TaskParamsView) -> TaskParams:",
        '        """The parameters back from their JSON view (inverse of :meth:`to_view`)."""',
        "        return cls(",
        *[f"            {c.name}={c.from_view(f'view.{c.name}')}," for c in fields],
        "        )",
        "",
        "",
        "class TaskParamsView(BaseModel):",
        '    """The parameters a publisher signs (``ITaskRegistry.TaskParams``): hashes as 0x-hex,',
        '    enums as their numbers."""',
        "",
    ]
    for c in fields:
        if c.doc:
            lines += _described(c.name, c.view_type, c.doc)
        else:
            lines.append(f"    {c.name}: {c.view_type}")
    lines += [
        "",
        "",
        "FIELDS: tuple[ParamField, ...] = (",
        *[
            f"    ParamField({_quoted(c.name)}, {_quoted(c.abi_name)}, {_quoted(c.abi_type)}),"
            for c in fields
        ],
        ")",
        '"""Every component: Python name, ABI name, Solidity type, in the struct\'s order."""',
        "",
        "EIP712_FIELDS: list[dict[str, str]] = [",
        *[f'    {{"name": {_quoted(c.abi_name)}, "type": {_quoted(c.abi_type)}}},' for c in fields],
        "]",
        '"""The EIP-712 ``TaskParams`` type (``TaskRegistry.TASK_PARAMS_TYPE``)."""',
        "",
        "RANGES: dict[str, IntRange] = {",
    ]
    for c in fields:
        r = int_range(c.abi_name, c.abi_type)
        if r is not None:
            lines.append(
                f"    {_quoted(c.name)}: IntRange({_quoted(r.abi_name)}, {_quoted(r.abi_type)}, "
                f"{r.low}, {r.high}),"
            )
    lines += [
        "}",
        '"""The values each integer component can hold, by Python name: a value outside its',
        'type cannot be encoded (web3 refuses it only when the transaction is built)."""',
        "",
        "",
        "def _hex(digest: bytes) -> str:",
        '    return "0x" + digest.hex()',
        "",
        "",
        "def _unhex(text: str) -> bytes:",
        '    return bytes.fromhex(text.removeprefix("0x"))',
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("core/task_params.py is stale; run: make artifacts", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
