"""New blocks pushed by the chain node: an ``eth_subscribe("newHeads")`` over WebSocket.

An agent used to ask the node every half second whether anything happened. With a
:class:`HeadWatcher` it sleeps until the node announces a block (or a fallback interval
passes), then reads the events since its checkpoint as before: the subscription only says
*when* to read, the checkpoint says *what*, so a head missed while the socket was down leaves
no gap (the next read covers every block since the checkpoint). The socket is reopened with a
growing delay (up to ``reconnect_max_s``) when the node goes away; meanwhile the agent polls at
the fallback interval.

anvil serves WebSocket on its RPC port (``ws://`` for ``http://``); Besu on its own
``--rpc-ws-port`` (``chain.ws_url``). A node that serves none (or the in-process EVM, which has
no node) leaves the agent polling.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from ledgerlearn import strict_json

__all__ = ["HeadWatcher", "websocket_url"]

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0


def websocket_url(rpc_url: str) -> str:
    """The node's WebSocket URL for its HTTP JSON-RPC URL (same host and port)."""
    parts = urlsplit(rpc_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"not an HTTP or WebSocket URL: {rpc_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, ""))


class HeadWatcher:
    """The latest block number the node announced, and a wait for the next one.

    Attributes
    ----------
    heads
        Announcements received since the start.
    connections
        Successful subscriptions (1 + reconnections).
    """

    def __init__(self, rpc_url: str, *, reconnect_max_s: float = 10.0) -> None:
        self.url = websocket_url(rpc_url)
        self._reconnect_max_s = reconnect_max_s
        self._state = threading.Condition()
        self._latest = -1
        self._connected = False
        self._stopped = threading.Event()
        self._socket: ClientConnection | None = None
        self._said_down = False
        self._thread = threading.Thread(target=self._run, name="head-watcher", daemon=True)
        self.heads = 0
        self.connections = 0

    def start(self) -> HeadWatcher:
        """Start watching (in a daemon thread); returns ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the socket and end the thread. Idempotent."""
        self._stopped.set()
        socket = self._socket
        if socket is not None:
            socket.close()
        with self._state:
            self._state.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=CONNECT_TIMEOUT_S + 1)

    @property
    def connected(self) -> bool:
        """Whether the subscription is live now."""
        return self._connected

    @property
    def latest(self) -> int:
        """The newest block number announced (-1: none yet)."""
        return self._latest

    def wait(self, after: int, timeout_s: float) -> int:
        """Block until a head newer than ``after`` is announced, or ``timeout_s`` passes;
        returns the newest head known then."""
        deadline = time.monotonic() + timeout_s
        with self._state:
            while self._latest <= after and not self._stopped.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._state.wait(left)
            return self._latest

    # -- the watching thread -------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.5
        while not self._stopped.is_set():
            try:
                self._subscribe_and_read()
                delay = 0.5  # it ran: start again promptly
            except (OSError, WebSocketException, TimeoutError, ValueError) as exc:
                if self._stopped.is_set():
                    return
                if not self._said_down:  # once per outage, not at every retry
                    self._said_down = True
                    log.info(
                        "no block announcements from %s (%s): agents poll the chain until "
                        "they resume",
                        self.url,
                        exc,
                    )
            finally:
                self._connected = False
                self._socket = None
            self._stopped.wait(delay)
            delay = min(delay * 2, self._reconnect_max_s)

    def _subscribe_and_read(self) -> None:
        with connect(self.url, open_timeout=CONNECT_TIMEOUT_S, max_size=2**20) as socket:
            self._socket = socket
            request = {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            socket.send(json.dumps(request))
            reply = strict_json.loads(socket.recv(timeout=CONNECT_TIMEOUT_S))
            if not isinstance(reply, dict) or "result" not in reply:
                raise ValueError(f"the node refused the subscription: {reply}")
            self._connected = True
            self.connections += 1
            if self._said_down:
                self._said_down = False
                log.info("block announcements from %s resumed", self.url)
            for message in socket:
                self._read(message)

    def _read(self, message: str | bytes) -> None:
        """One message from the node: a head announcement, or anything else (ignored)."""
        try:
            document = strict_json.loads(message)
        except ValueError:
            return
        params = document.get("params") if isinstance(document, dict) else None
        head = params.get("result") if isinstance(params, dict) else None
        number = head.get("number") if isinstance(head, dict) else None
        if isinstance(number, str):
            try:
                self._announce(int(number, 16))
            except ValueError:
                return

    def _announce(self, number: int) -> None:
        with self._state:
            self.heads += 1
            if number > self._latest:
                self._latest = number
            self._state.notify_all()
