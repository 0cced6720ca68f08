"""Same seeds, same decisions: the golden runs a refactoring is checked against.

Runs a fixed set of in-process simulations (both flows, two seeds; a stress cast with withheld,
NaN, pickled and label-flipped updates, lying validators and a dead-CID keeper, and the same with
the committee's sanity checks off) and writes, per run, a folder with ``result.json``,
``receipts.json`` (federation), ``report.md`` and ``scores.json`` (every score every validator
computed, with its reason, by provider and validator name).

Before a behaviour-preserving change, run it on the old tree; after, on the new one; then
``--compare OLD NEW`` diffs everything that must not move (wall times and gas are left out:
accounts are fresh every run and calldata of random addresses costs differently)::

    python scripts/golden_runs.py --out /tmp/golden/before
    python scripts/golden_runs.py --out /tmp/golden/after
    python scripts/golden_runs.py --compare /tmp/golden/before /tmp/golden/after

Only the simulations are bit-reproducible (the demos are driven by wall time).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

VOLATILE = {"timings", "agent_seconds", "round_timings", "background_load", "gas_used", "wall_s"}
"""result.json keys that measure the machine, not the protocol."""

STRESS_PROVIDERS = ["honest"] * 6 + ["withhold", "nan", "malformed_pickle", "label_flip"]
STRESS_VALIDATORS = ["honest"] * 3 + ["inflate", "collude"]
# Not here, because the tree before issue 12 stops on them (fixed since, with
# tests/platform/agents/test_provider_races.py): an adaptive attacker (alie_adaptive,
# ipm_adaptive) in a cast with a withholding provider, or one that reveals after the round
# closed (SubmissionClosed).


def _configs() -> dict[str, Any]:
    from ledgerlearn.lab.simulate import RunConfig

    runs: dict[str, Any] = {}
    for seed in (0, 1):
        fed = RunConfig.preset(quick=True, simulated=True)
        dag = RunConfig.dag_preset(quick=True, simulated=True)
        runs[f"fed-seed{seed}"] = fed.model_copy(update={"seed": seed})
        runs[f"dag-seed{seed}"] = dag.model_copy(update={"seed": seed})
    stress = {"providers": STRESS_PROVIDERS, "validator_behaviours": STRESS_VALIDATORS}
    fed = RunConfig.preset(quick=True, simulated=True)
    dag = RunConfig.dag_preset(quick=True, simulated=True)
    runs["fed-stress"] = fed.model_copy(update={**stress, "rogue_keeper": "dead_cid"})
    runs["dag-stress"] = dag.model_copy(update=stress)
    runs["fed-stress-nosanity"] = runs["fed-stress"].model_copy(
        update={"committee_filtering": False}
    )
    runs["dag-stress-nosanity"] = runs["dag-stress"].model_copy(
        update={"committee_filtering": False}
    )
    # the pydantic validators run on construction only: re-validate the copies
    return {name: type(c).model_validate(c.model_dump()) for name, c in runs.items()}


def _recording_validators() -> list[Any]:
    """Make every Validator the simulation builds register itself (for its ``scored``)."""
    import ledgerlearn.lab.simulate as simulate_module

    made: list[Any] = []
    base = simulate_module.Validator

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    simulate_module.Validator = Recording  # type: ignore[misc]
    return made


def _write_report(result: Any, out: Path, config: Any) -> None:
    from ledgerlearn.lab.registry import LAB_FLOWS

    LAB_FLOWS[result.history.flow].write(
        result, out, title=f"golden run {out.name}", config=config.model_dump(mode="json")
    )


def run(out: Path, only: list[str] | None) -> None:
    import torch

    from ledgerlearn.lab.simulate import simulate

    torch.set_num_threads(1)
    made = _recording_validators()
    for name, config in _configs().items():
        if only and name not in only:
            continue
        made.clear()
        print(f"{name} ...", flush=True)
        result = simulate(config)
        folder = out / name
        _write_report(result, folder, config)
        names = {u.update: u.provider for u in result.updates}  # a dag node is an update too
        scores = sorted(
            (
                names.get("0x" + r.update.hex(), "?"),
                r.update.hex(),
                f"validator-{i}",
                r.score,
                r.reason,
            )
            for i, v in enumerate(made)
            for r in v.scored
        )
        (folder / "scores.json").write_text(json.dumps(scores, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: final metric {result.final_metric:.4f}, {len(scores)} scores", flush=True)


_WAITED = re.compile(r"within [0-9.]+ s")
"""How long a fetch waited before an update was scored unavailable (a wall time in a reason)."""


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, str):
        return _WAITED.sub("within <t> s", value)
    return value


_MEASURED_ROWS = ("| publisher ", "| validators ", "| providers ", "| all ", "| **all** ")
"""Rows of the agents' time table (seconds per role): wall-clock measurements."""
_GAS = re.compile(r"\b\d{1,3}(?:,\d{3})+\b")
"""Numbers with thousands separators: gas figures, which move with the accounts' bytes."""


def _timeless_report(text: str) -> list[str]:
    """report.md without what measures the machine: lines with wall times, the agents' time
    table, the ledger + IPFS share; gas figures masked."""
    skip = ("wall", "seconds", " s ", "time", "golden run", "ledger + ipfs", "polling")
    kept = []
    for line in text.splitlines():
        if any(s in line.lower() for s in skip) or line.startswith(_MEASURED_ROWS):
            continue
        kept.append(_GAS.sub("<gas>", line))
    return kept


def compare(old: Path, new: Path) -> int:
    differences = 0
    for folder in sorted(p for p in old.iterdir() if p.is_dir()):
        other = new / folder.name
        if not other.is_dir():
            print(f"{folder.name}: missing in {new}")
            differences += 1
            continue
        pairs: list[tuple[str, list[str], list[str]]] = []
        for name in ("result.json", "receipts.json", "scores.json"):
            if (folder / name).exists() or (other / name).exists():
                a, b = (json.loads((f / name).read_text()) for f in (folder, other))
                if name == "scores.json":  # the provider's name follows from result.json
                    a, b = (sorted(row[1:] for row in rows) for rows in (a, b))
                pairs.append(
                    (
                        name,
                        json.dumps(_strip(a), indent=1, sort_keys=True).splitlines(),
                        json.dumps(_strip(b), indent=1, sort_keys=True).splitlines(),
                    )
                )
        pairs.append(
            (
                "report.md",
                _timeless_report((folder / "report.md").read_text()),
                _timeless_report((other / "report.md").read_text()),
            )
        )
        for name, a_lines, b_lines in pairs:
            diff = list(difflib.unified_diff(a_lines, b_lines, f"old/{name}", f"new/{name}", n=1))
            if diff:
                differences += 1
                print(f"== {folder.name}/{name}: differs")
                print("\n".join(diff[:60]))
            else:
                print(f"{folder.name}/{name}: identical")
    print("SAME" if differences == 0 else f"{differences} files differ")
    return 1 if differences else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the golden runs here")
    parser.add_argument("--only", nargs="*", help="run only these (names as the folders)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give --out or --compare")
    run(args.out, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
