"""The private kubo configuration."""

from __future__ import annotations

from typing import Any

from ledgerlearn.storage import PeerAddress
from ledgerlearn.storage.repo_config import private_config

A = "QmNjUGB2sfHxWiWbAXDVyEXoXVrXYZbzpsA514ec5YW6zj"


def _kubo_defaults() -> dict[str, Any]:
    return {
        "Bootstrap": [
            "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"
        ],
        "Discovery": {"MDNS": {"Enabled": True}},
        "Addresses": {
            "Swarm": ["/ip4/0.0.0.0/tcp/4001"],
            "API": "/ip4/127.0.0.1/tcp/5001",
            "Gateway": "/ip4/127.0.0.1/tcp/8080",
        },
        "AutoNAT": {},
        "Swarm": {"DisableNatPortMap": False, "RelayClient": {}, "RelayService": {}},
        "Peering": {"Peers": None},
        "Datastore": {
            "Spec": {
                "mounts": [
                    {"child": {"type": "flatfs", "sync": True}, "mountpoint": "/blocks"},
                    {"child": {"type": "levelds"}, "mountpoint": "/"},
                ]
            }
        },
        "Identity": {"PeerID": "Qmself"},
    }


def test_private_config_closes_the_swarm() -> None:
    original = _kubo_defaults()
    cfg = private_config(
        original,
        swarm_addresses=["/ip4/127.0.0.1/tcp/0"],
        peers=[
            PeerAddress("/ip4/127.0.0.1/tcp/1", A),
            PeerAddress("/ip4/10.0.0.2/tcp/1", A),
            PeerAddress("/ip4/127.0.0.1/tcp/1", A),
        ],
        sync_datastore=False,
    )
    assert cfg["Bootstrap"] == []
    assert cfg["Discovery"]["MDNS"]["Enabled"] is False
    assert cfg["Addresses"]["Swarm"] == ["/ip4/127.0.0.1/tcp/0"]
    assert cfg["Addresses"]["API"] == [] and cfg["Addresses"]["Gateway"] == []
    assert cfg["AutoNAT"]["ServiceMode"] == "disabled"
    assert cfg["Swarm"]["DisableNatPortMap"] is True
    assert cfg["Swarm"]["RelayClient"]["Enabled"] is False
    # no provider records: members learn no CID before its author reveals it on chain
    assert cfg["Experimental"]["StrategicProviding"] is True
    assert cfg["Reprovider"]["Interval"] == "0"
    assert cfg["Peering"]["Peers"] == [
        {"ID": A, "Addrs": ["/ip4/127.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1"]}
    ]
    assert cfg["Datastore"]["Spec"]["mounts"][0]["child"]["sync"] is False
    assert cfg["Identity"] == {"PeerID": "Qmself"}
    assert original == _kubo_defaults()  # the input is not modified


def test_private_config_without_peers_has_no_peering() -> None:
    cfg = private_config(_kubo_defaults(), swarm_addresses=[])
    assert cfg["Peering"]["Peers"] is None
    assert cfg["Datastore"]["Spec"]["mounts"][0]["child"]["sync"] is True
