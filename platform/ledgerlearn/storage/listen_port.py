"""The TCP port an agent's IPFS node listens on, kept across restarts.

A member registers its node's listen address on chain, and the other members dial it. A node
listening on ``tcp/0`` gets a new port at every start, so the registered address would go stale
at every restart. Unless a port is configured, the node therefore listens on ``tcp/0`` once,
and the port it got is kept in its repository (:data:`KEPT_FILE`, written back after the node
started) and asked for again at the next start.

Whether a port is free is checked by binding it here first: libp2p binds its listeners with
``SO_REUSEPORT``, so kubo itself would share a port another libp2p node of the same user
listens on (both start, and connections land on either). The check binds with
``SO_REUSEADDR`` only, as Go's listeners do, so the connections of a previous run waiting in
``TIME_WAIT`` do not count as a holder.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Sequence
from pathlib import Path

from ledgerlearn import strict_json
from ledgerlearn.errors import StorageError

__all__ = ["KEPT_FILE", "choose_listen_address", "keep_port", "port_taken", "swarm_address"]

_LOG = logging.getLogger(__name__)

#: File of the repository that keeps the port (``{"port": N}``).
KEPT_FILE = "ledgerlearn-listen.json"
_TCP_PORT = re.compile(r"/tcp/(\d+)(?:/|$)")


def swarm_address(host: str, port: int) -> str:
    """The multiaddress of ``host:port`` over TCP (``/ip4/...`` or ``/ip6/...``)."""
    family = "ip6" if ipaddress.ip_address(host).version == 6 else "ip4"
    return f"/{family}/{host}/tcp/{port}"


def port_taken(host: str, port: int) -> bool:
    """Whether another socket holds ``host:port`` (a plain bind fails)."""
    family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _kept_port(repo: Path) -> int | None:
    path = repo / KEPT_FILE
    if not path.exists():
        return None
    try:
        port = strict_json.load_file(path).get("port")
    except (OSError, ValueError, AttributeError) as exc:
        _LOG.warning("ignoring %s: %s", path, exc)
        return None
    if not isinstance(port, int) or not 1 <= port <= 65535:
        _LOG.warning("ignoring %s: no port between 1 and 65535 in it", path)
        return None
    return port


def choose_listen_address(repo: Path, host: str, port: int | None) -> str:
    """The address the node on ``repo`` listens on at this start.

    Parameters
    ----------
    repo
        The node's repository (where the port is kept).
    host
        The IP address to listen on.
    port
        A configured port, or None for the kept one (a new one at the first start, or when
        the kept one is taken: logged at INFO, since the member then registers a new address).

    Raises
    ------
    StorageError
        If the configured port is taken.
    """
    if port is not None:
        if port_taken(host, port):
            raise StorageError(
                f"IPFS port {port} on {host} is in use by another process: give another "
                "--ipfs-port (LEDGERLEARN_STORAGE__SWARM_PORT), or leave it out to use a kept one"
            )
        return swarm_address(host, port)
    kept = _kept_port(repo)
    if kept is None:
        return swarm_address(host, 0)
    if port_taken(host, kept):
        _LOG.info(
            "the kept IPFS port %d on %s is in use by another process: listening on a new port "
            "(the member's registered address changes)",
            kept,
            host,
        )
        return swarm_address(host, 0)
    return swarm_address(host, kept)


def keep_port(repo: Path, listen_addresses: Sequence[str]) -> int | None:
    """Write the node's TCP port to the repository for the next start; returns it.

    Parameters
    ----------
    repo
        The node's repository.
    listen_addresses
        What the running node reports (``/ip4/127.0.0.1/tcp/40123``, ...); the first TCP
        port among them is kept.

    Raises
    ------
    StorageError
        If the file cannot be written.
    """
    for address in listen_addresses:
        match = _TCP_PORT.search(address)
        if match is not None:
            port = int(match.group(1))
            break
    else:
        return None
    path = repo / KEPT_FILE
    try:
        strict_json.write_file(path, {"port": port})
    except OSError as exc:
        raise StorageError(f"cannot keep the IPFS port in {path}: {exc}") from exc
    return port
