"""Data path of the Quectel TCP/IP stack: send, read, receive URCs and transparent mode.

+QISEND (prompt + Ctrl+Z, fixed length, the inline ``=<id>,<len>,"<data>"`` form of guide 001
§4.3.3, UDP SERVICE ``,"<ip>",<port>``, ``=<id>,0`` totals), +QISENDEX, +QIRD (buffer mode,
``=<id>,0`` totals), +QISWTMD, +QISDE, ATO, and what happens when socket data arrives:
one ``+QIURC: "recv",<id>`` per empty->non-empty buffer (buffer mode), data inline (push
mode), raw bytes (transparent mode, left with ``+++`` after a 1 s guard time on the virtual
clock). Formats: protocols.md §1.4 [doc: Q-TCP §2.1.7-2.1.9, §2.2].

Must not: do I/O (effects only) or handle contexts/open/close (quectel_tcpip.py).
"""

from __future__ import annotations

import binascii
import functools
from typing import Callable

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CONNECT, ERROR, NO_CARRIER, OK, SEND_OK
from ..profile import CommandTable, Prompt, Reply
from . import ts27007
from .quectel_tcpip_effects import (BUFFER, CLOSING, CONNECTED, LISTENING, PUSH, TRANSPARENT, SendData,
                                    Socket, TcpIpState)

T = CommandTable("quectel_tcpip_data")
MAX_SEND = 1460  # AT+QISEND=<id>,<len>: <len> up to 1460 [doc: Q-TCP §2.1.7]
MAX_SENDEX = 512  # AT+QISENDEX: up to 512 bytes [doc: Q-TCP §2.1.9]
MAX_READ = 1500  # AT+QIRD=<id>,<len>: up to 1500 [doc: Q-TCP §2.1.8]
GUARD = 1.0  # +++ needs >= 1 s of silence before and after [doc: Q-TCP §2.2]


def st(ctx: Context) -> TcpIpState:
    return ctx.state.tcpip


def fail(ctx: Context, code: int) -> Reply:
    """ERROR, remembering ``code`` for AT+QIGETERROR."""
    st(ctx).last_error = code
    return Reply(final=ERROR)


def ok(ctx: Context, reply: Reply | None = None) -> Reply:
    st(ctx).last_error = 0
    return reply or Reply()


def qi(fn: Callable[[AtCommand, Context], Reply]) -> Callable[[AtCommand, Context], Reply]:
    """Bad arguments answer ERROR and leave 552 "invalid parameters" for AT+QIGETERROR."""
    @functools.wraps(fn)
    def wrapper(cmd: AtCommand, ctx: Context) -> Reply:
        try:
            return fn(cmd, ctx)
        except ArgError:
            return fail(ctx, 552)
    return wrapper


def conn_id(cmd: AtCommand, ctx: Context, index: int = 0) -> int:
    return cmd.int(index, lo=0, hi=ctx.profile.quirks.max_sockets - 1)


def unhex(text: str) -> bytes | None:
    if len(text) % 2:
        return None
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return None


def _send(ctx: Context, sock: Socket, data: bytes, host: str = "", port: int = 0) -> None:
    sock.total_sent += len(data)
    if data:
        ctx.effect(SendData(sock.conn_id, sock.gen, data, host, port))
        ts27007.rrc_activity(ctx)


def _sendable(ctx: Context, cid: int) -> tuple[Socket | None, Reply | None]:
    sock = st(ctx).sockets.get(cid)
    if sock is None or sock.state == CLOSING:
        return None, fail(ctx, 567)
    if sock.state != CONNECTED and not (sock.service == "UDP SERVICE" and sock.state == LISTENING):
        return None, fail(ctx, 572)
    return sock, None


