"""Embedded NTP server: answers NTP client requests with the virtual clock's time.

A UDP server on loopback (``ports: {ntp: N}``, default 10123; 123 needs root) speaking NTPv4
server mode (RFC 5905) with packets built by ``ntplib``: stratum 1, reference "GPS", receive and
transmit time = the emulator's virtual clock, originate = the client's transmit time. The
FakeInternet routes the usual public NTP names (and the BG96 TCP/IP AN's example address
202.120.2.101) on port 123 to it, so ``AT+QNTP=1,"pool.ntp.org"`` works out of the box;
``servers:`` in the backend config replaces the list.

Must not: read the wall clock, or answer anything that is not an NTP client request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import ntplib

from .base import LOOPBACK, Backend, Endpoint

log = logging.getLogger("modemu.ntp")
NTP_PORT = 123
# public names firmware commonly uses (Korea: time.bora.net, time.kriss.re.kr; China:
# ntp.aliyun.com, cn.ntp.org.cn) plus the BG96 TCP/IP AN §2.2.12 example address
SERVERS = ("pool.ntp.org", "time.google.com", "time.windows.com", "time.nist.gov", "time.bora.net",
           "time.kriss.re.kr", "kr.pool.ntp.org", "cn.pool.ntp.org", "ntp.aliyun.com", "cn.ntp.org.cn",
           "202.120.2.101")
REF_ID = int.from_bytes(b"GPS\0", "big")


def answer(request: bytes, now: float) -> bytes | None:
    """The server's reply to ``request`` at virtual time ``now``; None if it is not a client
    request (mode 3)."""
    packet = ntplib.NTPPacket()
    try:
        packet.from_data(request)
    except ntplib.NTPException:
        return None
    if packet.mode != 3:
        return None
    stamp = ntplib.system_to_ntp_time(now)
    reply = ntplib.NTPPacket(version=packet.version or 4, mode=4, tx_timestamp=stamp)
    reply.stratum, reply.poll, reply.precision, reply.ref_id = 1, packet.poll, -20, REF_ID
    reply.ref_timestamp = reply.recv_timestamp = stamp
    reply.orig_timestamp = packet.tx_timestamp
    return reply.to_data()


class _Server(asyncio.DatagramProtocol):
    def __init__(self, backend: "NtpBackend") -> None:
        self.backend = backend
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = answer(data, self.backend.clock.now())
        if reply is not None:
            self.backend.served += 1
            self.transport.sendto(reply, addr)


class NtpBackend(Backend):
    name = "ntp"

    def __init__(self, config: Any, ctx: Any) -> None:
        super().__init__(config, ctx)
        self.transport: Any = None
        self.served = 0

    async def start(self) -> dict[str, Endpoint]:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Server(self), local_addr=(LOOPBACK, self.port_for("ntp", 10123)))
        endpoint = self.transport.get_extra_info("sockname")[:2]
        for name in self.config.get("servers", SERVERS):
            self.ctx.internet.add_route(str(name), NTP_PORT, endpoint, "ntp")
        return {"ntp": endpoint}

    async def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    def reset(self) -> None:
        self.served = 0
