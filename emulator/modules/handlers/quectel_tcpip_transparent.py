"""Transparent access mode of the Quectel TCP/IP stack (access_mode 2) [doc: Q-TCP §2.2].

After ``CONNECT`` (``AT+QIOPEN=...,2``, ``AT+QISWTMD=<id>,2`` or ``ATO``) the serial line is the
socket: host bytes go out packed per ``transpktsize`` / ``transwaittm`` (AT+QICFG), socket bytes
come in raw. ``+++`` with 1 s of silence before and after (virtual clock) returns to command
mode with ``OK`` and the socket is in buffer access mode until ``ATO``; the peer closing ends it with
``NO CARRIER``.

The serial side uses the core line discipline's transparent mode
(``framing.start_transparent(sink)`` / ``stop_transparent``): every host byte goes to
:class:`TransparentLine`, which owns the escape and packing rules.

Must not: do I/O, parse command lines, or replace or patch anything on the Modem.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CONNECT, NO_CARRIER
from ..profile import CommandTable, Reply
from .quectel_tcpip_data import conn_id, fail, ok, qi, send, st
from .quectel_tcpip_effects import BUFFER, CLOSING, CONNECTED, TRANSPARENT, Socket

T = CommandTable("quectel_tcpip_transparent")
GUARD = 1.0  # +++ needs >= 1 s of silence before and after [doc: Q-TCP §2.2]


class TransparentLine:
    """The sink of the line discipline's transparent mode while a socket is in it: host bytes
    go to the socket (packed per transpktsize / transwaittm); ``+++`` framed by ``GUARD``
    seconds of silence on the virtual clock returns to command mode with OK."""

    def __init__(self, ctx: Context, sock: Socket) -> None:
        self.ctx, self.sock = ctx, sock
        self.last = ctx.clock.now()
        self.plus = 0
        self.tx = bytearray()
        self.guard_timer = None
        self.flush_timer = None

    def receive(self, data: bytes) -> None:
        now = self.ctx.clock.now()
        for byte in data:
            if byte == 0x2B and self.plus < 3 and (self.plus or now - self.last >= GUARD):
                self.plus += 1  # maybe the escape: held back until the guard time tells
            else:
                self.tx += b"+" * self.plus + bytes([byte])
                self.plus = 0
            self.last = now
        self._cancel_guard()
        if self.plus:
            self.guard_timer = self.ctx.later(GUARD, lambda c: self._guard_over(), "transparent-guard")
        self._schedule_flush()

    def drop_timers(self) -> None:
        self._cancel_guard()
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None

    def _cancel_guard(self) -> None:
        if self.guard_timer is not None:
            self.guard_timer.cancel()
            self.guard_timer = None

    def _guard_over(self) -> None:
        """Silence after the pluses: three are the escape, fewer were just data."""
        self.guard_timer = None
        if self.plus == 3:
            self._escape()
        elif self.plus:
            self.tx += b"+" * self.plus
            self.plus = 0
            self.flush()

    def _schedule_flush(self) -> None:
        s = st(self.ctx)
        if len(self.tx) >= s.transpktsize or (self.tx and s.transwaittm == 0):
            self.flush()
        elif self.tx and self.flush_timer is None:
            self.flush_timer = self.ctx.later(s.transwaittm * 0.1, lambda c: self.flush(), "transparent-flush")

    def flush(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        size = st(self.ctx).transpktsize
        while self.tx:
            chunk, self.tx = bytes(self.tx[:size]), self.tx[size:]
            send(self.ctx, self.sock, chunk)

    def leave(self) -> None:
        self._cancel_guard()
        self.flush()
        s = st(self.ctx)
        if s.transparent is self:
            s.transparent = None
            self.ctx.modem.framing.stop_transparent(self.receive)

    def _escape(self) -> None:
        if st(self.ctx).transparent is not self:
            return
        self.plus = 0
        self.leave()
        # "When OK is returned, the module will be switched to buffer access mode" [doc: BG96
        # TCP/IP AN §1.2]: +QISTATE shows 0 and data waits for AT+QIRD; ATO goes back.
        self.sock.access = BUFFER
        self.sock.escaped = True
        st(self.ctx).escaped_id = self.sock.conn_id
        _say(self.ctx, "OK")



def _say(ctx: Context, text: str) -> None:
    """A result after leaving data mode, then the URCs held meanwhile."""
    ctx.result_after_data(text)


def enter_transparent(ctx: Context, sock: Socket) -> None:
    s = st(ctx)
    sock.access, sock.escaped = TRANSPARENT, False
    s.escaped_id = None
    s.transparent = TransparentLine(ctx, sock)
    ctx.modem.framing.start_transparent(s.transparent.receive)
    if sock.rx:  # bytes buffered while in command mode follow CONNECT
        def late(c: Context) -> None:
            if st(c).transparent is not None and st(c).transparent.sock is sock and sock.rx:
                data, sock.rx = bytes(sock.rx), bytearray()
                sock.have_read += len(data)
                sock.notified = False
                c.write_raw(data)
        ctx.later(0.0, late, "transparent-backlog")


def transparent_closed(ctx: Context, sock: Socket) -> bool:
    """The peer closed a socket that is in transparent mode: NO CARRIER. True if it was."""
    s = st(ctx)
    line = s.transparent
    if line is None or line.sock is not sock:
        if s.escaped_id == sock.conn_id:
            s.escaped_id = None
        return False
    line.tx.clear()
    line.leave()
    _say(ctx, "NO CARRIER")
    return True


@T.set("+QISWTMD")
@qi
def qiswtmd_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid = conn_id(cmd, ctx)
    mode = cmd.int(1, lo=0, hi=2)
    sock = st(ctx).sockets.get(cid)
    if sock is None or sock.state not in (CONNECTED, CLOSING) or (mode == TRANSPARENT and sock.state != CONNECTED):
        return fail(ctx, 567)
    if mode == TRANSPARENT:
        if sock.service not in ("TCP", "UDP", "TCP INCOMING"):
            return fail(ctx, 555)
        enter_transparent(ctx, sock)
        return ok(ctx, Reply(final=CONNECT))
    sock.access, sock.escaped = mode, False
    if st(ctx).escaped_id == cid:
        st(ctx).escaped_id = None
    return ok(ctx)


@T.exec("O")
def ato_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """ATO: back to the transparent socket left with +++ [doc: Q-TCP §2.2]."""
    cmd.int(0, 0, lo=0, hi=0)
    s = st(ctx)
    sock = s.sockets.get(s.escaped_id) if s.escaped_id is not None else None
    if sock is None or sock.state != CONNECTED:
        return Reply(final=NO_CARRIER)
    enter_transparent(ctx, sock)
    return Reply(final=CONNECT)
