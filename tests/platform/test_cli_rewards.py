"""A task's reward from the command line, on a devnet. A consortium's drawn committee of 5 (one
of them a liar that passes every update) scores a dag task's updates through the real client:
three good updates of two providers and a free rider's; then ``rewards status`` shows each
account's credits and share, every earner withdraws its own, the liar (1 of its 3 scores
against the decision, over the 10% tolerance) and the free rider have nothing to withdraw, the
publisher's refund takes back nothing (both pools were earned); a second task is funded from
the command line. Mistakes end in one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.chain.rewards import Rewards
from ledgerlearn.chain.vetting import Vetting
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.core.rules import Flow
from ledgerlearn.core.task_params import TaskParams
from tests.platform.chain.conftest import free_port, sha
from tests.platform.test_cli_operator import PASSWORD, base_env, one_line_error, run

TOKEN = 10**18
REWARD = 1000 * TOKEN
PASS, FAIL = 900_000, 100_000  # accuracies, fixed point (threshold 0.5)


@dataclass
class World:
    env: dict[str, str]
    work: Path
    names: dict[str, str]  # name -> address: publisher, v0-v4 (v4 the liar), p0-p2 (p2 free)
    publisher: LedgerClient

    def key(self, name: str) -> str:
        return str(self.work / f"{name}.json")

    def rewards(self) -> Rewards:
        return Rewards(self.publisher)


def drawn_task(**overrides: object) -> TaskParams:
    fields: dict[str, object] = {
        "model_spec_hash": sha("spec"),
        "model_spec_cid": "bafy-spec",
        "initial_weights_hash": sha("weights"),
        "initial_weights_cid": "bafy-weights",
        "flow": Flow.DAG,
        "threshold": 500_000,
        "quorum": 3,
        "max_faulty_validators": 1,
        "draw_size": 5,
        "committee": (),
        "fragment_hashes": (),
        "fragment_cids": (),
    }
    fields.update(overrides)
    return TaskParams(**fields)  # type: ignore[arg-type]


def _draw(publisher: LedgerClient, vettings: list[Vetting], task: int) -> list[str]:
    """Draw a task's committee from the pool; the members in order."""
    for vetting in vettings:
        vetting.commit_seed(task)
    info = vettings[0].info(task)
    chain = publisher.chain

    def mine_to(block: int) -> None:  # the next transaction lands in `block`
        chain.mine(block - 1 - int(chain.w3.eth.block_number))

    mine_to(info.commit_end)
    for vetting in vettings:
        vetting.reveal_seed(task)
    mine_to(info.reveal_end)
    vettings[0].draw(task)
    return [m for m, _ in publisher.committee(task)]


