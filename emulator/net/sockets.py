"""Executors of the Quectel TCP/IP effects: real asyncio sockets, on loopback only.

``OpenSocket`` asks the :class:`FakeInternet` where ``host:port`` goes (``connect_target``) and
honours its faults: ``refuse`` -> ``+QIOPEN: <id>,566``; ``drop`` -> nothing happens and the
modem's own (virtual-clock) timeout answers 566; ``delay`` -> the answer comes ``seconds``
later on the virtual clock; ``cut`` -> the connection is reset right after it opens. A name
that does not resolve is 565. TCP LISTENER / UDP SERVICE bind an ephemeral port on 127.0.0.1
and route ``<modem ip>:<local_port>`` there, so a test or app dials the modem's listener
through the FakeInternet (the real port is also in the ``SocketOpened`` stimulus and
``listeners(net)``). Executors get the modem's :class:`~emulator.net.context.NetContext`. Socket data, peer closes and accepted clients go back as stimuli.

A console ``cut`` (``FakeInternet.cut``, the one cut mechanism) resets every open TCP connection
that went through that route or to that host (the per-modem table of open connections, their
teardown and their cut watch are ``socket_table.py``). A standing ``drop``/``delay`` (no count)
also hits open sockets (``faultgate``): TCP data both ways is held in order (unacknowledged in
``AT+QISEND=<id>,0``) while the route drops, or for ``seconds`` of virtual time; a send still
unacknowledged after the module's TCP retransmissions (``SendData.give_up``) resets the
connection (``+QIURC: "closed"``). A UDP datagram is lost or sent late.

Must not: dial or bind anything that is not loopback, hold protocol state (the modem does), or
decide what the host sees.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable

from ..core.stimuli import Stimulus
from ..modules.handlers.quectel_tcpip_effects import (AcceptIncoming, CloseSocket, NameResolved,
                                                      OpenSocket, ResolveName, SendData,
                                                      SocketClosed, SocketData, SocketIncoming,
                                                      SocketOpened, SocketSent)
from .context import NetContext
from .executors import executor
from .faultgate import RouteGate, StreamLane
from .internet import is_loopback
from .socket_table import Conn, SocketTable, table_of
from .socket_table import listeners as listeners  # re-exported: tests ask ``sockets.listeners``

log = logging.getLogger("modemu.sockets")
READ_CHUNK = 65536


class NotLoopbackError(RuntimeError):
    """A target outside 127.0.0.0/8 / ::1 reached the dialler: a routing bug, refused."""


def _check(endpoint: tuple[str, int]) -> tuple[str, int]:
    if not is_loopback(endpoint[0]):
        raise NotLoopbackError(f"refusing to dial {endpoint[0]}:{endpoint[1]}")
    return endpoint


# --- open ----------------------------------------------------------------------------------
@executor(OpenSocket)
async def open_socket(effect: OpenSocket, net: NetContext) -> None:
    table = table_of(net)
    key = (effect.conn_id, effect.gen)
    if effect.service in ("TCP LISTENER", "UDP SERVICE"):
        await _listen(table, effect, key)
        return
    endpoint, err, fault = table.internet.connect_target(effect.host, effect.port)
    if err:
        table.report(SocketOpened(*key, err=565 if err == "dns" else 566))
        return
    assert endpoint is not None
    if fault is not None and fault.kind == "drop":
        return  # black-holed: the modem's own timeout reports 566
    route = table.internet.route_for(effect.host, effect.port)
    conn = Conn(*key, kind=effect.service, host=effect.host, port=effect.port, route=route)
    conn.gate = RouteGate(table.internet, route, net.clock, net.sync_clock)
    try:
        if effect.service == "TCP":
            reader, writer = await asyncio.open_connection(*_check(endpoint))
            conn.writer = writer
            local = writer.get_extra_info("sockname")
            _lanes(table, key, conn)
        else:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(table, key, conn.gate), remote_addr=_check(endpoint))
            conn.transport = transport
            local = transport.get_extra_info("sockname")
    except OSError:
        table.report(SocketOpened(*key, err=566))
        return
    if key in table.cancelled:  # the host closed (or the modem gave up) meanwhile
        table.cancelled.discard(key)
        conn.writer.close() if conn.writer else conn.transport.close()
        return
    table.add(key, conn)
    lport = local[1] if local else 0

    def announce() -> None:
        if key not in table.conns:
            return
        table.report(SocketOpened(*key, err=0, local_port=lport))
        if conn.writer is not None:
            conn.task = net.spawn(_pump(table, key, reader))
            if fault is not None and fault.kind == "cut":
                table.drop(key, reset=True)
                table.report(SocketClosed(*key))

    if fault is not None and fault.kind == "delay" and fault.seconds > 0:
        net.clock.call_later(fault.seconds, announce, "connect-delay")
    else:
        announce()


@dataclass(frozen=True)
class StreamStimuli:
    """What a stream connection reports (``(conn_id, gen, ...)``): AT+QI* sockets by default,
    the TLS sockets of ``tls_sockets.py`` their own types."""

    data: Callable[..., Stimulus] = SocketData
    closed: Callable[..., Stimulus] = SocketClosed
    sent: Callable[..., Stimulus] = SocketSent


TCP_STIMULI = StreamStimuli()


def _lanes(table: SocketTable, key: tuple[int, int], conn: Conn, kinds: StreamStimuli = TCP_STIMULI) -> None:
    """The route's standing faults between this TCP connection and its peer."""
    def write(data: bytes) -> None:
        if key in table.conns and not conn.writer.is_closing():
            conn.writer.write(data)
            table.net.spawn(_drained(table, key, conn.writer, len(data), kinds.sent))

    def receive(chunk: bytes | None) -> None:
        if key not in table.conns:
            return
        if chunk is not None:
            table.report(kinds.data(*key, chunk))
        else:
            table.drop(key)
            table.report(kinds.closed(*key))

    def give_up() -> None:  # the module's TCP retransmissions are exhausted: it resets
        if key in table.conns:
            log.info("%s: socket %s: no ACK through the dropping route, reset", table.net.name, key[0])
            table.drop(key, reset=True)
            table.report(kinds.closed(*key))

    conn.out = StreamLane(conn.gate, write, on_give_up=give_up)
    conn.inbound = StreamLane(conn.gate, receive)


