"""Transparent access mode of the Quectel TLS sockets (``AT+QSSLOPEN=...,2``).

As for AT+QIOPEN's mode 2 [doc: BG96 SSL AT Commands Manual V1.0 §2.3; Q-TCP §2.2]: the open
answers ``CONNECT`` (or ``ERROR``) instead of ``OK`` + ``+QSSLOPEN``, the serial line is then the
TLS stream, ``+++`` framed by 1 s of silence returns to command mode with ``OK`` (the client is
then in buffer access mode until ``ATO``), the peer closing ends it with ``NO CARRIER``. The
escape, packing (``AT+QICFG="transpktsize"/"transwaittm"``) and guard times are the TCP/IP
stack's :class:`TransparentLine`; only where the bytes go differs.

Must not: do I/O.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CONNECT, NO_CARRIER
from ..profile import Reply
from . import ts27007
from .quectel_ssl_effects import BUFFER, CONNECTED, TRANSPARENT, SslClient, SslState, TlsSend
from .quectel_tcpip_transparent import TransparentLine
from .quectel_tcpip_transparent import ato_exec as tcpip_ato


def _st(ctx: Context) -> SslState:
    return ctx.state.ssl


class SslTransparentLine(TransparentLine):
    """Host bytes to the TLS client ``sock`` (an :class:`SslClient`)."""

    def flush(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        size = self.ctx.state.tcpip.transpktsize
        client: SslClient = self.sock  # type: ignore[assignment]
        while self.tx:
            chunk, self.tx = bytes(self.tx[:size]), self.tx[size:]
            client.total_sent += len(chunk)
            self.ctx.effect(TlsSend(client.client_id, client.gen, chunk))
            ts27007.rrc_activity(self.ctx, len(chunk))

    def leave(self) -> None:
        self._cancel_guard()
        self.flush()
        s = _st(self.ctx)
        if s.transparent is self:
            s.transparent = None
            self.ctx.modem.framing.stop_transparent(self.receive)

    def _escape(self) -> None:
        if _st(self.ctx).transparent is not self:
            return
        self.plus = 0
        self.leave()
        self.sock.access = BUFFER  # as AT+QIOPEN's mode 2 after +++ [doc: BG96 TCP/IP AN §1.2]
        _st(self.ctx).escaped_id = self.sock.client_id
        self.ctx.result_after_data("OK")


def enter(ctx: Context, client: SslClient) -> None:
    s = _st(ctx)
    client.access = TRANSPARENT
    s.escaped_id = None
    s.transparent = SslTransparentLine(ctx, client)  # type: ignore[arg-type]
    ctx.modem.framing.start_transparent(s.transparent.receive)
    if client.rx:  # bytes buffered in command mode follow CONNECT
        def late(c: Context) -> None:
            line = _st(c).transparent
            if line is not None and line.sock is client and client.rx:
                data, client.rx = bytes(client.rx), bytearray()
                client.notified = False
                c.write_raw(data)
        ctx.later(0.0, late, "ssl-transparent-backlog")


def deliver(ctx: Context, client: SslClient, data: bytes) -> bool:
    """Socket bytes for a client in transparent mode go raw to the host; False if it is not."""
    line = _st(ctx).transparent
    if line is None or line.sock is not client:
        return False
    ctx.write_raw(data)
    return True


def closed(ctx: Context, client: SslClient) -> bool:
    """The peer closed a client in transparent mode: NO CARRIER (True), nothing to AT+QSSLCLOSE."""
    s = _st(ctx)
    line = s.transparent
    if line is None or line.sock is not client:
        if s.escaped_id == client.client_id:
            s.escaped_id = None
        return False
    line.tx.clear()
    line.leave()
    ctx.result_after_data("NO CARRIER")
    return True


def ato_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """ATO: back to the TLS client left with +++, else to the AT+QI socket (TCP/IP's ATO)."""
    s = _st(ctx)
    client = s.clients.get(s.escaped_id) if s.escaped_id is not None else None
    if client is None or client.state != CONNECTED:
        return tcpip_ato(cmd, ctx)
    cmd.int(0, 0, lo=0, hi=0)
    enter(ctx, client)
    return Reply(final=CONNECT)


__all__ = ["NO_CARRIER", "ato_exec", "closed", "deliver", "enter"]