def _open(publisher: LedgerClient, vettings: list[Vetting]) -> list[str]:
    """Draw task 1's committee, approve it, post its fragments: open. The members in order."""
    members = _draw(publisher, vettings, 1)
    by_address = {v.client.address: v for v in vettings}
    for member in members[:3]:
        by_address[member].vote(1, True, "within limits")
    publisher.post_fragments(1, [sha(f"fragment {i}") for i in range(5)], ["bafy-f"] * 5)
    return members


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("rewards")
    net = Devnet(DevnetSettings(port=free_port(), state_file=work / "state.json"))
    net.start()
    try:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        accounts: dict[str, LocalAccount] = {
            name: Account.create()
            for name in ("deployer", "publisher", "v0", "v1", "v2", "v3", "v4", "p0", "p1", "p2")
        }
        for name, account in accounts.items():
            chain.fund(account.address, 100 * TOKEN)
            (work / f"{name}.json").write_text(json.dumps(Account.encrypt(account.key, PASSWORD)))
        founders = [
            Founder(accounts["publisher"].address, ("PUBLISHER",)),
            *[Founder(accounts[f"v{i}"].address, ("VALIDATOR",)) for i in range(5)],
            *[Founder(accounts[f"p{i}"].address, ("PROVIDER",)) for i in range(3)],
        ]
        settings = CouncilSettings(draw_commit_blocks=20, draw_reveal_blocks=20, vet_blocks=50)
        deployment = deploy_consortium(chain, accounts["deployer"], founders, settings)
        deployment.save(work / "deployment.json")
        client = {n: LedgerClient(chain, deployment, a) for n, a in accounts.items()}
        token = deployment.reward_token
        assert token is not None
        deployer = client["deployer"]  # the test token's owner
        mint = deployer.satellite("TestToken").functions.mint
        deployer.transact(mint(accounts["publisher"].address, 10 * REWARD))
        vettings = [Vetting(client[f"v{i}"]) for i in range(5)]
        for i, vetting in enumerate(vettings):
            client[f"v{i}"].register_member("/ip4/127.0.0.1/tcp/4001")
            vetting.join_pool()
        publisher = client["publisher"]
        publisher.publish_task(drawn_task())
        _open(publisher, vettings)
        Rewards(publisher).fund(1, token, REWARD, 7000, 1000)
        # p0: a, b; p1: c; p2 (free rider): free. v4, the liar, passes a and the free rider's
        # update; the others score as they find. Credits (with, against): v0 4/0, v1 4/0,
        # v2 2/0, v3 1/0, v4 1/1.
        root = sha("weights")
        scored = [
            ("p0", "a", ["v0", "v4", "v1"], [PASS, PASS, PASS]),
            ("p0", "b", ["v0", "v1", "v2"], [PASS, PASS, PASS]),
            ("p1", "c", ["v2", "v0", "v1"], [PASS, PASS, PASS]),
            ("p2", "free", ["v4", "v0", "v1", "v3"], [PASS, FAIL, FAIL, FAIL]),
        ]
        for provider in ("p0", "p1", "p2"):
            client[provider].join_task(1)
        for provider, label, members, scores in scored:
            client[provider].submit_dag_update(1, [root], sha(label), f"bafy-{label}", 10)
            for member, score in zip(members, scores, strict=True):
                client[member].submit_score(1, sha(label), score)
        publisher.close_task(1)
        env = {
            **base_env(work),
            "LEDGERLEARN_CHAIN__RPC_URL": net.rpc_url,
            "LEDGERLEARN_CHAIN__DEPLOYMENT_FILE": str(work / "deployment.json"),
        }
        names = {n: a.address for n, a in accounts.items() if n != "deployer"}
        yield World(env, work, names, publisher)
    finally:
        net.stop()


OWED = {  # by hand: 700 * (2, 1, 0) / 3; 300 * (4, 4, 2, 1, 0) / 11, the liar's 1/1 over 10%
    "p0": 700 * TOKEN * 2 // 3,
    "p1": 700 * TOKEN // 3,
    "p2": 0,
    "v0": 300 * TOKEN * 4 // 11,
    "v1": 300 * TOKEN * 4 // 11,
    "v2": 300 * TOKEN * 2 // 11,
    "v3": 300 * TOKEN // 11,
    "v4": 0,
}


def row(table: str, address: str) -> list[str]:
    """The cells after the account in ``address``'s row of a printed table."""
    line = next(line for line in table.splitlines() if address in line)
    return [cell.strip() for cell in line.strip().strip("│").split("│")][1:]


