"""Executors of the Quectel TLS socket effects (``AT+QSSL*``): real TLS over loopback.

``TlsOpen`` dials through the FakeInternet with ``dial.py`` (its faults, and the handshake
bounded by ``negotiatetime`` virtual seconds) using the client context ``tls_context.py``
builds from the SSL context's settings; any failure (no route, refused, handshake, certificate
verification) is ``+QSSLOPEN: <id>,566`` (565 for a name that does not resolve). The open
connection lives in the modem's own :class:`SocketTable` (``net.resources["ssl"]``) and uses
the AT+QI sockets' lanes and pump (``sockets.py``): the route's standing faults, the console's
``cut`` (``TlsClosed``), data and closes as stimuli.

Must not: dial anything ``FakeInternet.connect_target`` does not return, hold protocol state, or
decide what the host sees.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from ..modules.handlers.quectel_ssl_effects import (TlsClose, TlsClosed, TlsData, TlsOpen, TlsOpened, TlsSend,
                                                    TlsSent)
from .context import NetContext
from .dial import dial
from .executors import executor
from .faultgate import RouteGate
from .socket_table import Conn, SocketTable
from .sockets import StreamStimuli, _lanes, _pump
from .tls_context import client_context, server_hostname

log = logging.getLogger("modemu.tls")
TLS_STIMULI = StreamStimuli(data=TlsData, closed=TlsClosed, sent=TlsSent)
OPEN_FAILED, DNS_FAILED = 566, 565  # [doc: Q-TCP §4]; a failed handshake is 566 too [dev S5]


def tls_table(net: NetContext) -> SocketTable:
    table = net.resources.get("ssl")
    if table is None:
        table = net.resources["ssl"] = SocketTable(net, loop=asyncio.get_running_loop(), closed=TlsClosed)
    return table


@executor(TlsOpen)
async def tls_open(effect: TlsOpen, net: NetContext) -> None:
    table = tls_table(net)
    key = (effect.client_id, effect.gen)
    try:
        context = client_context(effect.settings)
    except (ssl.SSLError, ValueError, OSError) as exc:
        log.info("%s: SSL client %s: unusable TLS settings: %s", net.name, effect.client_id, exc)
        table.report(TlsOpened(*key, err=OPEN_FAILED))
        return
    dialled = await dial(net.clock, net.internet, effect.host, effect.port, ssl_context=context,
                         server_hostname=server_hostname(effect.settings, effect.host),
                         timeout=float(effect.settings.negotiatetime), name=f"{net.name}/ssl{effect.client_id}")
    if dialled.outcome != "ok":
        table.report(TlsOpened(*key, err=DNS_FAILED if dialled.outcome == "dns" else OPEN_FAILED))
        return
    assert dialled.writer is not None and dialled.reader is not None
    if key in table.cancelled:  # the host closed it meanwhile
        table.cancelled.discard(key)
        dialled.writer.close()
        return
    route = net.internet.route_for(effect.host, effect.port)
    conn = Conn(*key, kind="TCP", host=effect.host, port=effect.port, route=route, writer=dialled.writer)
    conn.gate = RouteGate(net.internet, route, net.clock, net.sync_clock)
    _lanes(table, key, conn, TLS_STIMULI)
    table.add(key, conn)
    table.report(TlsOpened(*key, err=0))
    conn.task = net.spawn(_pump(table, key, dialled.reader))
    if dialled.cut:
        table.drop(key, reset=True)
        table.report(TlsClosed(*key))


@executor(TlsSend)
def tls_send(effect: TlsSend, net: NetContext) -> None:
    conn = tls_table(net).conns.get((effect.client_id, effect.gen))
    if conn is not None and conn.writer is not None and not conn.writer.is_closing() and conn.out is not None:
        conn.out.put(effect.data)


@executor(TlsClose)
def tls_close(effect: TlsClose, net: NetContext) -> None:
    tls_table(net).drop((effect.client_id, effect.gen))
