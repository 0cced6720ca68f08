"""The governance part of a consortium run's report, from a hand-made record: the council's
decisions, the vetting votes with their reasons, the reputation table, who earned what."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from rich.console import Console

from ledgerlearn.lab.consortium_results import (
    ConsortiumRecord,
    DecisionRow,
    EarningRow,
    ProviderRow,
    ValidatorRow,
    VettingRow,
    VoteRow,
)
from ledgerlearn.lab.report.consortium import show_consortium
from ledgerlearn.lab.report.federation import write_report
from tests.platform.lab.report.test_federation import PNG_MAGIC, federation_result

TOKEN = 10**18


def _record() -> ConsortiumRecord:
    approve = VoteRow("v0", True, "within limits: 2,410 parameters", 40)
    reject = VoteRow("v1", False, "1,216,285 parameters, above the limit of 1,000,000", 52)
    return ConsortiumRecord(
        members=6,
        decisions=[
            DecisionRow(
                1,
                "admit v2 as a validator",
                ["admit 0xV2", "grant VALIDATOR"],
                4,
                1,
                0,
                4,
                "executed",
            ),
            DecisionRow(2, "remove mallory", ["remove 0xM"], 2, 3, 0, 4, "defeated"),
        ],
        vetting=[
            VettingRow(
                1,
                2410,
                "open",
                ["v0", "v1", "v2"],
                ["v0", "v1", "v2"],
                "0x" + "ab" * 32,
                ["v0", "v1"],
                [approve],
                41,
                9,
            ),
            VettingRow(
                2,
                1_216_285,
                "rejected",
                ["v0", "v1", "v2"],
                ["v0", "v2"],
                "0x" + "cd" * 32,
                ["v1", "v2"],
                [reject],
                None,
                0,
            ),
        ],
        providers=[
            ProviderRow("alice", "honest", 3, 0, 0, False),
            ProviderRow("mallory", "free_rider", 0, 2, 0, True),
        ],
        validators=[
            ValidatorRow("v0", "honest", True, 5, 5, 0, 0, 0, 1),
            ValidatorRow("v1", "inflate", True, 5, 3, 0, 0, 1, 2),
            ValidatorRow("v2", "honest", False, 0, 0, 0, 0, 0, 1),
        ],
        reward=1000 * TOKEN,
        provider_share_bps=7000,
        max_disagreement_bps=1000,
        earnings=[
            EarningRow("alice", "provider", "honest", 3, 0, 0, 700 * TOKEN),
            EarningRow("mallory", "provider", "free_rider", 0, 0, 0, 0),
            EarningRow("v0", "validator", "honest", 0, 5, 0, 300 * TOKEN),
            EarningRow("v1", "validator", "inflate", 0, 3, 2, 0),
            EarningRow("v2", "validator", "honest", 0, 0, 0, 0),
        ],
    )


def test_the_report_shows_the_council_the_vetting_the_reputation_and_the_reward(
    tmp_path: Path,
) -> None:
    result = dataclasses.replace(federation_result(), consortium=_record())
    report = write_report(result, tmp_path, title="consortium").read_text()
    council = report[report.index("## The consortium's council") :]
    assert "6 member organisations" in council
    assert (
        "| 1 | admit v2 as a validator | admit 0xV2; grant VALIDATOR | 4 | 1 | 0 | 4 | executed |"
        in council
    )
    assert "| 2 | remove mallory | remove 0xM | 2 | 3 | 0 | 4 | defeated |" in council
    # each task's draw and its votes with their reasons; the rejected one never opened
    assert "**Task 1** (2,410 parameters): **open**, opened at block 41, 9 update(s)" in council
    assert "**Task 2** (1,216,285 parameters): **rejected**, never opened (0 update(s))" in council
    assert "| v1 | reject | 1,216,285 parameters, above the limit of 1,000,000 | 52 |" in council
    assert "| mallory | free_rider | 0 | 2 | 0 | yes |" in council
    assert "| v1 | inflate | yes | 5 | 3 (60.0%) | 0 | 0 | 1 | 2 |" in council
    assert "| v2 | honest | no | 0 | 0 (-) | 0 | 0 | 0 | 1 |" in council
    # who earned what, in tokens of 18 decimals
    assert "1,000.00 test tokens escrowed by the publisher: 70% to the providers" in council
    assert "against the decision more than 10% of the time forfeits its share" in council
    assert "| alice | provider | honest | 3 | 0 | 0 | 700.00 |" in council
    assert "| mallory | provider | free_rider | 0 | 0 | 0 | 0.00 |" in council
    assert "| v0 | validator | honest | 0 | 5 | 0 | 300.00 |" in council
    assert "| v1 | validator | inflate | 0 | 3 | 2 | 0.00 |" in council
    assert "[rewards.png](rewards.png)" in report
    assert (tmp_path / "rewards.png").read_bytes().startswith(PNG_MAGIC)
    saved = json.loads((tmp_path / "result.json").read_text())["consortium"]
    assert saved["earnings"][1] == {
        "account": "mallory",
        "role": "provider",
        "behaviour": "free_rider",
        "accepted_updates": 0,
        "agreeing_scores": 0,
        "disagreeing_scores": 0,
        "withdrawn": 0,
    }
    console = Console(record=True, width=200)
    show_consortium(console, result)
    text = console.export_text()
    assert "The council's decisions" in text and "defeated" in text
    assert "above the limit of 1,000,000" in text and "300.00" in text


def test_a_laboratory_run_has_no_governance_sections(tmp_path: Path) -> None:
    report = write_report(federation_result(), tmp_path, title="lab").read_text()
    assert "council" not in report.lower() and "## Rewards" not in report
    assert not (tmp_path / "rewards.png").exists()
