"""Pure data of the Quectel TCP/IP stack (``AT+QI*``): effects, stimuli and the socket model.

Effects go from the modem to ``emulator/net/sockets.py`` (which does the I/O); stimuli come
back. Every socket carries a generation number ``gen`` that changes each time a connectID is
(re)opened, so a late answer for an old socket never lands on a new one.

Socket states are the ``AT+QISTATE`` ``<socket_state>`` values (Quectel BG96 TCP/IP AT Commands Manual V1.0): 0 initial,
1 opening, 2 connected, 3 listening, 4 closing. Access modes: 0 buffer, 1 direct push,
2 transparent.

Must not: import asyncio, socket or time, or know AT syntax.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ...core.events import Effect
from ...core.stimuli import Downlink, Stimulus

INITIAL, OPENING, CONNECTED, LISTENING, CLOSING = 0, 1, 2, 3, 4
BUFFER, PUSH, TRANSPARENT = 0, 1, 2
SERVICES = ("TCP", "UDP", "TCP LISTENER", "UDP SERVICE")
INCOMING = "TCP INCOMING"

# --- effects (modem -> executor) -----------------------------------------------------------


@dataclass(frozen=True)
class OpenSocket(Effect):
    """Dial ``host:port`` (TCP/UDP) or listen (TCP LISTENER / UDP SERVICE) for ``conn_id``.

    ``modem_ip`` and ``local_port`` name the listener as the outside sees it; the executor
    routes that pair to the loopback port it really binds."""

    conn_id: int
    gen: int
    service: str
    host: str
    port: int
    local_port: int = 0
    modem_ip: str = ""


@dataclass(frozen=True)
class SendData(Effect):
    """Bytes for an open socket; ``host``/``port`` name the peer of a UDP SERVICE datagram."""

    conn_id: int
    gen: int
    data: bytes
    host: str = ""
    port: int = 0
    give_up: float = 363.0  # TCP: s without ACK until the module resets it (tcp_give_up)


def tcp_give_up(retrans: tuple[int, int]) -> float:
    """Seconds a TCP segment may go unacknowledged before the stack gives up, from
    ``AT+QICFG="tcp/retranscfg",<max_backoffs>,<max_rto>`` (<max_rto> in 100 ms [doc: Q-TCP
    §2.1.15]). ASSUMPTION (no Quectel source gives the schedule): RFC 6298 §2/§5 timing, an
    initial RTO of 1 s doubled per backoff and capped at <max_rto>; the default 10,600 -> 363 s."""
    backoffs, max_rto = retrans
    return float(sum(min(2.0 ** k, max_rto / 10) for k in range(int(backoffs) + 1)))


@dataclass(frozen=True)
class CloseSocket(Effect):
    conn_id: int
    gen: int


@dataclass(frozen=True)
class AcceptIncoming(Effect):
    """Bind the pending accepted connection ``token`` to ``conn_id`` (-1: refuse it)."""

    token: int
    conn_id: int
    gen: int


@dataclass(frozen=True)
class ResolveName(Effect):
    """A DNS lookup (AT+QIDNSGIP); ``ping`` also asks whether the host is reachable (AT+QPING)."""

    token: int
    host: str
    ping: bool = False


# --- stimuli (executor -> modem) -----------------------------------------------------------


@dataclass(frozen=True)
class SocketOpened(Stimulus):
    """The dial/bind finished: ``err`` 0 or a 5xx code (565 DNS, 566 connect failed ...)."""

    conn_id: int
    gen: int
    err: int = 0
    local_port: int = 0
    real_port: int = 0  # loopback port of a listener (how a test reaches it)


@dataclass(frozen=True)
class SocketData(Downlink):
    conn_id: int
    gen: int
    data: bytes
    ip: str = ""
    port: int = 0


@dataclass(frozen=True)
class SocketSent(Stimulus):
    """``nbytes`` left the send buffer (counts as acked for ``AT+QISEND=<id>,0``)."""

    conn_id: int
    gen: int
    nbytes: int


@dataclass(frozen=True)
class SocketClosed(Downlink):
    """The peer closed or reset the connection (or a ``cut`` fault did). A Downlink: a
    device in PSM learns of it only when it wakes."""

    conn_id: int
    gen: int


@dataclass(frozen=True)
class SocketIncoming(Stimulus):
    """A client connected to the TCP LISTENER ``server_id``; ``token`` names it until adopted."""

    server_id: int
    server_gen: int
    token: int
    ip: str
    port: int


@dataclass(frozen=True)
class NameResolved(Stimulus):
    token: int
    addresses: tuple[str, ...]
    reachable: bool = False  # some route of the FakeInternet goes there (AT+QPING)


# --- model ---------------------------------------------------------------------------------


@dataclass
class Socket:
    conn_id: int
    cid: int
    service: str
    host: str
    rport: int
    lport: int
    access: int
    gen: int
    state: int = OPENING
    server_id: int = 0
    real_port: int = 0
    rx: bytearray = field(default_factory=bytearray)
    datagrams: deque = field(default_factory=deque)  # UDP SERVICE: (data, ip, port)
    total_recv: int = 0
    have_read: int = 0
    total_sent: int = 0
    acked: int = 0
    notified: bool = False  # a "recv" URC is out and the buffer was not drained since
    escaped: bool = False  # transparent socket left with +++ (data now buffered)
    timer: Any = None  # open timeout

    @property
    def unread(self) -> int:
        return self.total_recv - self.have_read

    @property
    def is_udp(self) -> bool:
        return self.service in ("UDP", "UDP SERVICE")


@dataclass
class TcpIpState:
    sockets: dict[int, Socket] = field(default_factory=dict)
    gen: int = 0
    last_error: int = 0
    send_hex: int = 0
    recv_hex: int = 0
    viewmode: int = 0
    transpktsize: int = 1024
    transwaittm: int = 2
    retrans: tuple[int, int] = (10, 600)
    sde: int = 1
    auth: dict[int, tuple[str, str, int]] = field(default_factory=dict)
    activated: set[int] = field(default_factory=set)
    dns: dict[int, tuple] = field(default_factory=dict)  # token -> (cid, pings, timeout)
    token: int = 0
    transparent: Any = None  # the TransparentLine while in data mode
    escaped_id: int | None = None

    def next_gen(self) -> int:
        self.gen += 1
        return self.gen

    def next_token(self) -> int:
        self.token += 1
        return self.token
