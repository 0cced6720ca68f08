"""A member the council removed is cut off from the private swarm (THREATS K4, second half), on
the real contracts (in-process EVM) and real kubo nodes: the remaining members' agents replace
the swarm key (one rotation, sealed to each of them), restart their nodes with it and keep
talking; the removed member's node, still holding the old key, can neither connect nor fetch.
A member admitted afterwards gets the key from the others and joins the swarm."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledgerlearn.agents.participant import Participant
from ledgerlearn.agents.peering import Peering
from ledgerlearn.agents.swarm_rotation import SwarmRotation
from ledgerlearn.chain.backend import Chain, connect
from ledgerlearn.chain.client import LedgerClient
from ledgerlearn.chain.consortium_deployment import CouncilSettings, Founder, deploy_consortium
from ledgerlearn.chain.council import Council
from ledgerlearn.chain.deployment import Deployment
from ledgerlearn.chain.swarm_keys import SwarmKeys
from ledgerlearn.config import ChainSettings, StorageSettings
from ledgerlearn.errors import ContentUnavailableError, StorageError
from ledgerlearn.storage import IpfsNode
from ledgerlearn.storage.swarm_key import SwarmKey

SETTINGS = CouncilSettings(voting_delay_blocks=1, voting_period_blocks=5, timelock_delay_s=1)


@dataclass
class Member:
    account: LocalAccount
    node: IpfsNode
    participant: Participant
    rotation: SwarmRotation
    key_file: Path

    @property
    def key(self) -> SwarmKey:
        return SwarmKey.load(self.key_file)


@dataclass
class Consortium:
    chain: Chain
    deployment: Deployment
    founding: SwarmKey
    root: Path
    newcomer: LocalAccount  # admitted by the council during the test
    members: dict[str, Member]

    def join(self, name: str, account: LocalAccount) -> Member:
        """Start ``name``'s node with the founding key (its bundle's) and register it."""
        key_file = self.root / name / "swarm.key"
        self.founding.write(key_file)
        settings = StorageSettings(repo_dir=self.root / name / "ipfs", swarm_key_file=key_file)
        node = IpfsNode(settings, handle_signals=False, start_fetch_worker=True).start()
        client = LedgerClient(self.chain, self.deployment, account)
        client.register_member(node.multiaddrs[0])
        participant = Participant(client, node, self.root / name / "state")
        rotation = SwarmRotation(
            participant, node, Peering(participant, node), key_file, bytes(account.key)
        )
        member = self.members[name] = Member(account, node, participant, rotation, key_file)
        return member

    def council_passes(self, build: str, *args: object) -> None:
        """A majority of the council votes for ``Council.<build>(*args)``; it is executed."""
        seats = self.council_members()
        voters = [m for m in self.members.values() if m.participant.address in seats]
        proposer = Council(voters[0].participant.client)
        pid = proposer.propose(getattr(proposer, build)(*args), f"{build} {args[0]}")
        self.chain.mine(SETTINGS.voting_delay_blocks + 1)
        for m in voters[: len(seats) // 2 + 1]:  # a majority of the council decides (at once)
            Council(m.participant.client).vote(pid, "for")
        self.chain.mine(SETTINGS.voting_period_blocks)
        assert proposer.advance(pid) == "queued"
        self.chain.advance_time(SETTINGS.timelock_delay_s + 1)
        assert proposer.advance(pid) == "executed"

    def council_members(self) -> list[str]:
        return Council(next(iter(self.members.values())).participant.client).members()

    def step_until(self, done: Callable[[], bool], names: list[str], rounds: int = 30) -> int:
        """Sync and step ``names``' rotations (a block each round) until ``done()``; the
        number of rounds taken."""
        for i in range(rounds):
            for name in names:
                m = self.members[name]
                m.participant.sync()
                m.rotation.peering.refresh()
                m.rotation.step()
            if done():
                return i
            self.chain.mine(1)
        raise AssertionError(f"not done after {rounds} rounds")


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[Consortium]:
    chain = connect(ChainSettings())
    accounts = [Account.create() for _ in range(5)]
    for account in accounts:
        chain.fund(account.address, 10**20)
    deployer, a, b, c = accounts[:4]
    founding = SwarmKey.generate()
    deployment = deploy_consortium(
        chain,
        deployer,
        [Founder(x.address, ("PROVIDER",)) for x in (a, b, c)],
        SETTINGS,
        swarm_key_hash=founding.key_hash,
    )
    chain.mine(1)
    lab = Consortium(chain, deployment, founding, tmp_path, accounts[4], {})
    try:
        for name, account in zip("abc", (a, b, c), strict=True):
            lab.join(name, account)
        yield lab
    finally:
        for m in lab.members.values():
            m.node.stop()


def test_a_removed_member_is_cut_off_and_a_later_one_let_in(
    consortium: Consortium, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    m = consortium.members
    a, b, c = m["a"], m["b"], m["c"]
    for x in (b, c):
        x.node.connect(a.node.multiaddrs[0])
    before = os.urandom(20_000)
    cid, digest = a.node.put(before)
    assert c.node.get(cid, digest, timeout_s=30) == before  # a member, with the key: served

    # nothing to rotate while nobody was removed
    consortium.step_until(lambda: True, ["a", "b", "c"])
    assert a.key == consortium.founding

    consortium.council_passes("remove", c.participant.address)
    rounds = consortium.step_until(
        lambda: a.key == b.key != consortium.founding and a.rotation.epoch == 1,
        ["a", "b", "c"],
    )
    swarm = a.participant.index.swarm
    assert swarm.epoch == 1 and swarm.cut_off == {c.participant.address}
    assert swarm.key_hashes[1] == a.key.key_hash
    assert sorted(member for _, member in swarm.shares) == sorted(
        [a.participant.address, b.participant.address]
    )  # sealed to the two remaining members, not to the removed one
    assert c.key == consortium.founding  # it keeps the old key: useless now
    assert rounds <= 5
    rotated = [r for r in caplog.records if "swarm key rotated to epoch 1" in r.getMessage()]
    assert len(rotated) == 1  # one member rotated; the other waited its turn and adopted it

    after = os.urandom(20_000)
    new_cid, new_digest = a.node.put(after)
    assert b.node.get(new_cid, new_digest, timeout_s=30) == after  # the members still talk
    with pytest.raises(StorageError, match="cannot connect"):
        c.node.connect(a.node.multiaddrs[0])
    with pytest.raises(ContentUnavailableError):
        c.node.get(new_cid, new_digest, timeout_s=5)
    assert c.node.connected_peers() == []  # its connections dropped with the others' restart
    assert not any(r.levelno >= logging.WARNING for r in caplog.records), [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    ]

    # an organisation admitted later joins with the founding key of its bundle, gets the
    # current one from a member and enters the swarm
    newcomer = consortium.newcomer
    consortium.council_passes("admit", newcomer.address, ["PROVIDER"])
    d = consortium.join("d", newcomer)
    consortium.step_until(lambda: d.key == a.key, ["a", "b", "d"])
    assert d.rotation.epoch == 1
    d.rotation.peering.refresh()
    assert d.node.get(new_cid, new_digest, timeout_s=30) == after
    shared = [r for r in caplog.records if "shared with" in r.getMessage()]
    assert len(shared) == 1


def test_a_member_given_a_bad_share_asks_and_another_member_repairs_it(
    consortium: Consortium, caplog: pytest.LogCaptureFixture
) -> None:
    # a lying rotator: after c's removal, a seals the new key to itself and to d, but gives b
    # a share of another key (well formed: only b can tell, by the key hash)
    caplog.set_level(logging.INFO)
    m = consortium.members
    a, b, c = m["a"], m["b"], m["c"]
    consortium.council_passes("remove", c.participant.address)
    consortium.council_passes("admit", consortium.newcomer.address, ["PROVIDER"])
    d = consortium.join("d", consortium.newcomer)
    a.participant.sync()
    index = a.participant.index
    key, other = SwarmKey.generate(), SwarmKey.generate()
    sealed = {
        x.participant.address: (other if x is b else key).seal(
            index.members[x.participant.address][1]
        )
        for x in (a, b, d)
    }
    SwarmKeys(a.participant.client).rotate([c.participant.address], key.key_hash, sealed, 1)

    consortium.step_until(lambda: a.key == b.key == d.key == key, ["a", "b", "d"])
    swarm = b.participant.index.swarm
    me = b.participant.address
    assert swarm.requests[(1, me)] == 1  # asked once
    assert len(swarm.shares[(1, me)]) == 2  # the bad share, then the repair
    assert swarm.sharers[(1, me)] == {a.participant.address, d.participant.address}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and a.participant.address in warnings[0], warnings
    assert "another key than the epoch's hash names" in warnings[0]

    for x in (a, d):
        b.node.connect(x.node.multiaddrs[0])
    content = os.urandom(20_000)
    cid, digest = d.node.put(content)
    assert b.node.get(cid, digest, timeout_s=30) == content  # back in the swarm


def test_a_member_removed_before_it_registered_its_node_is_cut_off_too(
    consortium: Consortium, tmp_path: Path
) -> None:
    # admitted, handed its bundle (the current key), removed before it ever registered a node:
    # it holds the key all the same, so the members rotate
    m = consortium.members
    a, b, c = m["a"], m["b"], m["c"]
    stranger = consortium.newcomer
    consortium.council_passes("admit", stranger.address, ["PROVIDER"])
    consortium.council_passes("remove", stranger.address)
    consortium.step_until(lambda: a.key == b.key == c.key != consortium.founding, ["a", "b", "c"])
    swarm = a.participant.index.swarm
    assert swarm.epoch == 1 and swarm.cut_off == {stranger.address}

    bundle_key = tmp_path / "stranger" / "swarm.key"
    consortium.founding.write(bundle_key)  # what its bundle carried
    settings = StorageSettings(repo_dir=tmp_path / "stranger" / "ipfs", swarm_key_file=bundle_key)
    node = IpfsNode(settings, handle_signals=False).start()
    try:
        with pytest.raises(StorageError, match="cannot connect"):
            node.connect(a.node.multiaddrs[0])
    finally:
        node.stop()
