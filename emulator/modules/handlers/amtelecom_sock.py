"""AM Telecom AMM5918K (WIoT-AM01) IPv6 sockets and DNS: AT@SOCKOPEN6, AT@SOCKSND6, AT@SOCKCLOSE6,
AT@SOCKSTAT6, AT@DNSQ6 and the URC @SOCKRCV6, no space after ':'.

Forms from the WIZnet AM01 guide (Wiznet/wiznet-iot-shield-arduino-kr
``docs/Arduino_guide_AMM592_tcp.md`` §5-§10): five sockets 0-4; ``<result>`` 0 success, 1 failure.

- ``AT@SOCKOPEN6=<id>,<0 TCP|1 UDP>,<0 ASCII|1 HEX>,<dest_ip>,<dest_port>[,<local_port>]`` ->
  ``OK``, then ``@SOCKOPEN6:<id>,<result>`` when the connection is up (or failed);
- ``AT@SOCKSND6=<id>,<data_type>,"<data>"`` -> ``OK``, then ``@SOCKSND6:<id>,<length>,<result>``
  (ASCII: 0x20-0x7F without ',' and ';'; HEX: two characters per byte; at most 1024 characters);
- received data: ``@SOCKRCV6=<id>,<data_type>,<length>,<data>`` (note the ``=``, as the guide);
- ``AT@SOCKCLOSE6=<id>`` -> ``OK``, ``@SOCKCLOSE6:<id>,<result>``;
- ``AT@SOCKSTAT6`` -> ``@SOCKSTAT6:<id>,<type>,<status>`` for all five (0 closed, 1 closing,
  2 opening, 3 opened);
- ``AT@DNSQ6=<name>`` -> ``OK``, ``@DNSQ6:<address>`` (a name that does not resolve:
  ``@DNSQ6:FAIL``, INVENTED: the guide shows no failure).

The network is IPv6-only with DNS64/NAT64, as the guide describes (§5: an IPv4 server is reached
through the AAAA address the DNS64 server synthesises): ``@DNSQ6`` answers the name's IPv6
address, or for an IPv4-only name the RFC 6052 well-known-prefix address ``64:ff9b::a.b.c.d``
(printed in hex, ``64:ff9b::b46a:9492``); a socket to ``64:ff9b::/96`` reaches the IPv4 address
inside it (NAT64). A peer close is reported as ``@SOCKCLOSE6:<id>,0`` (ASSUMPTION: the guide lists
no close URC).
I/O is the Quectel socket executor's (``emulator/net/sockets.py``), effects and stimuli shared.

Must not: do I/O.
"""

from __future__ import annotations

import binascii
import ipaddress
from dataclasses import dataclass

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Reply
from . import ts27007
from .bad_args import on_bad_args
from .quectel_tcpip_effects import (CloseSocket, NameResolved, OpenSocket, ResolveName, SendData,
                                    SocketClosed, SocketData, SocketOpened, SocketSent)
from .sock_table import SockTable

T = CommandTable("amtelecom_sock")
MAX_ID = 4  # "최대 5 개의 소켓" (at most five sockets), ids 0-4
CLOSED, CLOSING, OPENING, OPENED = 0, 1, 2, 3
OPEN_TIMEOUT = 60.0  # ASSUMPTION: the guide gives no open timeout
MAX_CHARS = 1024
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 §2.1 well-known prefix


def nat64(host: str) -> str:
    """The IPv4 address a ``64:ff9b::/96`` destination reaches through NAT64; else ``host``."""
    try:
        addr = ipaddress.IPv6Address(host.strip("[]"))
    except ValueError:
        return host
    if addr not in NAT64:
        return host
    return str(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))


def dns64(addresses: tuple[str, ...]) -> str | None:
    """The AAAA answer: an IPv6 address of the name, else one synthesised from its IPv4."""
    for a in addresses:
        if ":" in a:
            return a
    for a in addresses:
        try:
            return str(NAT64[int(ipaddress.IPv4Address(a))])
        except ValueError:
            continue
    return None


@dataclass
class ASock:
    sid: int
    udp: bool
    hexmode: bool
    gen: int
    status: int = OPENING
    timer: object = None


@dataclass
class ASockState(SockTable[ASock]):
    """The five sockets (ids 0-4), their generations and the DNS token."""


def st(ctx: Context) -> ASockState:
    return ctx.state.asock


def _init(ctx: Context) -> None:
    gen, token = ctx.nvm.get("asock_counters", (1000, 0))
    ctx.state.asock = ASockState(gen=gen, token=token)


def _shutdown(ctx: Context) -> None:
    s = st(ctx)
    for sock in s.socks.values():
        ctx.effect(CloseSocket(sock.sid, sock.gen))
    ctx.nvm["asock_counters"] = (s.gen, s.token)


_args = on_bad_args(lambda ctx: Reply(final=ERROR))  # bad arguments: plain ERROR


def _drop(ctx: Context, sock: ASock) -> None:
    s = st(ctx)
    if s.socks.get(sock.sid) is sock:
        del s.socks[sock.sid]
    if sock.timer is not None:
        sock.timer.cancel()
    ctx.effect(CloseSocket(sock.sid, sock.gen))


