"""Copy the compiled ABI and bytecode from Hardhat's build into the Python package.

The Python side must not need Node at run time, so ``ledgerlearn.chain`` ships these files.
``tests/platform/chain/test_artifacts.py`` fails when they differ from a fresh compile.

Usage: python scripts/export_artifacts.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "artifacts" / "contracts"
DEST = ROOT / "platform" / "ledgerlearn" / "chain" / "artifacts"
CONTRACTS = {
    "Consortium": "Consortium.sol",
    "LearningLedger": "LearningLedger.sol",
    "TaskVetting": "vetting/TaskVetting.sol",
    "ScoreCommitments": "scoring/ScoreCommitments.sol",
    "RewardEscrow": "rewards/RewardEscrow.sol",
    "TestToken": "rewards/TestToken.sol",
    "Council": "governance/Council.sol",
    "CouncilTimelock": "governance/CouncilTimelock.sol",
    "MembershipToken": "governance/MembershipToken.sol",
    "SwarmKeys": "governance/SwarmKeys.sol",
}
"""The deployed contracts -> their source under contracts/."""


def _userdoc(name: str) -> dict[str, object]:
    """NatSpec @notice texts of ``name`` (from the compiler metadata in Hardhat's build info)."""
    source = f"contracts/{CONTRACTS[name]}"
    for info in sorted((BUILD.parent / "build-info").glob("*.json")):
        contracts = json.loads(info.read_text())["output"]["contracts"]
        if name in contracts.get(source, {}):
            metadata = json.loads(contracts[source][name]["metadata"])
            userdoc: dict[str, object] = metadata["output"]["userdoc"]
            return userdoc
    raise SystemExit(f"no build info for {source}; run: npx hardhat compile")


def exported(name: str) -> str:
    """The shipped JSON text for contract ``name`` built from Hardhat's artifact."""
    artifact = json.loads((BUILD / CONTRACTS[name] / f"{name}.json").read_text())
    keep = {
        "userdoc": _userdoc(name),
        "contractName": artifact["contractName"],
        "sourceName": artifact["sourceName"],
        "abi": artifact["abi"],
        "bytecode": artifact["bytecode"],
        "deployedBytecode": artifact["deployedBytecode"],
    }
    return json.dumps(keep, indent=1, sort_keys=True) + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    for name in CONTRACTS:
        text = exported(name)
        target = DEST / f"{name}.json"
        if check:
            if not target.exists() or target.read_text() != text:
                stale.append(name)
        else:
            DEST.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    if stale:
        print(f"stale shipped artifacts: {', '.join(stale)}; run: make compile", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
