"""Test hosts on this machine: Linux network namespaces joined by a bridge.

Each host is a network namespace with one interface, ``eth0``, holding a real address on a
private /24. The other end of its veth pair is a port of a bridge that lives in a namespace of
its own (the switch), so neither the machine's interfaces nor its firewall are touched; the
machine itself (the test driver: the operator's host) gets the subnet's first address over one
more veth. Cutting a host's link sets its switch port down: its packets go nowhere and its
connections stall, as when a cable is pulled; restoring the port brings them back. (This kernel
has no ``netem`` qdisc: latency cannot be injected, links can go down and up.)

A process enters a host with :func:`enter_host` (``setns``: its threads started afterwards,
kubo's included, live there) or runs a command in it through :meth:`Host.command`
(``ip netns exec``). Needs root and iproute2's ``ip``.
"""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType

from ledgerlearn.errors import ConfigError

__all__ = ["Host", "HostNetwork", "enter_host", "hosts_unavailable"]

log = logging.getLogger(__name__)

_CLONE_NEWNET = 0x40000000
_SUBNETS = ipaddress.IPv4Network("10.231.0.0/16")  # one /24 of it per network


@dataclass(frozen=True)
class Host:
    """One test host: a network namespace with an address on the network's bridge."""

    name: str
    netns: str
    address: str
    port: str  # its interface on the switch (the cable's far end)

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside this host."""
        return ["ip", "netns", "exec", self.netns, *argv]


def enter_host(netns: str) -> None:
    """Move the calling thread, and every thread it starts afterwards, into ``netns``.

    Call it first thing in a fresh process (e.g. a forked agent), before any socket is opened.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"cannot enter network namespace {netns}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def hosts_unavailable() -> str | None:
    """Why test hosts cannot be built here (None: they can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "building network namespaces needs root"
    if shutil.which("ip") is None:
        return "iproute2's `ip` command is not installed"
    return None


class HostNetwork:
    """Hosts on one bridge; a context manager that removes every namespace it made.

    ``tag`` makes the names unique (several networks may exist at once): namespaces are
    ``ll<tag>-<host>``, the driver's interface ``ll<tag>``.
    """

    def __init__(self, tag: str | None = None) -> None:
        reason = hosts_unavailable()
        if reason is not None:
            raise ConfigError(f"cannot build test hosts: {reason}")
        self.tag = tag or f"{random.randrange(16**4):04x}"  # noqa: S311 (a name, not a secret)
        self.switch = f"ll{self.tag}-switch"
        self.hosts: dict[str, Host] = {}
        self._subnet: ipaddress.IPv4Network | None = None
        self._namespaces: list[str] = []
        self._cut: set[str] = set()  # hosts whose cable is out

    @property
    def driver_address(self) -> str:
        """This machine's own address on the network (the operator's host)."""
        return str(self._network.network_address + 1)

    @property
    def _network(self) -> ipaddress.IPv4Network:
        if self._subnet is None:
            raise ConfigError("the host network is not started")
        return self._subnet

    def start(self) -> HostNetwork:
        """Build the switch and connect this machine to it."""
        self._subnet = _free_subnet()
        prefix = self._network.prefixlen
        self._netns_add(self.switch)
        own = f"ll{self.tag}"
        try:
            _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            _ip("-n", self.switch, "link", "set", "br0", "up")
            _ip("link", "add", own, "type", "veth", "peer", "name", "uplink", "netns", self.switch)
            _ip("-n", self.switch, "link", "set", "uplink", "master", "br0", "up")
            _ip("addr", "add", f"{self.driver_address}/{prefix}", "dev", own)
            _ip("link", "set", own, "up")
        except BaseException:
            self.stop()
            raise
        log.info("test network %s: this machine is %s", self._network, self.driver_address)
        return self

    def add(self, name: str) -> Host:
        """A new host on the bridge, with the next free address."""
        if name in self.hosts:
            raise ConfigError(f"host {name!r} exists already")
        index = len(self.hosts) + 2
        if index >= self._network.num_addresses - 1:
            raise ConfigError(f"a /{self._network.prefixlen} holds no more hosts")
        address = str(self._network.network_address + index)
        host = Host(name, f"ll{self.tag}-{name}", address, f"p{index}")
        self._netns_add(host.netns)
        _ip("-n", self.switch, "link", "add", host.port, "type", "veth",
            "peer", "name", "eth0", "netns", host.netns)  # fmt: skip
        _ip("-n", self.switch, "link", "set", host.port, "master", "br0", "up")
        _ip("-n", host.netns, "addr", "add", f"{address}/{self._network.prefixlen}", "dev", "eth0")
        _ip("-n", host.netns, "link", "set", "eth0", "up")
        _ip("-n", host.netns, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def cut(self, host: Host) -> None:
        """Unplug ``host``'s cable: its switch port goes down."""
        _ip("-n", self.switch, "link", "set", host.port, "down")
        self._cut.add(host.name)
        log.info("host %s (%s) cut off the network", host.name, host.address)

    def restore(self, host: Host) -> None:
        """Plug ``host``'s cable back in (nothing happens if it is in)."""
        if host.name not in self._cut:
            return
        _ip("-n", self.switch, "link", "set", host.port, "up")
        self._cut.discard(host.name)
        log.info("host %s (%s) back on the network", host.name, host.address)

    def stop(self) -> None:
        """Remove every namespace made (their interfaces go with them), the switch last."""
        for netns in reversed(self._namespaces):
            result = subprocess.run(
                ["ip", "netns", "delete", netns], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                log.warning("cannot remove network namespace %s: %s", netns, result.stderr.strip())
        self._namespaces.clear()
        self.hosts.clear()
        if self._subnet is not None:  # gone with the switch, but the kernel may take a while
            own = ["ip", "link", "delete", f"ll{self.tag}"]
            subprocess.run(own, capture_output=True, check=False)
            self._subnet = None

    def _netns_add(self, netns: str) -> None:
        _ip("netns", "add", netns)
        self._namespaces.append(netns)

    def __enter__(self) -> HostNetwork:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _ip(*argv: str) -> None:
    result = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ConfigError(f"`ip {' '.join(argv)}` failed: {result.stderr.strip()}")


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 of 10.231.0.0/16 that no interface of this machine is on (picked at random, so
    that networks built at the same time are unlikely to try the same one)."""
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    taken = {
        ipaddress.ip_interface(word).network
        for line in shown.splitlines()
        for word in line.split()
        if "/" in word and word[0].isdigit()
    }
    candidates = list(_SUBNETS.subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(t) for t in taken):
            return subnet
    raise ConfigError(f"every /24 of {_SUBNETS} is in use on this machine")
