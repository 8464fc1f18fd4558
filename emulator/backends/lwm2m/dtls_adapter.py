"""DTLS-PSK listener for the LwM2M server: an aiocoap message interface over ``dtls_engine``.

aiocoap's own DTLS server (``tinydtls_server``, DTLSSocket) needs a C compiler and autotools to
install, offers only the CCM suites, insists on RFC 5746 renegotiation_info and says nothing
about failed handshakes (issue 15). This listener keeps aiocoap for CoAP (message layer,
retransmission, tokens, Observe) and replaces only the datagram layer: one UDP socket, one
:class:`~.dtls_engine.DtlsServerEngine` (python-mbedtls, installed from wheels) that turns
datagrams into plaintext and back.

- Server-initiated requests (Observe, Write) go back over the session the device opened:
  each session's remote is a :class:`DtlsRemote` (this socket + the peer address) that this
  interface recognises in ``recognize_remote``.
- A session that ends (the client's close_notify, a fatal alert, a new handshake from the same
  address, shutdown) is reported to aiocoap with ``_received_exception``, which fails pending
  requests and stops their retransmissions at once (``MessageManager.dispatch_error``).
- Failed handshakes: one log line each (identity and reason) and ``on_failure(DtlsFailure)``,
  which the server keeps in its event list.

Wall clock: aiocoap's CoAP retransmissions run on the wall clock (as for plain CoAP).

Must not: know about LwM2M registrations; reach into aiocoap beyond the message-interface seam
(``GenericMessageInterface``, ``Context._append_tokenmanaged_messagemanaged_transport``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import namedtuple
from typing import Any, Callable

from aiocoap import error as coap_error
from aiocoap import interfaces
from aiocoap.numbers import constants
from aiocoap.transports.generic_udp import GenericMessageInterface

from .coap_adapter import DecodeGuard
from .dtls_engine import (
    MAX_SESSIONS, MBEDTLS_AVAILABLE, MBEDTLS_MISSING_REASON, PSK_SUITES, DtlsFailure, DtlsServerEngine,
)

DTLS_AVAILABLE = MBEDTLS_AVAILABLE
DTLS_MISSING_REASON = MBEDTLS_MISSING_REASON
log = logging.getLogger("modemu.lwm2m.dtls")


class SessionClosed(coap_error.NetworkError):
    """The DTLS session with the remote ended (close_notify, fatal alert, replaced, shutdown).

    Says why in ``str()`` (aiocoap's NetworkError prints only the class name), so a failed
    command's reason names it."""

    def __str__(self) -> str:
        return f"DTLS session ended: {self.args[0]}" if self.args else "DTLS session ended"


class DtlsRemote(namedtuple("DtlsRemote", ["serversocket", "address"]), interfaces.EndpointAddress):
    """One peer of the DTLS listener; equal remotes = same socket and peer address."""

    def __repr__(self) -> str:
        return f"<DtlsRemote {self.address[0]}:{self.address[1]}>"

    def send(self, data: bytes) -> None:
        self.serversocket.send_plaintext(self.address, data)

    is_multicast = False
    is_multicast_locally = False
    scheme = "coaps"
    maximum_block_size_exp = constants.MAX_REGULAR_BLOCK_SIZE_EXP

    @property
    def hostinfo(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    @property
    def uri_base(self) -> str:
        return "coaps://" + self.hostinfo

    @property
    def hostinfo_local(self) -> str:
        return self.serversocket.hostinfo_local

    @property
    def uri_base_local(self) -> str:
        return "coaps://" + self.hostinfo_local

    @property
    def blockwise_key(self) -> Any:
        return self.address

    @property
    def authenticated_claims(self) -> list[str]:
        ident = self.serversocket.engine.identity(self.address)
        return [] if ident is None else [ident]


class _DtlsSocket(asyncio.DatagramProtocol):
    """The UDP socket: datagrams through the engine; plaintext to the message interface."""

    def __init__(self, iface: "ServerDtlsInterface", engine: DtlsServerEngine) -> None:
        self.iface, self.engine = iface, engine
        self._transport: asyncio.DatagramTransport | None = None
        self.hostinfo_local = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        host, port = transport.get_extra_info("sockname")[:2]
        self.hostinfo_local = f"{host}:{port}"

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        peer = (addr[0], addr[1])
        try:
            result = self.engine.receive(peer, data)
        except Exception:  # noqa: BLE001 - never let one datagram kill the listener
            log.exception("DTLS datagram from %s:%s could not be processed", *peer)
            return
        self._sendto(result.records, peer)
        remote = DtlsRemote(self, peer)
        for gone in result.evicted:
            log.warning("DTLS session with %s:%s dropped: %d sessions open (dtls_engine.MAX_SESSIONS)",
                        *gone, MAX_SESSIONS)
            self.iface._received_exception(DtlsRemote(self, gone), SessionClosed("dropped: too many sessions"))
        if result.replaced:
            self.iface._received_exception(remote, SessionClosed("a new DTLS handshake replaced the session"))
        if result.established:
            log.info("DTLS session with %s:%s up (identity %r, %s)", *peer, self.engine.identity(peer),
                     self.engine.cipher(peer))
        for chunk in result.plaintext:
            self.iface._received_datagram(remote, chunk)
        if result.closed is not None:
            log.info("DTLS session with %s:%s ended: %s", *peer, result.closed)
            self.iface._received_exception(remote, SessionClosed(result.closed))

    def send_plaintext(self, peer: tuple[str, int], data: bytes) -> None:
        """Encrypt and send; with no session to ``peer`` (it ended before an Observe or Write
        left, or between its retransmissions) nothing is sent and the exchange is failed as a
        network error on the next loop turn, which also stops its retransmissions (aiocoap
        keeps retransmitting when a transport raises anything else)."""
        try:
            records = self.engine.send(peer, data)
        except ConnectionError as exc:
            if self._transport is not None:
                remote = DtlsRemote(self, peer)
                asyncio.get_running_loop().call_soon(
                    self.iface._received_exception, remote, SessionClosed(str(exc)))
            return
        self._sendto(records, peer)

    def _sendto(self, records: list[bytes], peer: tuple[str, int]) -> None:
        if self._transport is None:
            return
        for rec in records:
            self._transport.sendto(rec, peer)

    def error_received(self, exc: Exception) -> None:
        log.info("DTLS socket error ignored: %r", exc)

    async def shutdown(self) -> None:
        for peer in self.engine.peers():
            self._sendto(self.engine.close(peer), peer)
        if self._transport is not None:
            self._transport.abort()
            self._transport = None


class ServerDtlsInterface(DecodeGuard, GenericMessageInterface):
    """aiocoap message interface for one DTLS-PSK listener (decoding guarded, ``DecodeGuard``)."""

    _pool: _DtlsSocket

    async def recognize_remote(self, remote: Any) -> bool:
        return isinstance(remote, DtlsRemote) and remote.serversocket is self._pool

    async def determine_remote(self, request: Any) -> Any:
        return None  # the server never opens DTLS sessions itself


async def add_dtls_listener(ctx: Any, host: str, port: int, psk_for: Callable[[str], bytes | None],
                            on_failure: Callable[[DtlsFailure], None] | None = None,
                            ciphers: tuple[str, ...] = PSK_SUITES, sock: Any = None) -> DtlsServerEngine:
    """Add a DTLS-PSK listener on exactly ``host:port`` (0 = ephemeral), or on the UDP socket
    ``sock`` bound before, to ``ctx``; returns the listener's engine (``bound`` = its address).
    ``on_failure`` gets every failed handshake (after it was logged); ``ciphers`` narrows the
    suites offered (tests)."""
    if not DTLS_AVAILABLE:
        raise RuntimeError(DTLS_MISSING_REASON)

    def failed(failure: DtlsFailure) -> None:
        log.warning("%s", failure.line())
        if on_failure is not None:
            on_failure(failure)

    made: list[ServerDtlsInterface] = []

    async def make(mman: Any) -> ServerDtlsInterface:
        iface = ServerDtlsInterface(mman, ctx.log, ctx.loop)
        engine = DtlsServerEngine(psk_for, failed, ciphers)
        where: dict[str, Any] = {"sock": sock} if sock is not None else {"local_addr": (host, port)}
        _transport, iface._pool = await ctx.loop.create_datagram_endpoint(
            lambda: _DtlsSocket(iface, engine), **where)
        made.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    sock = made[0]._pool._transport.get_extra_info("sockname")
    made[0]._pool.engine.bound = (sock[0], sock[1])
    return made[0]._pool.engine


def dtls_identity(remote: Any) -> str | None:
    """The PSK identity a DTLS remote authenticated with; None for plain remotes."""
    if not isinstance(remote, DtlsRemote):
        return None
    return remote.serversocket.engine.identity(remote.address)


def dtls_remote_address(remote: Any) -> tuple[str, int] | None:
    if not isinstance(remote, DtlsRemote):
        return None
    return remote.address[0], remote.address[1]
