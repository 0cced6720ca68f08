"""The compiled contracts shipped with the package (ABI, bytecode, NatSpec notices).

Python never needs Node at run time: ``make compile`` exports these from Hardhat's build, and
a test fails when they differ from a fresh compile.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from ledgerlearn import strict_json

ContractName = Literal[
    "Consortium",
    "LearningLedger",
    "TaskVetting",
    "ScoreCommitments",
    "RewardEscrow",
    "TestToken",
    "Council",
    "CouncilTimelock",
    "MembershipToken",
    "SwarmKeys",
]


@dataclass(frozen=True)
class Artifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@cache
def load_artifact(name: ContractName) -> Artifact:
    """The shipped artifact of contract ``name``."""
    text = (
        resources.files("ledgerlearn.chain")
        .joinpath("artifacts")
        .joinpath(f"{name}.json")
        .read_text()
    )
    data = strict_json.loads(text, max_bytes=16 * 2**20)  # shipped, trusted: generous
    return Artifact(name, data["abi"], data["bytecode"], data["deployedBytecode"])