# --- AT+QISEND / AT+QISENDEX ---------------------------------------------------------------
@T.set("+QISEND")
@qi
def qisend_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    cmd.max_args(4)
    cid = conn_id(cmd, ctx)
    if len(cmd) == 2 and cmd.int(1, lo=0, hi=MAX_SEND) == 0:
        sock = s.sockets.get(cid)
        if sock is None:
            return fail(ctx, 567)
        return ok(ctx, Reply(lines=(f"+QISEND: {sock.total_sent},{sock.acked},{sock.total_sent - sock.acked}",)))
    length = cmd.int(1, lo=1, hi=MAX_SEND) if len(cmd) >= 2 else None
    sock, err = _sendable(ctx, cid)
    if err is not None:
        return err
    assert sock is not None
    host, port = "", 0
    if sock.service == "UDP SERVICE":
        if len(cmd) != 4:
            return fail(ctx, 552)
        host, port = cmd.str(2, max_len=150), cmd.int(3, lo=1, hi=65535)
    elif len(cmd) == 4:
        return fail(ctx, 552)
    if len(cmd) == 3:  # inline data: guide 001 §4.3.3 AT+QISEND=0,14,"02000b68..."
        text = cmd.str(2, max_len=2 * MAX_SEND)
        data = unhex(text) if s.send_hex else text.encode("latin-1", "replace")
        if data is None or len(data) != length:
            return fail(ctx, 552)
        _send(ctx, sock, data)
        # The guide prints OK and then SEND OK for this form (001 §4.3.3); we follow it.
        return ok(ctx, Reply(after=("SEND OK",)))
    hexmode = bool(s.send_hex)

    def on_data(data: bytes, c: Context) -> Reply:
        if hexmode:
            decoded = unhex(data.decode("latin-1"))
            if decoded is None:
                return fail(c, 552)
            data = decoded
        live = st(c).sockets.get(cid)
        if live is not sock or sock.state not in (CONNECTED, LISTENING):
            return fail(c, 567)
        _send(c, sock, data, host, port)
        return ok(c, Reply(final=SEND_OK))

    def on_cancel(c: Context) -> Reply:
        # ESC: nothing is sent. The manual does not print the answer [?]; like +CMGS's ESC
        # we answer OK and keep 571 "cancel send" for AT+QIGETERROR.
        st(c).last_error = 571
        return Reply()

    scale = 2 if hexmode else 1
    return Reply(final=None, prompt=Prompt(on_data, length=None if length is None else length * scale,
                                           limit=MAX_SEND * scale, on_cancel=on_cancel,
                                           on_too_long=lambda c: fail(c, 552), echo=bool(s.sde)))


@T.set("+QISENDEX")
@qi
def qisendex_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid = conn_id(cmd, ctx)
    # The guide types the hex unquoted (001 §4.3.3); the manual quotes it. Both work.
    data = unhex(cmd.str(1, max_len=2 * MAX_SENDEX).strip())
    if not data:
        return fail(ctx, 552)
    sock, err = _sendable(ctx, cid)
    if err is not None:
        return err
    assert sock is not None
    if sock.service == "UDP SERVICE":
        return fail(ctx, 552)
    _send(ctx, sock, data)
    return ok(ctx, Reply(final=SEND_OK))


# --- AT+QIRD -------------------------------------------------------------------------------
def _payload(ctx: Context, data: bytes) -> bytes:
    return binascii.hexlify(data) if st(ctx).recv_hex else data


@T.set("+QIRD")
@qi
def qird_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid = conn_id(cmd, ctx)
    want = cmd.int(1, MAX_READ, lo=0, hi=MAX_READ)
    sock = st(ctx).sockets.get(cid)
    if sock is None:
        return fail(ctx, 567)
    if cmd.has(1) and want == 0:
        return ok(ctx, Reply(lines=(f"+QIRD: {sock.total_recv},{sock.have_read},{sock.unread}",)))
    if sock.service == "UDP SERVICE":
        if not sock.datagrams:
            sock.notified = False
            return ok(ctx, Reply(lines=("+QIRD: 0",)))
        data, ip, port = sock.datagrams.popleft()
        data = data[:want]
        sock.have_read += len(data)
        if not sock.datagrams:
            sock.notified = False
        head = f'+QIRD: {len(data)},"{ip}",{port}\r\n'.encode()
        return ok(ctx, Reply(lines=(head + _payload(ctx, data),)))
    data = bytes(sock.rx[:want])
    del sock.rx[:want]
    sock.have_read += len(data)
    if not sock.rx:
        sock.notified = False  # drained: the next data raises a new "recv" URC
    if not data:
        return ok(ctx, Reply(lines=("+QIRD: 0",)))
    return ok(ctx, Reply(lines=(f"+QIRD: {len(data)}\r\n".encode() + _payload(ctx, data),)))


