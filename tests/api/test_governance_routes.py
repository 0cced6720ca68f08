"""The gateway's governance reads on a consortium deployment (a real gateway process on the
devnet): the council and its proposals in words, a task's draw and its vetting votes with their
reasons, and reputation; a laboratory deployment answers 404 for the council."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
from ledgerlearn.chain.council import Council
from ledgerlearn.chain.vetting import Vetting, vote_typed_data
from ledgerlearn.core.draw import draw_committee, draw_seed
from ledgerlearn.core.task_params import TaskParams
from ledgerlearn_gateway.client import GatewayClient, GatewayError
from tests.api.conftest import ETHER, GatewayProcess, World, make_world, publication_form
from tests.api.test_auth import send, signed
from tests.platform.chain.conftest import sha
from tests.platform.test_cli_operator import PASSWORD, base_env, one_line_error, run


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory, devnet) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """The lab world's accounts, redeployed as a consortium: everyone a founder."""
    root = tmp_path_factory.mktemp("governed")
    lab = make_world(root, devnet)
    founders = [
        Founder(lab.publisher.address, ("PUBLISHER",)),
        Founder(lab.relayer.address, ("PUBLISHER",)),
        *[Founder(v.address, ("VALIDATOR",)) for v in lab.validators],
        *[Founder(p.address, ("PROVIDER",)) for p in lab.providers],
    ]
    deployer = Account.create()
    lab.chain.fund(deployer.address, 100 * ETHER)
    settings = CouncilSettings(draw_commit_blocks=10, draw_reveal_blocks=10, vet_blocks=50)
    deployment = deploy_consortium(lab.chain, deployer, founders, settings)
    deployment.save(lab.deployment_file)
    world = replace(lab, deployment=deployment)
    for v in world.validators:
        client = LedgerClient(world.chain, deployment, v)
        client.register_member(world.node.multiaddrs[0])
        Vetting(client).join_pool()
    # a proposal, and a drawn task vetted by hand
    council = Council(LedgerClient(world.chain, deployment, world.validators[0]))
    council.propose(council.grant("PROVIDER", world.outsider.address), "let the outsider provide")
    publisher = LedgerClient(world.chain, deployment, world.publisher)
    publisher.publish_task(
        TaskParams(
            model_spec_hash=sha("spec"),
            model_spec_cid="bafy-spec",
            initial_weights_hash=sha("weights"),
            initial_weights_cid="bafy-weights",
            threshold=500_000,
            quorum=2,
            max_faulty_validators=1,
            draw_size=3,
            committee=(),
            fragment_hashes=(),
            fragment_cids=(),
        )
    )
    vettings = [Vetting(LedgerClient(world.chain, deployment, v)) for v in world.validators]
    for vetting in vettings:
        vetting.commit_seed(1)
    info = vettings[0].info(1)

    def mine_to(block: int) -> None:  # the next transaction lands in `block`
        world.chain.mine(block - 1 - int(world.chain.w3.eth.block_number))

    mine_to(info.commit_end)
    for vetting in vettings:
        vetting.reveal_seed(1)
    mine_to(info.reveal_end)
    vettings[0].draw(1)
    by_address = {v.client.address: v for v in vettings}
    members = [m for m, _ in publisher.committee(1)]
    by_address[members[0]].vote(1, True, "within limits: 650 parameters")
    by_address[members[1]].vote(1, False, "the data kind is not one we train on")
    yield world
    world.node.stop()


@pytest.fixture(scope="module")
def api(governed: World) -> Iterator[GatewayProcess]:
    process = GatewayProcess(governed, governed.root / "gateway").start()
    yield process
    process.stop()


