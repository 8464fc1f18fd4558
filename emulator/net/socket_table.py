"""The open sockets of one modem port: bookkeeping and teardown for the socket executors.

:class:`SocketTable` (kept in ``port.resources['tcpip']``, made by :func:`table_of`) maps the
modem's ``(connectID, generation)`` to a :class:`Conn` (the asyncio stream / datagram transport /
listening server behind it, its route and fault lanes), remembers accepted clients waiting for
the modem (``pending``) and connections the host closed before they opened (``cancelled``), and
tears a connection down (``drop``: close or reset, unroute a listener). It is also the console
API's ``cut`` hook: :meth:`SocketTable.cut` resets every open TCP connection through the cut
route and reports ``SocketClosed``. :func:`listeners` tells tests the real loopback port of each
TCP LISTENER / UDP SERVICE.

Must not: open, dial or bind anything (``sockets.py`` does), hold protocol state (the modem
does), or decide what the host sees.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from ..modules.handlers.quectel_tcpip_effects import SocketClosed
from .faultgate import RouteGate, StreamLane
from .internet import FakeInternet


@dataclass
class Conn:
    conn_id: int
    gen: int
    kind: str
    host: str = ""
    route: Any = None
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


@dataclass
class SocketTable:
    """The sockets of one modem port (kept in ``port.resources['tcpip']``)."""

    port: Any
    conns: dict[tuple[int, int], Conn] = field(default_factory=dict)
    pending: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=dict)
    cancelled: set[tuple[int, int]] = field(default_factory=set)
    tokens: Any = field(default_factory=lambda: itertools.count(1))
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def internet(self) -> FakeInternet:
        return self.port.emulator.internet

    def report(self, stimulus: Any) -> None:
        self.port.stimulus(stimulus)

    def drop(self, key: tuple[int, int], reset: bool = False) -> None:
        conn = self.conns.pop(key, None)
        if conn is None:
            self.cancelled.add(key)
            return
        conn.closed = True
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
            _unroute(self.internet, conn.added_route, conn.real_port)
        if conn.task is not None and conn.task is not _current_task():
            conn.task.cancel()

    def close(self) -> None:
        for key in list(self.conns):
            self.drop(key)
        for _reader, writer in self.pending.values():
            writer.close()
        self.pending.clear()

    def cut(self, host: str, port: int | None) -> None:
        """Reset every open connection that went to ``host[:port]`` (the console's cut fault).

        FastAPI runs sync routes in a worker thread: hop onto the emulator's loop first."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self.loop is not None and running is not self.loop:
            self.loop.call_soon_threadsafe(self._cut, host, port)
        else:
            self._cut(host, port)

    def _cut(self, host: str, port: int | None) -> int:
        route = self.internet.route(host, port)
        fault = None
        if route is not None:  # the cut fault just added; its count limits how many we reset
            fault = next((f for f in reversed(route.faults) if f.kind == "cut"), None)
        hits = 0
        for key, conn in list(self.conns.items()):
            if conn.kind != "TCP" or conn.writer is None:
                continue
            if (route is not None and conn.route is route) or conn.host.lower() == host.lower():
                if fault is not None and fault.count is not None:
                    if fault.count <= 0:
                        break
                    fault.count -= 1  # spent on an open connection, not on the next connect
                self.drop(key, reset=True)
                self.report(SocketClosed(*key))
                hits += 1
        return hits


def _current_task() -> asyncio.Task | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def table_of(port: Any) -> SocketTable:
    """The port's table, made (and hooked to the console's cut fault) on first use."""
    table = port.resources.get("tcpip")
    if table is None:
        table = port.resources["tcpip"] = SocketTable(port, loop=asyncio.get_running_loop())
        emulator = port.emulator
        hooks = getattr(emulator, "cut_hooks", None)
        if hooks is None:
            hooks = emulator.cut_hooks = []
        hooks.append(table.cut)
    return table


def _unroute(internet: FakeInternet, key: tuple[str, int], real_port: int) -> None:
    # FakeInternet has no remove_route (yet): drop our own listener route from its table,
    # and only if it still points at our listener (not one that replaced it since).
    routes = getattr(internet, "_routes", None)
    if isinstance(routes, dict) and key in routes and routes[key].target[1] == real_port:
        del routes[key]


def listeners(port: Any) -> dict[int, int]:
    """connectID -> real loopback port of this modem's TCP LISTENER / UDP SERVICE sockets."""
    table = port.resources.get("tcpip")
    if table is None:
        return {}
    return {c.conn_id: c.real_port for c in table.conns.values() if c.real_port}
