"""Woori-net WM-N400MSE native sockets: AT+WSOCR, AT+WSOCO, AT+WSOWR, AT+WSOCL, URC +WSORD.

As the WIZnet IoT shield guides and samples use them (Wiznet/wiznet-iot-shield-mbed-kr
``samples/WIoT-WM01_WM-N400MSE/WIZnet-IoTShield-WM-N400MSE-TCP/main.cpp`` @41bc6137, and the
WM01 TCP guide of Wiznet/wiznet-iot-shield-arduino-kr, "5. 소켓 생성"), no space after ':':

- ``AT+WSOCR=<id>,<host>,<port>,<proto 1 TCP|2 UDP>,<ptype 0 ASCII|1 HEX>`` ->
  ``+WSOCR:1,<id>,<address>/<port>,<TCP|UDP>`` ``OK`` (creates the socket). The guide's protocol
  values are 1 TCP and 2 UDP (its example ``AT+WSOCR=0,222.98.173.214,8080,1,0`` answers
  ``+WSOCR:1,0,64:ff9b::222.98.173.214/8080,TCP``; the mbed sample's ``protocol = 1`` is its TCP
  client); ``0`` is not a protocol. The network is IPv6-only with DNS64/NAT64 (as the AMM5918K's):
  an IPv4 literal is shown in the guide's ``64:ff9b::a.b.c.d`` form; a name is resolved first
  (the command's answer waits for it) and shown as its AAAA/DNS64 address, as the guide's
  ``AT+WSOCR=0,www.kma.go.kr,80,1,0`` -> ``+WSOCR:1,0,64:ff9b::8b96:f9a2/80,TCP``.
  ``+WSOCR:0,<id>`` when the id is in use or (ASSUMPTION) the name does not resolve. Packet type
  2 (binary) is not supported (ERROR);
- ``AT+WSOCO=<id>`` -> ``+WSOCO:1,<id>,OPEN_WAIT`` ``OK``, then ``+WSOCO:<id>,OPEN_CMPL``
  (``+WSOCO:<id>,OPEN_FAIL`` when the connection fails: INVENTED, no public source shows it);
- ``AT+WSOWR=<id>,<len>,<data>`` (data inline, hex when ptype 1) -> ``+WSOWR:1,<id>`` ``OK``
  (``+WSOWR:0,<id>`` when the socket is not open or the length is wrong);
- received data: ``+WSORD:<id>,<len>,<data>``;
- ``AT+WSOCL=<id>`` -> ``+WSOCL:1,<id>,CLOSE_WAIT`` ``OK`` then ``+WSOCL:<id>,CLOSE_CMPL`` (guide
  "9. 소켓 종료"); a peer close: ``+WSOCL:<id>,CLOSE_CMPL`` alone (ASSUMPTION: same URC).

The I/O is the Quectel socket executor's (``emulator/net/sockets.py``): the same
``OpenSocket``/``SendData``/``CloseSocket`` effects and their stimuli, so routes and faults of the
fake internet apply alike.

Must not: do I/O.
"""

from __future__ import annotations

import binascii
import ipaddress
from dataclasses import dataclass, field

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Pending, Reply
from . import ts27007
from .bad_args import on_bad_args
from .amtelecom_sock import dns64
from .quectel_tcpip_effects import (CloseSocket, NameResolved, OpenSocket, ResolveName, SendData, SocketClosed,
                                    SocketData, SocketOpened, SocketSent)
from .sock_table import SockTable

T = CommandTable("woorinet_sock")
MAX_ID = 5  # ASSUMPTION: six sockets (0-5); the samples use 0 only
OPEN_TIMEOUT = 15.0  # the samples wait 15 s (WM01_CONNECT_TIMEOUT) for OPEN_CMPL
DNS_TIMEOUT = 15.0  # ASSUMPTION: the samples wait 15 s for +WSOCR too


@dataclass
class WSock:
    sid: int
    host: str
    port: int
    udp: bool
    hexmode: bool
    gen: int = 0
    state: str = "created"  # created | opening | open | closed
    timer: object = None


@dataclass
class WSockState(SockTable[WSock]):
    resolving: dict[int, WSock] = field(default_factory=dict)  # AT+WSOCR waiting for its name


def st(ctx: Context) -> WSockState:
    return ctx.state.wsock


def _init(ctx: Context) -> None:
    gen = ctx.nvm.get("wsock_gen", 1000)
    ctx.state.wsock = WSockState(gen=gen)


def _shutdown(ctx: Context) -> None:
    s = st(ctx)
    for sock in s.socks.values():
        if sock.state in ("opening", "open"):
            ctx.effect(CloseSocket(sock.sid, sock.gen))
    ctx.nvm["wsock_gen"] = s.gen


_args = on_bad_args(lambda ctx: Reply(final=ERROR))  # bad arguments: plain ERROR


@T.set("+WSOCR")
@_args
def wsocr_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(5)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    host = cmd.str(1, max_len=150)
    port = cmd.int(2, lo=1, hi=65535)
    udp = cmd.int(3, lo=1, hi=2) == 2  # 1 TCP, 2 UDP [WM01 TCP guide §5]
    hexmode = cmd.int(4, 0, lo=0, hi=1) == 1
    s = st(ctx)
    old = s.socks.get(sid)
    if old is not None and old.state in ("opening", "open"):
        return Reply(lines=(f"+WSOCR:0,{sid}",))
    sock = WSock(sid, host, port, udp, hexmode)
    literal = _literal(host)
    if literal is not None:
        s.socks[sid] = sock
        return Reply(lines=(_created(sock, literal),))
    s.token += 1
    token = s.token
    s.resolving[token] = sock

    def on_timeout(c: Context) -> Reply:
        st(c).resolving.pop(token, None)
        return Reply(lines=(f"+WSOCR:0,{sid}",))
    return Reply(final=None, effects=(ResolveName(token, host),),
                 pending=Pending(f"wsocr:{token}", DNS_TIMEOUT, on_timeout))