def _get(api: GatewayProcess, path: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(api.url + path, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_council_and_its_proposals(api: GatewayProcess, governed: World) -> None:
    council = _get(api, "/council")
    assert len(council["members"]) == 2 + len(governed.validators) + len(governed.providers)
    assert council["timelock"] == governed.deployment.timelock
    assert council["proposals"] == 1
    proposals = _get(api, "/council/proposals")
    assert proposals["total"] == 1
    proposal = proposals["items"][0]
    assert proposal["description"] == "let the outsider provide"
    assert proposal["actions"][0]["summary"] == f"grant PROVIDER to {governed.outsider.address}"
    assert proposal["state"] == "defeated"  # nobody voted in its 20 blocks (the draw took 20)
    assert (proposal["votes_for"], proposal["quorum"]) == (0, council["members"].__len__() // 2 + 1)
    assert _get(api, "/council/proposals/1")["proposal_id"] == 1
    assert httpx.get(api.url + "/council/proposals/7", timeout=30).status_code == 404


def test_a_tasks_draw_is_re_derivable_and_its_votes_carry_reasons(api: GatewayProcess) -> None:
    vetting = _get(api, "/tasks/1/vetting")
    assert vetting["stage"] == "vetting" and vetting["draw_size"] == 3
    assert vetting["withheld"] == []
    assert sorted(vetting["seeds_revealed"]) == sorted(vetting["eligible"])
    reasons = {v["reason"]: v["approve"] for v in vetting["votes"]}
    assert reasons == {
        "within limits: 650 parameters": True,
        "the data kind is not one we train on": False,
    }
    task = _get(api, "/tasks/1")
    assert task["stage"] == "vetting" and task["draw_size"] == 3
    assert vetting["committee"] == task["committee"]


def test_the_draw_seen_through_the_gateway_matches_the_pure_recomputation(
    api: GatewayProcess, governed: World
) -> None:
    vetting = _get(api, "/tasks/1/vetting")
    validators = {v.address: v for v in governed.validators}
    seeds = [
        Vetting(LedgerClient(governed.chain, governed.deployment, validators[m])).seed(1)
        for m in vetting["seeds_revealed"]
    ]
    seed = draw_seed(1, seeds)
    assert vetting["seed"] == "0x" + seed.hex()
    assert vetting["committee"] == draw_committee(seed, vetting["eligible"], 3)


def test_reputation_counts_the_votes(api: GatewayProcess) -> None:
    table = _get(api, "/reputation")
    votes = sorted(v["votes"] for v in table["validators"])
    assert votes[-2:] == [1, 1]
    assert _get(api, "/tasks/1/reputation")["providers"] == []


def test_a_relayed_publication_is_refused_where_committees_are_drawn(
    api: GatewayProcess, governed: World
) -> None:
    # the drawn members' fragments are posted after the draw by the publisher itself: the
    # gateway says so before it stores anything, rather than relaying a publication that fails
    files, data = publication_form(governed)
    publisher = governed.publisher
    response = send(signed(governed, api.url, publisher, "POST", "/tasks", files=files, data=data))
    assert response.status_code == 409, response.text
    assert "ledgerlearn publish --draw-size N" in response.json()["message"]
    assert _get(api, "/tasks")["total"] == 1  # only the task published directly


def test_a_laboratory_deployment_has_no_council(gateway: GatewayProcess) -> None:
    response = httpx.get(gateway.url + "/council", timeout=30)
    assert response.status_code == 404
    assert "laboratory deployment" in response.json()["message"]


def test_a_member_votes_through_the_gateway_and_mistakes_are_named(
    api: GatewayProcess, governed: World, tmp_path: Path
) -> None:
    # the third drawn member has not voted yet
    members = _get(api, "/tasks/1/vetting")["committee"]
    by_address = {v.address: v for v in governed.validators}
    voter = by_address[members[2]]
    path = "/tasks/1/vetting/votes"
    with GatewayClient(api.url, voter) as client:
        info = client.info
    # a body whose vote is not the one signed: named, nothing relayed
    typed = vote_typed_data(
        info["chain_id"], info["vetting"], 1, True, "signed this", voter.address, 2**40
    )
    signature = "0x" + LedgerClient.sign_typed_data(voter, typed).hex()
    body = {"approve": True, "reason": "sent that", "deadline": 2**40, "signature": signature}
    answer = send(signed(governed, api.url, voter, "POST", path, json_body=body))
    assert answer.status_code == 422 and f"not the member {voter.address}" in answer.text
    long = {**body, "reason": "é" * 141}  # 141 characters, 282 bytes
    answer = send(signed(governed, api.url, voter, "POST", path, json_body=long))
    assert answer.status_code == 422 and "282 bytes" in answer.text, answer.text
    answer = send(signed(governed, api.url, governed.providers[0], "POST", path, json_body=body))
    assert answer.status_code == 403, answer.text  # not a validator
    # the member votes with `ledgerlearn api vet`: its key signs here, the gateway relays it
    # (and pays the gas)
    keystore = tmp_path / "member.json"
    keystore.write_text(json.dumps(Account.encrypt(voter.key, PASSWORD)))
    env = base_env(tmp_path)
    vet = ("api", "vet", "1", "--gateway", api.url, "--keystore", str(keystore))
    one_line_error(run(*vet, "--reason", "ok", env=env), "give --approve or --reject")
    before = governed.chain.w3.eth.get_balance(voter.address)
    done = run(*vet, "--approve", "--reason", "within limits: 650 parameters", env=env)
    assert done.returncode == 0, done.stderr
    assert "voted to approve task 1" in done.stdout
    assert governed.chain.w3.eth.get_balance(voter.address) == before  # the relayer paid
    deadline = time.monotonic() + 60
    while voter.address not in {v["member"] for v in _get(api, "/tasks/1/vetting")["votes"]}:
        assert time.monotonic() < deadline, "the relayed vote never reached the index"
        time.sleep(0.3)
    vote = next(v for v in _get(api, "/tasks/1/vetting")["votes"] if v["member"] == voter.address)
    assert (vote["approve"], vote["reason"]) == (True, "within limits: 650 parameters")
    # once only
    with GatewayClient(api.url, voter) as client, pytest.raises(GatewayError, match="already"):
        client.vote(1, False, "changed my mind")


def test_a_laboratory_gateway_relays_no_vote(gateway: GatewayProcess, world: World) -> None:
    body = {"approve": True, "reason": "ok", "deadline": 2**40, "signature": "0x" + "11" * 65}
    voter = world.validators[0]
    answer = send(
        signed(world, gateway.url, voter, "POST", "/tasks/1/vetting/votes", json_body=body)
    )
    assert answer.status_code == 404, answer.text
    assert "laboratory deployment" in answer.json()["message"]
