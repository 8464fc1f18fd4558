"""The modem's DTLS-PSK client session for aiocoap, on python-mbedtls (the server's library).

:func:`open_dtls_transport` binds a UDP socket on ``(local_host, 0)``, adds it to an aiocoap
Context as a message interface and starts the DTLS 1.2 handshake with the server at once. The
returned remote is what requests are addressed to (``msg.remote``); requests the platform sends
over the session (Observe, Write) reach the Context's ``serversite``. CoAP messages sent before
the handshake completes wait for it; if the handshake fails (an alert from the server; Mbed TLS
giving up after its own retransmissions; ``handshake_timeout`` if given) or the server sends
close_notify, every pending request fails at once with :class:`DtlsSessionError` (aiocoap
``dispatch_error``), with the reason. Without an answer at all, the pending CoAP request ends by
its own retransmission timeout first (the module's "timeout" result, as before).

Suites offered: TLS_PSK_WITH_AES_128_CCM_8, then TLS_PSK_WITH_AES_128_CBC_SHA256 (the two a
LwM2M server MUST support, LwM2M 1.0 TS §7.1.7; the client SHOULD NOT use CBC, so it only comes
second, for a server that has nothing else). Handshake retransmission: Mbed TLS's timers, polled every ``poll`` seconds of wall clock
(aiocoap's CoAP timers are wall clock too, see lwm2m_client.py).

Must not: know LwM2M or AT syntax; touch aiocoap beyond the message-interface seam.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiocoap import error as coap_error
from aiocoap import interfaces
from aiocoap.numbers import constants
from aiocoap.transports.generic_udp import GenericMessageInterface

try:
    from mbedtls import tls as _tls
    from mbedtls.exceptions import TLSError as _TLSError

    MBEDTLS_AVAILABLE, MBEDTLS_MISSING_REASON = True, ""
except ImportError as exc:  # pragma: no cover - a platform without python-mbedtls wheels
    MBEDTLS_AVAILABLE = False
    MBEDTLS_MISSING_REASON = (f"python-mbedtls is not importable ({exc}); it has wheels for Python 3.11/3.12 on Linux "
                              "x86_64, Windows, Apple-silicon macOS; elsewhere pip install 'modemu[dtls]' builds it")

PSK_SUITES = ("TLS-PSK-WITH-AES-128-CCM-8", "TLS-PSK-WITH-AES-128-CBC-SHA256")
_PEER_CLOSE_NOTIFY, _FATAL_ALERT = 0x7880, 0x7780
log = logging.getLogger("modemu.lwm2m.client.dtls")


class DtlsSessionError(coap_error.NetworkError):
    """The DTLS handshake failed or the session ended; ``str()`` says why."""

    def __str__(self) -> str:  # aiocoap's NetworkError would print only the class name
        return str(self.args[0]) if self.args else "DTLS session ended"


class DtlsClientRemote(interfaces.EndpointAddress):
    """The server as seen through our DTLS session (one per session)."""

    is_multicast = False
    is_multicast_locally = False
    scheme = "coaps"
    maximum_block_size_exp = constants.MAX_REGULAR_BLOCK_SIZE_EXP

    def __init__(self, session: "DtlsClientSession") -> None:
        self.session = session

    def __repr__(self) -> str:
        return f"<DtlsClientRemote {self.hostinfo}>"

    def send(self, data: bytes) -> None:
        self.session.send_plaintext(data)

    @property
    def hostinfo(self) -> str:
        host, port = self.session.server
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def uri_base(self) -> str:
        return "coaps://" + self.hostinfo

    @property
    def hostinfo_local(self) -> str:
        host, port = self.session.local_address or ("", 0)
        return f"{host}:{port}"

    @property
    def uri_base_local(self) -> str:
        return "coaps://" + self.hostinfo_local

    @property
    def blockwise_key(self) -> Any:
        return id(self.session)


class DtlsClientSession(asyncio.DatagramProtocol):
    """UDP socket + Mbed TLS client context. ``_transport``/``datagram_received`` are the names
    the route gate wraps (aiocoap_hooks.gate_datagrams)."""

    def __init__(self, iface: "ClientDtlsInterface", server: tuple[str, int], identity: str, psk: bytes,
                 handshake_timeout: float | None, poll: float) -> None:
        self.iface, self.server = iface, server
        self.remote = DtlsClientRemote(self)
        conf = _tls.DTLSConfiguration(ciphers=list(PSK_SUITES), pre_shared_key=(identity, bytes(psk)),
                                      validate_certificates=False,
                                      lowest_supported_version=_tls.DTLSVersion.DTLSv1_2)
        self._buffer = _tls.ClientContext(conf).wrap_buffers(None)
        self._transport: Any = None
        self._waiting: list[bytes] = []  # CoAP messages sent before the handshake completed
        self.established = False
        self.ended: str | None = None
        self.local_address: tuple[str, int] | None = None
        self._handshake_timeout, self._poll = handshake_timeout, poll
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None

    # asyncio -------------------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self._transport = transport
        self.local_address = tuple(transport.get_extra_info("sockname")[:2])  # type: ignore[assignment]

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._deadline = None if self._handshake_timeout is None else loop.time() + self._handshake_timeout
        self._step()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self.ended is not None:
            return
        self._buffer.receive_from_network(data)
        if not self.established:
            self._step()
            if not self.established:
                return
        try:
            while True:
                chunk = self._buffer.read(4096)
                if not chunk:
                    break
                self.iface._received_datagram(self.remote, chunk)
        except (_tls.WantReadError, _tls.WantWriteError):
            pass
        except _TLSError as exc:
            self._end(_why(exc))
        self._flush()

    def error_received(self, exc: Exception) -> None:
        log.info("DTLS client socket error ignored: %r", exc)

    # sending -------------------------------------------------------------------------------

    def send_plaintext(self, data: bytes) -> None:
        if self.ended is not None:
            return
        if not self.established:
            self._waiting.append(data)
            return
        self._buffer.write(data)
        self._flush()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.established and self.ended is None:
            try:
                self._buffer.shutdown()
                self._flush()
            except _TLSError:
                pass
        self.ended = self.ended or "closed"
        if self._transport is not None:
            self._transport.close()

    # internals -----------------------------------------------------------------------------

    def _step(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            while self._buffer._handshake_state is not _tls.HandshakeStep.HANDSHAKE_OVER:
                self._buffer.do_handshake()
        except (_tls.WantReadError, _tls.WantWriteError):
            self._flush()
            loop = asyncio.get_running_loop()
            if self._deadline is not None and loop.time() >= self._deadline:
                self._end("DTLS handshake timed out (no answer from the server)")
            else:
                self._timer = loop.call_later(self._poll, self._step)  # Mbed TLS retransmits if due
            return
        except _TLSError as exc:
            self._flush()
            self._end(_why(exc))
            return
        self._flush()
        self.established = True
        log.info("DTLS session with %s up (%s)", self.remote.hostinfo, self._buffer.cipher())
        waiting, self._waiting = self._waiting, []
        for data in waiting:
            self.send_plaintext(data)

    def _flush(self) -> None:
        while self._transport is not None:
            chunk = self._buffer.peek_outgoing(16384)
            if not chunk:
                return
            self._buffer.consume_outgoing(len(chunk))
            self._transport.sendto(bytes(chunk))

    def _end(self, reason: str) -> None:
        if self.ended is not None:
            return
        self.ended = reason
        if self._timer is not None:
            self._timer.cancel()
        log.info("DTLS session with %s ended: %s", self.remote.hostinfo, reason)
        self._waiting.clear()
        self.iface._received_exception(self.remote, DtlsSessionError(reason))


def _why(exc: Exception) -> str:
    code = getattr(exc, "err", 0)
    if code == _PEER_CLOSE_NOTIFY:
        return "close_notify from the server"
    if code == _FATAL_ALERT:
        return "the server refused the DTLS handshake with a fatal alert (wrong PSK or identity?)"
    return f"DTLS error: {exc}"


class ClientDtlsInterface(GenericMessageInterface):
    """aiocoap message interface over one :class:`DtlsClientSession`."""

    _pool: DtlsClientSession

    async def recognize_remote(self, remote: Any) -> bool:
        return isinstance(remote, DtlsClientRemote) and remote.session is self._pool

    async def determine_remote(self, request: Any) -> Any:
        return None  # requests are addressed with msg.remote

    async def shutdown(self) -> None:
        self._mman = None
        self._pool.close()


async def open_dtls_transport(ctx: Any, local_host: str, server: tuple[str, int], identity: str, psk: bytes,
                              gate: Any = None, handshake_timeout: float | None = None,
                              poll: float = 0.5) -> DtlsClientRemote:
    """Add a DTLS client session to ``ctx`` and start its handshake; returns the server remote.
    With ``gate`` (a route gate) every datagram of the session passes it."""
    if not MBEDTLS_AVAILABLE:
        raise RuntimeError(MBEDTLS_MISSING_REASON)
    loop = asyncio.get_running_loop()
    made: list[ClientDtlsInterface] = []

    async def make(mman: Any) -> ClientDtlsInterface:
        iface = ClientDtlsInterface(mman, ctx.log, loop)
        _t, iface._pool = await loop.create_datagram_endpoint(
            lambda: DtlsClientSession(iface, server, identity, psk, handshake_timeout, poll),
            local_addr=(local_host, 0), remote_addr=server)
        made.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    session = made[0]._pool
    if gate is not None:
        from .aiocoap_hooks import gate_datagrams
        gate_datagrams(session, session, gate)
    session.start()
    return session.remote
