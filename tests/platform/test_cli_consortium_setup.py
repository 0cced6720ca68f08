"""Setting a consortium up with two commands per organisation, on a devnet (issue 15, section
1): ``consortium init`` deploys the council-governed contracts and writes one bundle per
founding organisation (nothing secret of one in another's, no private account key anywhere);
``consortium join`` checks the bundle against the chain (chain id, genesis, every contract's
code) and the organisation's key, registers its IPFS node in the private swarm, writes its
agents' settings; mistakes end in one line."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.chain.backend import connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.devnet import Devnet
from ledgerlearn.config import ChainSettings, DevnetSettings
from ledgerlearn.storage.swarm_key import SwarmKey
from tests.platform.chain.conftest import free_port
from tests.platform.test_cli_operator import PASSWORD, base_env, one_line_error, run

ORGS = {"hospital-a": "publisher", "lab-b": "validator", "clinic-c": "provider,validator"}


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What a command printed, its lines wrapped by the console joined again."""
    return " ".join(result.stdout.split())


@dataclass
class World:
    env: dict[str, str]
    work: Path
    url: str
    accounts: dict[str, LocalAccount]
    bundles: Path

    def key(self, name: str) -> str:
        return str(self.work / f"{name}.json")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("setup")
    net = Devnet(DevnetSettings(port=free_port(), state_file=work / "state.json"))
    net.start()
    try:
        chain = connect(ChainSettings(backend="rpc", rpc_url=net.rpc_url))
        accounts = {name: Account.create() for name in ["deployer", *ORGS]}
        for name, account in accounts.items():
            chain.fund(account.address, 10**20)
            (work / f"{name}.json").write_text(json.dumps(Account.encrypt(account.key, PASSWORD)))
        env = base_env(work)
        orgs = [f"--org={name}={accounts[name].address}:{roles}" for name, roles in ORGS.items()]
        bundles = work / "bundles"
        made = run(
            "consortium", "init", *orgs, "--keystore", str(work / "deployer.json"),
            "--rpc", net.rpc_url, "--out", str(bundles), env=env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert "holds no role" in said(made) and "private swarm key" in said(made)
        yield World(env, work, net.rpc_url, accounts, bundles)
    finally:
        net.stop()


def test_init_writes_one_bundle_per_organisation_and_no_private_key(world: World) -> None:
    assert sorted(p.name for p in world.bundles.iterdir()) == sorted(ORGS)
    keys = set()
    for name, roles in ORGS.items():
        folder = world.bundles / name
        assert sorted(p.name for p in folder.iterdir()) == ["bundle.json", "swarm.key"]
        bundle = json.loads((folder / "bundle.json").read_text())
        assert bundle["organisation"] == name
        assert bundle["account"] == world.accounts[name].address
        assert bundle["roles"] == roles.upper().split(",")
        assert set(bundle["code_hashes"]) >= {"Consortium", "LearningLedger", "Council"}
        keys.add(SwarmKey.load(folder / "swarm.key"))
        text = (folder / "bundle.json").read_text().lower()
        for account in world.accounts.values():  # no private key, of anyone
            assert account.key.hex().removeprefix("0x") not in text
    assert len(keys) == 1  # one consortium, one swarm


def test_join_checks_the_chain_and_registers_the_host(world: World, tmp_path: Path) -> None:
    home = tmp_path / "lab-b"
    join = (
        "consortium", "join", str(world.bundles / "lab-b"), "--keystore", world.key("lab-b"),
        "--home", str(home), "--rpc", world.url,
    )  # fmt: skip
    done = run(*join, env=world.env)
    assert done.returncode == 0, done.stderr
    assert "contracts checked" in said(done) and "validator run" in said(done)
    deployment = Deployment.load(home / "deployment.json")
    client = LedgerClient(connect(ChainSettings(backend="rpc", rpc_url=world.url)), deployment)
    member = client.member(world.accounts["lab-b"].address)
    assert member.peer_address.startswith("/ip4/127.0.0.1/tcp/") and "/p2p/" in member.peer_address
    assert member.peer_address in said(done)
    settings = dict(
        line.split("=", 1) for line in (home / "ledgerlearn.env").read_text().splitlines()
    )
    assert settings["LEDGERLEARN_STORAGE__SWARM_KEY_FILE"] == str(home / "swarm.key")
    assert settings["LEDGERLEARN_CHAIN__RPC_URL"] == world.url
    # joining again sends nothing: the same node, the same address
    nonce = client.chain.w3.eth.get_transaction_count(world.accounts["lab-b"].address)
    again = run(*join, env=world.env)
    assert again.returncode == 0, again.stderr
    assert client.chain.w3.eth.get_transaction_count(world.accounts["lab-b"].address) == nonce


def test_join_refuses_another_key_a_tampered_bundle_and_another_chain(
    world: World, tmp_path: Path
) -> None:
    bundle = world.bundles / "hospital-a"
    one_line_error(
        run(
            "consortium", "join", str(bundle), "--keystore", world.key("clinic-c"),
            "--home", str(tmp_path / "x"), "--rpc", world.url, env=world.env,
        ),
        "the bundle of hospital-a is for",
    )  # fmt: skip

    def tampered(change: dict[str, object], name: str) -> Path:
        copy = tmp_path / name
        copy.mkdir()
        document = json.loads((bundle / "bundle.json").read_text())
        for key, value in change.items():
            if isinstance(value, dict):
                document[key] = {**document[key], **value}
            elif value is None:
                del document[key]
            else:
                document[key] = value
        (copy / "bundle.json").write_text(json.dumps(document))
        (copy / "swarm.key").write_text((bundle / "swarm.key").read_text())
        return copy

    def join(folder: Path) -> subprocess.CompletedProcess[str]:
        return run(
            "consortium", "join", str(folder), "--keystore", world.key("hospital-a"),
            "--home", str(tmp_path / "home"), "--rpc", world.url, env=world.env,
        )  # fmt: skip

    other_code = {"code_hashes": {"LearningLedger": "0x" + "ab" * 32}}
    one_line_error(join(tampered(other_code, "code")), "LearningLedger code", "not the consortium")
    one_line_error(join(tampered({"deployment": {"chain_id": 1}}, "chain")), "chain id is 31337")
    one_line_error(join(tampered({"rpc_url": None}, "field")), "rpc_url", "Field required")
    one_line_error(join(tmp_path), "is not a bundle")


def test_init_refuses_to_write_bundles_over_a_file_or_a_folder_in_use(
    world: World, tmp_path: Path
) -> None:
    def init(out: Path) -> subprocess.CompletedProcess[str]:
        return run(
            "consortium", "init", f"--org=lab-b={world.accounts['lab-b'].address}:validator",
            "--keystore", world.key("deployer"), "--rpc", world.url, "--out", str(out),
            env=world.env,
        )  # fmt: skip

    a_file = tmp_path / "bundles.txt"
    a_file.write_text("notes\n")
    one_line_error(init(a_file), "is a file")
    assert a_file.read_text() == "notes\n"  # untouched
    one_line_error(init(world.bundles), "is not empty")
    assert sorted(p.name for p in world.bundles.iterdir()) == sorted(ORGS)


def test_a_member_writes_the_bundle_of_an_admitted_organisation(
    world: World, tmp_path: Path
) -> None:
    home = tmp_path / "lab-b"
    joined = run(
        "consortium", "join", str(world.bundles / "lab-b"), "--keystore", world.key("lab-b"),
        "--home", str(home), "--rpc", world.url, env=world.env,
    )  # fmt: skip
    assert joined.returncode == 0, joined.stderr

    def bundle(name: str, account: str, out: Path) -> subprocess.CompletedProcess[str]:
        return run(
            "consortium", "bundle", name, "--account", account, "--home", str(home),
            "--out", str(out), env=world.env,
        )  # fmt: skip

    # clinic-c holds its roles on chain (here a founder; later members: once the council
    # admitted them): its bundle has them, the deployment and the swarm key lab-b runs with
    made = bundle("clinic-c", world.accounts["clinic-c"].address, tmp_path / "out")
    assert made.returncode == 0, made.stderr
    assert "epoch 0" in said(made)
    document = json.loads((tmp_path / "out" / "clinic-c" / "bundle.json").read_text())
    founders = json.loads((world.bundles / "clinic-c" / "bundle.json").read_text())
    assert document["roles"] == ["PROVIDER", "VALIDATOR"]
    assert document["code_hashes"] == founders["code_hashes"]
    assert document["deployment"] == founders["deployment"]
    key = SwarmKey.load(tmp_path / "out" / "clinic-c" / "swarm.key")
    assert key == SwarmKey.load(home / "swarm.key")
    again = run(
        "consortium", "join", str(tmp_path / "out" / "clinic-c"), "--keystore",
        world.key("clinic-c"), "--home", str(tmp_path / "clinic-c"), "--rpc", world.url,
        env=world.env,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr  # the bundle passes join's checks

    stranger = Account.create().address
    one_line_error(bundle("stranger", stranger, tmp_path / "x"), "holds no role")
    one_line_error(bundle("bad name!", stranger, tmp_path / "x"), "a name of letters")
    one_line_error(
        bundle("clinic-c", world.accounts["clinic-c"].address, tmp_path / "out"), "exists"
    )
    SwarmKey.generate().write(home / "swarm.key")  # not the consortium's key
    one_line_error(
        bundle("clinic-c", world.accounts["clinic-c"].address, tmp_path / "y"),
        "not the consortium's current one",
    )
    elsewhere = run(
        "consortium", "bundle", "c", "--account", stranger, "--home", str(tmp_path / "none"),
        "--out", str(tmp_path / "z"), env=world.env,
    )  # fmt: skip
    one_line_error(elsewhere, "not a joined organisation's folder")