# --- receiving ------------------------------------------------------------------------------
def deliver(ctx: Context, sock: Socket, data: bytes, ip: str = "", port: int = 0) -> None:
    """Socket data arrived: route it per the socket's access mode."""
    if not data:
        return
    sock.total_recv += len(data)
    ts27007.rrc_activity(ctx)
    s = st(ctx)
    if sock.access == TRANSPARENT and not sock.escaped and s.transparent is not None:
        sock.have_read += len(data)
        ctx.write_raw(data)
        return
    if sock.access == PUSH:
        sock.have_read += len(data)
        ctx.urc(_push_urc(ctx, sock, data, ip, port))
        return
    if sock.service == "UDP SERVICE":
        sock.datagrams.append((data, ip, port))
    else:
        sock.rx += data
    if not sock.notified:  # one URC until the buffer is fully read [doc: Q-TCP §2.2]
        sock.notified = True
        ctx.urc(f'+QIURC: "recv",{sock.conn_id}')


def _push_urc(ctx: Context, sock: Socket, data: bytes, ip: str, port: int) -> bytes:
    s = st(ctx)
    head = f'+QIURC: "recv",{sock.conn_id},{len(data)}'
    if sock.service == "UDP SERVICE":
        head += f',"{ip}",{port}'
    if s.recv_hex:
        # Guide 001 §4.3.3 (EC800E, dataformat recv=hex) prints the header with a trailing
        # comma and the hex on the next line: '+QIURC: "recv",0,3,' then '050000'. We
        # reproduce that shape exactly (viewmode 1 puts the hex right after the comma).
        sep = "," if s.viewmode else ",\r\n"
        return (head + sep).encode() + binascii.hexlify(data)
    sep = "," if s.viewmode else "\r\n"
    return (head + sep).encode() + data


# --- mode switching / transparent mode ------------------------------------------------------
class TransparentLine:
    """Stands in for the modem's line discipline while a socket is in transparent mode:
    host bytes go to the socket (packed per transpktsize / transwaittm); ``+++`` framed by
    ``GUARD`` seconds of silence on the virtual clock returns to command mode with OK."""

    in_data_mode = True

    def __init__(self, ctx: Context, sock: Socket, saved: object) -> None:
        self.ctx, self.sock, self.saved = ctx, sock, saved
        self.echo = getattr(saved, "echo", True)
        self.last = ctx.clock.now()
        self.plus = 0
        self.tx = bytearray()
        self.exit_timer = None
        self.flush_timer = None

    def step(self, data: bytes) -> tuple[bytes, None, int]:
        now = self.ctx.clock.now()
        for byte in data:
            if byte == 0x2B and self.plus < 3 and (self.plus or now - self.last >= GUARD):
                self.plus += 1
            else:
                self._cancel_exit()
                self.tx += b"+" * self.plus + bytes([byte])
                self.plus = 0
            self.last = now
        if self.plus == 3:
            self._cancel_exit()
            self.exit_timer = self.ctx.later(GUARD, lambda c: self._escape(), "transparent-escape")
        self._schedule_flush()
        return b"", None, len(data)

    def _cancel_exit(self) -> None:
        if self.exit_timer is not None:
            self.exit_timer.cancel()
            self.exit_timer = None

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
            _send(self.ctx, self.sock, chunk)

    def leave(self) -> None:
        self._cancel_exit()
        self.flush()
        s = st(self.ctx)
        if s.transparent is self:
            s.transparent = None
            self.ctx.modem.framing = self.saved

    def _escape(self) -> None:
        if self.plus != 3 or st(self.ctx).transparent is not self:
            return
        self.plus = 0
        self.leave()
        self.sock.escaped = True
        st(self.ctx).escaped_id = self.sock.conn_id
        _say(self.ctx, "OK")

    def cancel_data(self) -> None:  # LineDiscipline API the core may call
        pass


def _say(ctx: Context, text: str) -> None:
    """A result after leaving data mode, then the URCs held meanwhile."""
    ctx.urc(text)
    flush = getattr(ctx.modem, "_flush_held", None)  # core has no public "flush held URCs"
    if flush is not None:
        flush()


def enter_transparent(ctx: Context, sock: Socket) -> None:
    s = st(ctx)
    sock.access, sock.escaped = TRANSPARENT, False
    s.escaped_id = None
    s.transparent = TransparentLine(ctx, sock, ctx.modem.framing)
    ctx.modem.framing = s.transparent
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


@T.set("+QISDE")
def qisde_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    st(ctx).sde = cmd.int(0, lo=0, hi=1)
    return Reply(final=OK)


@T.read("+QISDE")
def qisde_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+QISDE: {st(ctx).sde}",))


@T.test("+QISDE")
def qisde_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QISDE: (0,1)",))


__all__ = ["T", "deliver", "enter_transparent", "transparent_closed", "fail", "ok", "st",
           "conn_id", "BUFFER", "PUSH"]
