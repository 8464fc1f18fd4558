"""The aiocoap internals :class:`~emulator.net.lwm2m_client.Lwm2mClient` relies on, in one place.

aiocoap has no public API for three things the module-side LwM2M session needs:

- learning when a CON message ends (ACK, RST, retransmissions exhausted): :class:`Exchanges`
  wraps the message manager's ``_remove_exchange`` / ``_retransmit`` on the instance;
- a plain-CoAP socket bound on loopback that is both client and server, addressed without
  aiocoap's ``getaddrinfo``: :func:`open_plain_transport` (simplesocketserver's server and its
  ``_Address``), :func:`local_sockname` (its bound port);
- passing every datagram through a route gate (``faultgate.RouteGate``): :func:`gate_datagrams`
  wraps a transport's ``sendto`` (:class:`GatedTransport`) and a protocol's
  ``datagram_received`` (plain sockets here, DTLS sessions in ``dtls_client.py``).

Pinned to aiocoap 0.4.17. Must not: know LwM2M, AT syntax or modem state, or open anything but
the loopback socket it is asked for.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiocoap
from aiocoap.transports.simplesocketserver import MessageInterfaceSimpleServer, _Address


class Exchanges:
    """Learn when our CON messages end (ACK, RST, retransmissions exhausted).

    aiocoap has no public hook for "my CON notification was acknowledged"; its MessageManager
    keeps that in ``_add_exchange`` / ``_remove_exchange`` / ``_retransmit``. We wrap those three
    methods on the instance (no subclassing of aiocoap's construction path) and resolve futures
    keyed by (remote, message ID).
    """

    def __init__(self) -> None:
        self.waiting: dict[tuple[Any, int], asyncio.Future] = {}

    def attach(self, mman: Any) -> None:
        remove, retransmit = mman._remove_exchange, mman._retransmit

        def _remove_exchange(message):
            fut = self.waiting.pop((message.remote, message.mid), None)
            if fut is not None and not fut.done():
                fut.set_result("rst" if message.mtype == aiocoap.RST else "ack")
            return remove(message)

        def _retransmit(message, timeout, counter):
            if counter >= message.transport_tuning.MAX_RETRANSMIT:
                fut = self.waiting.pop((message.remote, message.mid), None)
                if fut is not None and not fut.done():
                    fut.set_result("timeout")
            return retransmit(message, timeout, counter)

        mman._remove_exchange, mman._retransmit = _remove_exchange, _retransmit

    def attach_context(self, ctx: aiocoap.Context) -> None:
        """Attach to each message manager of ``ctx`` (the request interfaces that have one)."""
        for ri in ctx.request_interfaces:
            if hasattr(ri.token_interface, "_remove_exchange"):
                self.attach(ri.token_interface)

    def watch(self, remote: Any, mid: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[(remote, mid)] = fut
        return fut


class GatedTransport:
    """A datagram transport whose ``sendto`` goes through a route gate; the rest is the real one."""

    def __init__(self, transport: Any, gate: Any) -> None:
        self._real, self._gate = transport, gate

    def sendto(self, data: bytes, addr: Any = None) -> None:
        real = self._real
        self._gate.datagram(lambda: real.sendto(data) if addr is None else real.sendto(data, addr), "coap-out")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def gate_datagrams(owner: Any, protocol: Any, gate: Any) -> None:
    """Pass ``owner._transport``'s sends and ``protocol``'s receptions through ``gate`` (once)."""
    if isinstance(owner._transport, GatedTransport):
        return
    owner._transport = GatedTransport(owner._transport, gate)
    received = protocol.datagram_received
    protocol.datagram_received = lambda data, addr: gate.datagram(
        lambda: received(data, addr), "coap-in")


async def open_plain_transport(ctx: aiocoap.Context, local_host: str, server: tuple[str, int],
                               gate: Any = None) -> Any:
    """Bind a CoAP client+server socket on ``(local_host, 0)`` into ``ctx`` (gated when ``gate``
    is given) and return the remote address of ``server`` on it."""
    loop = asyncio.get_running_loop()
    made: list[Any] = []

    async def make(mman):
        made.append(await MessageInterfaceSimpleServer.create_server(
            (local_host, 0), mman, log=ctx.log, loop=loop))
        return made[0]

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    if gate is not None:
        gate_datagrams(made[0]._pool, made[0]._pool, gate)
    # address the server directly (skips simplesocketserver's getaddrinfo + warning)
    return _Address(made[0]._pool, server)


def local_sockname(remote: Any) -> tuple[str, int]:
    """The loopback ``(host, port)`` of the plain-CoAP or DTLS socket behind ``remote``."""
    session = getattr(remote, "session", None)
    if session is not None:  # dtls_client.DtlsClientRemote
        return session.local_address
    return remote.serversocket._transport.get_extra_info("sockname")[:2]
