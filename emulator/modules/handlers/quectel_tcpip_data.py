"""Data path of the Quectel TCP/IP stack: send, read and receive URCs.

+QISEND (prompt + Ctrl+Z, fixed length, the inline ``=<id>,<len>,"<data>"`` form of guide 001
§4.3.3, UDP SERVICE ``,"<ip>",<port>``, ``=<id>,0`` totals), +QISENDEX, +QIRD (buffer mode,
``=<id>,0`` totals), +QISDE, and what happens when socket data arrives:
one ``+QIURC: "recv",<id>`` per empty->non-empty buffer (buffer mode), data inline (push
mode), raw bytes (transparent mode: quectel_tcpip_transparent.py).
Formats: Quectel BG96 TCP/IP AT Commands Manual V1.0 [doc: Q-TCP §2.1.7-2.1.9, §2.2].

Must not: do I/O (effects only) or handle contexts/open/close (quectel_tcpip.py).
"""

from __future__ import annotations

import binascii
import functools
from typing import Callable

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR, OK, SEND_OK
from ..profile import CommandTable, Prompt, Reply
from . import ts27007
from .quectel_tcpip_effects import (BUFFER, CLOSING, CONNECTED, LISTENING, PUSH, TRANSPARENT, SendData,
                                    Socket, TcpIpState, tcp_give_up)

T = CommandTable("quectel_tcpip_data")
MAX_SEND = 1460  # AT+QISEND=<id>,<len>: <len> up to 1460 [doc: Q-TCP §2.1.7]
MAX_SENDEX = 512  # AT+QISENDEX: up to 512 bytes [doc: Q-TCP §2.1.9]
MAX_READ = 1500  # AT+QIRD=<id>,<len>: up to 1500 [doc: Q-TCP §2.1.8]


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


def send(ctx: Context, sock: Socket, data: bytes, host: str = "", port: int = 0) -> None:
    sock.total_sent += len(data)
    if data:
        ctx.effect(SendData(sock.conn_id, sock.gen, data, host, port, tcp_give_up(st(ctx).retrans)))
        ts27007.rrc_activity(ctx, len(data))  # air time on the energy meter


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
        send(ctx, sock, data)
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
        send(c, sock, data, host, port)
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
    send(ctx, sock, data)
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
    if sock.is_udp:  # one datagram per read
        if not sock.datagrams:
            sock.notified = False
            return ok(ctx, Reply(lines=("+QIRD: 0",)))
        data, ip, port = sock.datagrams.popleft()
        data = data[:want]
        sock.have_read += len(data)
        if not sock.datagrams:
            sock.notified = False
        peer = f',"{ip}",{port}' if sock.service == "UDP SERVICE" else ""
        head = f"+QIRD: {len(data)}{peer}\r\n".encode()
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
    if sock.is_udp:
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


__all__ = ["T", "deliver", "fail", "ok", "st", "conn_id", "qi", "send", "BUFFER", "PUSH"]
