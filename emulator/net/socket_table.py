"""The open sockets of one modem: bookkeeping and teardown for the socket executors.

:class:`SocketTable` (kept in ``net.resources['tcpip']``, made by :func:`table_of`) maps the
modem's ``(connectID, generation)`` to a :class:`Conn` (the asyncio stream / datagram transport /
listening server behind it, its route and fault lanes), remembers accepted clients waiting for
the modem (``pending``) and connections the host closed before they opened (``cancelled``), and
tears a connection down (``drop``: close or reset, unroute a listener). :meth:`SocketTable.add`
registers each open TCP connection with the FakeInternet's one cut mechanism
(``FakeInternet.watch_cut``): a console ``cut`` resets it and reports ``SocketClosed``.
:func:`listeners` tells tests the real loopback port of each TCP LISTENER / UDP SERVICE.

Must not: open, dial or bind anything (``sockets.py`` does), hold protocol state (the modem
does), or decide what the host sees.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.stimuli import Stimulus
from ..modules.handlers.quectel_tcpip_effects import SocketClosed
from .context import NetContext
from .faultgate import RouteGate, StreamLane
from .internet import FakeInternet, Route


@dataclass
class Conn:
    conn_id: int
    gen: int
    kind: str
    host: str = ""
    port: int = 0  # the port the modem dialled (TCP/UDP client)
    route: Route | None = None
    writer: asyncio.StreamWriter | None = None
    transport: Any = None  # UDP
    server: asyncio.AbstractServer | None = None
    added_route: tuple[str, int] | None = None
    real_port: int = 0
    task: asyncio.Task | None = None
    closed: bool = False
    gate: RouteGate | None = None
    out: StreamLane | None = None      # TCP bytes to the peer, through the route's faults
    inbound: StreamLane | None = None  # TCP bytes (None = EOF) from it
    unwatch: Callable[[], None] | None = None  # stop being reset by a cut


@dataclass
class SocketTable:
    """The sockets of one modem (kept in ``net.resources['tcpip']``)."""

    net: NetContext
    conns: dict[tuple[int, int], Conn] = field(default_factory=dict)
    pending: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=dict)
    cancelled: set[tuple[int, int]] = field(default_factory=set)
    tokens: Any = field(default_factory=lambda: itertools.count(1))
    loop: asyncio.AbstractEventLoop | None = None
    closed: Callable[[int, int], Stimulus] = SocketClosed  # what a cut reports (TLS: TlsClosed)

    @property
    def internet(self) -> FakeInternet:
        return self.net.internet

    def report(self, stimulus: Stimulus) -> None:
        self.net.stimulus(stimulus)

    def add(self, key: tuple[int, int], conn: Conn) -> None:
        """Keep an open connection; a TCP one is reset by a ``cut`` of its route or host."""
        self.conns[key] = conn
        if conn.kind == "TCP" and conn.writer is not None:
            conn.unwatch = self.internet.watch_cut(conn.route, conn.host, conn.port,
                                                   lambda: self._on_loop(self._cut, key, conn))

    def drop(self, key: tuple[int, int], reset: bool = False) -> None:
        conn = self.conns.pop(key, None)
        if conn is None:
            self.cancelled.add(key)
            return
        conn.closed = True
        if conn.unwatch is not None:
            conn.unwatch()
        for lane in (conn.out, conn.inbound):
            if lane is not None:
                lane.close()
        if conn.writer is not None:
            if reset:
                conn.writer.transport.abort()
            else:
                conn.writer.close()
        if conn.transport is not None:
            conn.transport.close()
        if conn.server is not None:
            conn.server.close()
        if conn.added_route is not None:
            host, port = conn.added_route
            self.internet.remove_route(host, port, ("127.0.0.1", conn.real_port))
        if conn.task is not None and conn.task is not _current_task():
            conn.task.cancel()

    def close(self) -> None:
        for key in list(self.conns):
            self.drop(key)
        for _reader, writer in self.pending.values():
            writer.close()
        self.pending.clear()

    def _on_loop(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` now when on the table's loop, else hop there (the console API's sync
        routes run in worker threads)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is not None and running is not self.loop:
            self.loop.call_soon_threadsafe(fn, *args)
        else:
            fn(*args)

    def _cut(self, key: tuple[int, int], conn: Conn) -> None:
        if self.conns.get(key) is conn:
            self.drop(key, reset=True)
            self.report(self.closed(*key))


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def table_of(net: NetContext) -> SocketTable:
    """The modem's table, made on first use."""
    table = net.resources.get("tcpip")
    if table is None:
        table = net.resources["tcpip"] = SocketTable(net, loop=asyncio.get_running_loop())
    return table


def listeners(net: NetContext) -> dict[int, int]:
    """connectID -> real loopback port of this modem's TCP LISTENER / UDP SERVICE sockets."""
    table = net.resources.get("tcpip")
    if table is None:
        return {}
    return {c.conn_id: c.real_port for c in table.conns.values() if c.real_port}