def test_status_shows_the_terms_and_every_accounts_credits(world: World) -> None:
    shown = run("rewards", "status", "1", env=world.env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "1,000.00 LLT escrowed" in out and "70% for the providers" in out
    assert "past 10% of its scores against the decision" in out
    assert "closed: shares can be withdrawn" in out
    rows = {name: row(out, world.names[name]) for name in OWED}
    # role, accepted (providers), with / against the decision (validators), owed, withdrawn
    assert rows["p0"] == ["provider", "2", "", "", "466.67", "0.00"]
    assert rows["p2"] == ["provider", "0", "", "", "0.00", "0.00"]
    assert rows["v0"] == ["validator", "", "4", "0", "109.09", "0.00"]
    assert rows["v4"] == ["validator", "", "1", "1", "0.00", "0.00"]


def test_every_earner_withdraws_its_own_share_and_the_liar_has_nothing(world: World) -> None:
    rewards = world.rewards()
    token = world.publisher.deployment.reward_token
    assert token is not None
    for name, owed in OWED.items():
        address = world.names[name]
        assert rewards.owed(1, address) == owed, name
        done = run("rewards", "withdraw", "1", "--keystore", world.key(name), env=world.env)
        if owed == 0:  # the free rider, the liar
            one_line_error(done, address, "earned nothing in task 1")
            continue
        assert done.returncode == 0, done.stderr
        assert f"{owed / TOKEN:,.2f} tokens withdrawn to {address}" in done.stdout
        assert rewards.balance(token, address) == owed
        again = run("rewards", "withdraw", "1", "--keystore", world.key(name), env=world.env)
        one_line_error(again, "withdrew its share of task 1 already")
    assert rewards.escrow(1).paid == sum(OWED.values()) == REWARD - 2  # 2 units of dust
    # both pools were earned: the publisher's refund takes back nothing, once
    key = ("--keystore", world.key("publisher"))
    refunded = run("rewards", "refund", "1", *key, env=world.env)
    assert refunded.returncode == 0, refunded.stderr
    assert "0.00 tokens back to the publisher" in refunded.stdout
    one_line_error(run("rewards", "refund", "1", *key, env=world.env), "refund was made already")
    shown = run("rewards", "status", "1", env=world.env).stdout
    assert row(shown, world.names["v0"])[-2:] == ["0.00", "109.09"]  # owed nothing more


def test_a_new_task_is_funded_from_the_command_line(world: World) -> None:
    # a client of its own: the publisher's earlier one counted nonces the CLI used since
    account = Account.from_key(Account.decrypt(Path(world.key("publisher")).read_text(), PASSWORD))
    publisher = world.publisher.with_account(account)
    task = str(publisher.publish_task(drawn_task(initial_weights_hash=sha("weights 2"))))
    key = ("--keystore", world.key("publisher"))
    funded = run(
        "rewards", "fund", task, "--amount", "12.5", "--provider-share", "60",
        "--tolerance", "5", *key, env=world.env,
    )  # fmt: skip
    assert funded.returncode == 0, funded.stderr
    assert f"task {task}: 12.50 LLT escrowed, 60% for the providers" in funded.stdout
    escrow = world.rewards().escrow(int(task))
    assert (escrow.amount, escrow.provider_share_bps, escrow.max_disagreement_bps) == (
        125 * TOKEN // 10,
        6000,
        500,
    )
    one_line_error(
        run("rewards", "fund", task, "--amount", "1", *key, env=world.env),
        f"task {task} has a reward already",
    )
    not_mine = ("--keystore", world.key("p0"))
    one_line_error(
        run("rewards", "fund", task, "--amount", "1", *not_mine, env=world.env),
        f"did not publish task {task}",
    )
    one_line_error(
        run("rewards", "withdraw", task, *not_mine, env=world.env),
        f"task {task} is not closed yet",
    )
    for bad in ("0", "1e-30"):
        one_line_error(
            run("rewards", "fund", task, "--amount", bad, *key, env=world.env), "--amount"
        )
    one_line_error(
        run("rewards", "fund", task, "--amount", "1", "--token", "0x123", *key, env=world.env),
        "--token",
    )
    one_line_error(
        run("rewards", "fund", task, "--amount", "10000000", *key, env=world.env),
        "holds",
    )
    one_line_error(
        run("rewards", "status", "999", env=world.env), "task 999 has no reward escrowed"
    )


def test_a_person_vets_a_drawn_task_from_the_command_line(world: World) -> None:
    # issue 14, section 2: a member decides instead of its policy (`validator vet`)
    keys = {
        name: Account.from_key(Account.decrypt(Path(world.key(name)).read_text(), PASSWORD))
        for name in ("publisher", "v0", "v1", "v2", "v3", "v4")
    }
    publisher = world.publisher.with_account(keys["publisher"])
    task = publisher.publish_task(drawn_task(initial_weights_hash=sha("weights 3")))
    vettings = [Vetting(world.publisher.with_account(keys[f"v{i}"])) for i in range(5)]
    members = _draw(publisher, vettings, task)
    name = next(n for n, a in world.names.items() if a == members[0])
    vet = ("validator", "vet", str(task), "--keystore", world.key(name))
    one_line_error(run(*vet, "--reason", "ok", env=world.env), "give --approve or --reject")
    one_line_error(run(*vet, "--approve", env=world.env), "give --reason")
    done = run(*vet, "--reject", "--reason", "the data kind is not declared", env=world.env)
    assert done.returncode == 0, done.stderr
    assert f"voted to reject task {task}: the data kind is not declared" in done.stdout
    assert Vetting(world.publisher).info(task).rejections == 1
    one_line_error(run(*vet, "--approve", "--reason", "ok", env=world.env), "already voted")
