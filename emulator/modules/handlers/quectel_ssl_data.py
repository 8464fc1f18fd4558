"""Data path of the Quectel TLS sockets: AT+QSSLSEND, AT+QSSLRECV and the receive URCs.

[doc: Quectel BG96 SSL AT Commands Manual V1.0 §2.4-2.6; real units: a public EG800K SSL test report, RAKWireless RAK5010 (BG96) AT dumps]
``AT+QSSLSEND=<client>,<len>`` -> ``> `` then exactly ``<len>`` bytes (1-1460, no Ctrl+Z) ->
``SEND OK``; ``AT+QSSLSEND=<client>`` -> ``> `` then data up to Ctrl+Z (ESC cancels: ``OK``,
nothing sent, as AT+QISEND here). ``AT+QSSLRECV=<client>[,<len>]`` (1-1500, default 1500) ->
``+QSSLRECV: <n>`` CR LF ``<n bytes>`` ``OK``; an empty buffer gives ``+QSSLRECV: 0``.
``AT+QSSLRECV=<client>,0`` -> ``+QSSLRECV: <total>,<read>,<unread>`` (the size poll TinyGSM's
BG96 client sends, TinyGSM src/TinyGsmClientBG96.h; ASSUMPTION: laid out as AT+QIRD=<id>,0).
URCs: buffer mode ``+QSSLURC: "recv",<client>`` once per empty -> non-empty buffer; direct push
``+QSSLURC: "recv",<client>,<len>`` CR LF ``<bytes>`` (a public EG800K SSL test log).

Must not: do I/O, or open/close connections (``quectel_ssl.py``).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR, SEND_OK
from ..profile import CommandTable, Prompt, Reply
from . import quectel_ssl_transparent as transparent
from . import ts27007
from .quectel_ssl_effects import CONNECTED, PUSH, SslClient, SslState, TlsData, TlsSend, TlsSent

T = CommandTable("quectel_ssl_data")
MAX_SEND = 1460
MAX_READ = 1500


def _st(ctx: Context) -> SslState:
    return ctx.state.ssl


def _client(cmd: AtCommand, ctx: Context) -> SslClient | None:
    return _st(ctx).clients.get(cmd.int(0, lo=0, hi=11))


@T.set("+QSSLSEND")
def qsslsend_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    client = _client(cmd, ctx)
    length = cmd.int(1, lo=1, hi=MAX_SEND) if cmd.has(1) else None
    if client is None or client.state != CONNECTED:
        return Reply(final=ERROR)

    def on_data(data: bytes, c: Context) -> Reply:
        if _st(c).clients.get(client.client_id) is not client or client.state != CONNECTED:
            return Reply(final=ERROR)
        client.total_sent += len(data)
        if data:
            c.effect(TlsSend(client.client_id, client.gen, data))
            ts27007.rrc_activity(c, len(data))
        return Reply(final=SEND_OK)

    return Reply(final=None, prompt=Prompt(on_data, length=length, limit=MAX_SEND,
                                           on_cancel=lambda c: Reply(), on_too_long=lambda c: Reply(final=ERROR)))


@T.set("+QSSLRECV")
def qsslrecv_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    client = _client(cmd, ctx)
    want = cmd.int(1, MAX_READ, lo=0, hi=MAX_READ)
    if client is None:
        return Reply(final=ERROR)
    if cmd.has(1) and want == 0:
        read = client.total_recv - len(client.rx)
        return Reply(lines=(f"+QSSLRECV: {client.total_recv},{read},{len(client.rx)}",))
    data = bytes(client.rx[:want])
    del client.rx[:want]
    if not client.rx:
        client.notified = False  # drained: the next data raises a new "recv" URC
    if not data:
        return Reply(lines=("+QSSLRECV: 0",))
    return Reply(lines=(f"+QSSLRECV: {len(data)}\r\n".encode() + data,))


@T.test("+QSSLSEND")
def qsslsend_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QSSLSEND: (0-11),(1-1460)",))


@T.test("+QSSLRECV")
def qsslrecv_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QSSLRECV: (0-11),(1-1500)",))


def received(stim: TlsData, ctx: Context) -> None:
    client = _st(ctx).clients.get(stim.client_id)
    if client is None or client.gen != stim.gen or client.state != CONNECTED or not stim.data:
        return
    client.total_recv += len(stim.data)
    ts27007.rrc_activity(ctx)
    if transparent.deliver(ctx, client, stim.data):
        return
    if client.access == PUSH:
        ctx.urc(f'+QSSLURC: "recv",{client.client_id},{len(stim.data)}\r\n'.encode() + stim.data)
        return
    client.rx += stim.data
    if not client.notified:
        client.notified = True
        ctx.urc(f'+QSSLURC: "recv",{client.client_id}')


def sent(stim: TlsSent, ctx: Context) -> None:
    """The bytes left the send buffer (nothing the host sees: AT+QSSLSEND has no ACK query)."""