@T.set("@SOCKOPEN6")
@_args
def sockopen6_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(6)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    udp = cmd.int(1, lo=0, hi=1) == 1
    hexmode = cmd.int(2, lo=0, hi=1) == 1
    host = cmd.str(3, max_len=255)
    port = cmd.int(4, lo=0, hi=65535)
    cmd.int(5, 0, lo=0, hi=65535)  # local port (UDP only): the fake internet picks one
    s = st(ctx)
    if sid in s.socks or not ctx.state.radio.registered:
        return Reply(after=(f"@SOCKOPEN6:{sid},1",))
    s.gen += 1
    sock = s.socks[sid] = ASock(sid, udp, hexmode, s.gen)

    def expire(c: Context) -> None:
        if st(c).socks.get(sid) is sock and sock.status == OPENING:
            _drop(c, sock)
            c.urc(f"@SOCKOPEN6:{sid},1")
    sock.timer = ctx.later(OPEN_TIMEOUT, expire, "sockopen6-timeout")
    return Reply(effects=(OpenSocket(sid, sock.gen, "UDP" if udp else "TCP", nat64(host), port),))


def _payload(sock: ASock, dtype: int, text: str) -> bytes | None:
    if len(text) > MAX_CHARS:
        return None
    if dtype == 1:
        try:
            return binascii.unhexlify(text)
        except (binascii.Error, ValueError):
            return None
    if any(not (0x20 <= ord(ch) <= 0x7F) or ch in ",;" for ch in text):
        return None  # the guide's allowed ASCII: 0x20-0x7F except 0x2C and 0x3B
    return text.encode("ascii")


@T.set("@SOCKSND6")
@_args
def socksnd6_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    dtype = cmd.int(1, lo=0, hi=1)
    text = cmd.str(2)
    sock = st(ctx).socks.get(sid)
    data = _payload(sock, dtype, text) if sock is not None else None
    if sock is None or sock.status != OPENED or not data:
        return Reply(after=(f"@SOCKSND6:{sid},0,1",))
    ts27007.rrc_activity(ctx, len(data))  # uplink: RRC, PSM wake, air time on the meter
    return Reply(effects=(SendData(sid, sock.gen, data),), after=(f"@SOCKSND6:{sid},{len(data)},0",))


@T.set("@SOCKCLOSE6")
@_args
def sockclose6_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    sock = st(ctx).socks.get(sid)
    if sock is None:
        return Reply(after=(f"@SOCKCLOSE6:{sid},1",))
    _drop(ctx, sock)
    return Reply(after=(f"@SOCKCLOSE6:{sid},0",))


@T.exec("@SOCKSTAT6")
def sockstat6_exec(cmd: AtCommand, ctx: Context) -> Reply:
    socks = st(ctx).socks
    lines = []
    for sid in range(MAX_ID + 1):
        sock = socks.get(sid)
        lines.append(f"@SOCKSTAT6:{sid},{int(sock.udp) if sock else 0},{sock.status if sock else CLOSED}")
    return Reply(lines=tuple(lines))


@T.set("@DNSQ6")
@_args
def dnsq6_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    name = cmd.str(0, max_len=255)
    s = st(ctx)
    s.token += 1
    return Reply(effects=(ResolveName(s.token, name),))


def _opened(stim: SocketOpened, ctx: Context) -> None:
    sock = st(ctx).opening(ctx, stim, lambda k: k.status == OPENING)
    if sock is None:
        return
    if stim.err:
        _drop(ctx, sock)
        ctx.urc(f"@SOCKOPEN6:{sock.sid},1")
        return
    sock.status = OPENED
    ctx.urc(f"@SOCKOPEN6:{sock.sid},0")


def _data(stim: SocketData, ctx: Context) -> None:
    sock = st(ctx).live(stim.conn_id, stim.gen)
    if sock is None or sock.status != OPENED:
        return
    ts27007.rrc_activity(ctx)
    for i in range(0, len(stim.data), MAX_CHARS // 2 if sock.hexmode else MAX_CHARS):
        chunk = stim.data[i:i + (MAX_CHARS // 2 if sock.hexmode else MAX_CHARS)]
        body = chunk.hex().upper() if sock.hexmode else chunk.decode("latin-1")
        ctx.urc(f"@SOCKRCV6={sock.sid},{int(sock.hexmode)},{len(chunk)},{body}")


def _closed(stim: SocketClosed, ctx: Context) -> None:
    sock = st(ctx).live(stim.conn_id, stim.gen)
    if sock is None or sock.status != OPENED:
        return
    _drop(ctx, sock)
    ctx.urc(f"@SOCKCLOSE6:{sock.sid},0")


def _sent(stim: SocketSent, ctx: Context) -> None:
    return None


def _resolved(stim: NameResolved, ctx: Context) -> None:
    addr = dns64(stim.addresses)
    ctx.urc(f"@DNSQ6:{addr}" if addr else "@DNSQ6:FAIL")


FEATURE = Feature("amtelecom_sock", T, init=_init, on_shutdown=_shutdown, stimuli={
    SocketOpened: _opened, SocketData: _data, SocketClosed: _closed, SocketSent: _sent,
    NameResolved: _resolved})

__all__ = ["FEATURE"]