def _literal(host: str) -> str | None:
    """How the answer shows an address literal (None: a name): IPv4 behind the DNS64 prefix,
    written as the guide writes it (``64:ff9b::222.98.173.214``)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    return f"64:ff9b::{ip}" if ip.version == 4 else str(ip)


def _created(sock: WSock, address: str) -> str:
    return f"+WSOCR:1,{sock.sid},{address}/{sock.port},{'UDP' if sock.udp else 'TCP'}"


def _resolved(stim: NameResolved, ctx: Context) -> None:
    s = st(ctx)
    sock = s.resolving.pop(stim.token, None)
    if sock is None:
        return
    address = dns64(stim.addresses)
    old = s.socks.get(sock.sid)
    if address is None or (old is not None and old.state in ("opening", "open")):
        ctx.finish(f"wsocr:{stim.token}", Reply(lines=(f"+WSOCR:0,{sock.sid}",)))
        return
    s.socks[sock.sid] = sock
    ctx.finish(f"wsocr:{stim.token}", Reply(lines=(_created(sock, address),)))


@T.set("+WSOCO")
@_args
def wsoco_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    s = st(ctx)
    sock = s.socks.get(sid)
    if sock is None or sock.state != "created" or not ctx.state.radio.registered:
        return Reply(lines=(f"+WSOCO:0,{sid},OPEN_WAIT",))
    s.gen += 1
    sock.gen, sock.state = s.gen, "opening"

    def expire(c: Context) -> None:
        if sock.state == "opening":
            c.effect(CloseSocket(sock.sid, sock.gen))
            sock.state, sock.timer = "created", None
            c.urc(f"+WSOCO:{sid},OPEN_FAIL")
    sock.timer = ctx.later(OPEN_TIMEOUT, expire, "wsoco-timeout")
    effect = OpenSocket(sid, sock.gen, "UDP" if sock.udp else "TCP", sock.host, sock.port)
    return Reply(lines=(f"+WSOCO:1,{sid},OPEN_WAIT",), effects=(effect,))


@T.set("+WSOWR")
@_args
def wsowr_set(cmd: AtCommand, ctx: Context) -> Reply:
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    length = cmd.int(1, lo=1, hi=1500)
    text = cmd.str(2, "")
    sock = st(ctx).socks.get(sid)
    if sock is None or sock.state != "open":
        return Reply(lines=(f"+WSOWR:0,{sid}",))
    try:
        data = binascii.unhexlify(text) if sock.hexmode else text.encode("latin-1")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return Reply(lines=(f"+WSOWR:0,{sid}",))
    if len(data) != length:
        return Reply(lines=(f"+WSOWR:0,{sid}",))
    ts27007.rrc_activity(ctx, len(data))  # uplink: RRC, PSM wake, air time on the meter
    return Reply(lines=(f"+WSOWR:1,{sid}",), effects=(SendData(sid, sock.gen, data),))


@T.set("+WSOCL")
@_args
def wsocl_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    sid = cmd.int(0, lo=0, hi=MAX_ID)
    s = st(ctx)
    sock = s.socks.pop(sid, None)
    if sock is None:
        return Reply(lines=(f"+WSOCL:0,{sid},CLOSE_WAIT",))
    if sock.timer is not None:
        sock.timer.cancel()
    effects = (CloseSocket(sid, sock.gen),) if sock.state in ("opening", "open") else ()
    return Reply(lines=(f"+WSOCL:1,{sid},CLOSE_WAIT",), effects=effects, after=(f"+WSOCL:{sid},CLOSE_CMPL",))


def _opened(stim: SocketOpened, ctx: Context) -> None:
    sock = st(ctx).opening(ctx, stim, lambda k: k.state == "opening")
    if sock is None:
        return
    if stim.err:
        sock.state = "created"
        ctx.urc(f"+WSOCO:{sock.sid},OPEN_FAIL")
        return
    sock.state = "open"
    ctx.urc(f"+WSOCO:{sock.sid},OPEN_CMPL")


def _data(stim: SocketData, ctx: Context) -> None:
    sock = st(ctx).live(stim.conn_id, stim.gen)
    if sock is None or sock.state != "open":
        return
    ts27007.rrc_activity(ctx)
    body = stim.data.hex().upper() if sock.hexmode else stim.data.decode("latin-1")
    ctx.urc(f"+WSORD:{sock.sid},{len(stim.data)},{body}")


def _closed(stim: SocketClosed, ctx: Context) -> None:
    sock = st(ctx).live(stim.conn_id, stim.gen)
    if sock is None or sock.state != "open":
        return
    sock.state = "closed"
    del st(ctx).socks[sock.sid]
    ctx.urc(f"+WSOCL:{sock.sid},CLOSE_CMPL")


def _sent(stim: SocketSent, ctx: Context) -> None:
    return None


FEATURE = Feature("woorinet_sock", T, init=_init, on_shutdown=_shutdown, stimuli={
    SocketOpened: _opened, SocketData: _data, SocketClosed: _closed, SocketSent: _sent,
    NameResolved: _resolved})

__all__ = ["FEATURE"]