async def _pump(table: SocketTable, key: tuple[int, int], reader: asyncio.StreamReader) -> None:
    try:
        while True:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                break
            conn = table.conns.get(key)
            if conn is None:
                return
            conn.inbound.put(chunk)
    except (ConnectionError, OSError):
        pass
    conn = table.conns.get(key)
    if conn is not None:
        conn.inbound.put(None)  # the FIN / RST, too, comes through the route


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, table: SocketTable, key: tuple[int, int], gate: RouteGate | None = None) -> None:
        self.table, self.key, self.gate = table, key, gate

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        def deliver() -> None:
            if self.key in self.table.conns:
                self.table.report(SocketData(*self.key, data, addr[0], addr[1]))
        if self.gate is None:
            deliver()
        else:
            self.gate.datagram(deliver, "udp-in")

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable: UDP just loses it
        log.debug("udp %s: %s", self.key, exc)


async def _listen(table: SocketTable, effect: OpenSocket, key: tuple[int, int]) -> None:
    conn = Conn(*key, kind=effect.service)
    try:
        if effect.service == "TCP LISTENER":
            def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                token = next(table.tokens)
                table.pending[token] = (reader, writer)
                peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
                table.report(SocketIncoming(effect.conn_id, effect.gen, token, peer[0], peer[1]))
            conn.server = await asyncio.start_server(accepted, "127.0.0.1", 0)
            conn.real_port = conn.server.sockets[0].getsockname()[1]
        else:
            loop = asyncio.get_running_loop()
            conn.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(table, key), local_addr=("127.0.0.1", 0))
            conn.real_port = conn.transport.get_extra_info("sockname")[1]
    except OSError:
        table.report(SocketOpened(*key, err=556))
        return
    if key in table.cancelled:
        table.cancelled.discard(key)
        (conn.server or conn.transport).close()
        return
    if effect.modem_ip:
        route = table.internet.add_route(effect.modem_ip, effect.local_port, ("127.0.0.1", conn.real_port),
                                         f"{table.net.name} {effect.service} {effect.conn_id}")
        conn.added_route = (route.host, route.port)
    table.add(key, conn)
    table.report(SocketOpened(*key, err=0, local_port=effect.local_port, real_port=conn.real_port))


@executor(AcceptIncoming)
def accept_incoming(effect: AcceptIncoming, net: NetContext) -> None:
    table = table_of(net)
    pair = table.pending.pop(effect.token, None)
    if pair is None:
        return
    reader, writer = pair
    if effect.conn_id < 0:
        writer.close()
        return
    key = (effect.conn_id, effect.gen)
    peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
    conn = Conn(*key, kind="TCP", host=peer[0], writer=writer)
    conn.gate = RouteGate(table.internet, None, net.clock)  # no route of ours: never faulted
    _lanes(table, key, conn)
    table.add(key, conn)
    conn.task = net.spawn(_pump(table, key, reader))


# --- send / close / dns ---------------------------------------------------------------------
@executor(SendData)
def send_data(effect: SendData, net: NetContext) -> None:
    table = table_of(net)
    key = (effect.conn_id, effect.gen)
    conn = table.conns.get(key)
    if conn is None:
        return
    if conn.writer is not None:
        if conn.writer.is_closing():
            return
        conn.out.give_up = effect.give_up  # in order, through the route's standing faults
        conn.out.put(effect.data)
        return
    if conn.transport is None:
        return
    transport, data = conn.transport, effect.data
    if effect.host:  # UDP SERVICE: to the peer the host named
        endpoint, err, _fault = table.internet.connect_target(effect.host, effect.port)
        if err or endpoint is None:
            return  # an unroutable datagram is lost, as on the air
        gate = RouteGate(table.internet, table.internet.route_for(effect.host, effect.port),
                         net.clock, net.sync_clock)
        gate.datagram(lambda: transport.sendto(data, _check(endpoint)), "udp-out")
    elif conn.gate is not None:
        conn.gate.datagram(lambda: transport.sendto(data), "udp-out")
    else:
        transport.sendto(data)
    # answer on the next loop turn: we are inside the port's drain of the modem's events
    asyncio.get_running_loop().call_soon(table.report, SocketSent(*key, len(effect.data)))


async def _drained(table: SocketTable, key: tuple[int, int], writer: asyncio.StreamWriter, n: int,
                   sent: Callable[..., Stimulus] = SocketSent) -> None:
    try:
        await writer.drain()
    except (ConnectionError, OSError):
        return  # the reader side reports the close
    if key in table.conns:
        table.report(sent(*key, n))


@executor(CloseSocket)
def close_socket(effect: CloseSocket, net: NetContext) -> None:
    table_of(net).drop((effect.conn_id, effect.gen))


@executor(ResolveName)
async def resolve_name(effect: ResolveName, net: NetContext) -> None:
    # async: runs as a task after the command's OK is out, like the module's URCs
    internet = net.internet
    addresses = tuple(internet.resolve(effect.host))
    reachable = False
    if effect.ping and addresses:
        keys = {effect.host.strip().lower().rstrip("."), *addresses}
        keys |= {name for name, addrs in internet.names().items() if set(addrs) & set(addresses)}
        reachable = any(is_loopback(a) for a in addresses) or any(r.host in keys for r in internet.routes())
    net.stimulus(NameResolved(effect.token, addresses, reachable))
