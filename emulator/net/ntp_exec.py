"""Executor of ``AT+QNTP``'s :class:`NtpQuery`: one real NTP exchange over UDP on loopback.

The server is wherever the FakeInternet routes ``host:123`` (the embedded NTP backend,
``emulator/backends/ntp.py``, or a ``--route`` to your own server on loopback). The packet is
built and read by ``ntplib`` (RFC 5905 format, client mode 3); the answer's transmit time goes
back as :class:`NtpAnswer`. A name that does not resolve answers 565 at once; no route, a
``drop`` fault or a silent server answer nothing (the modem's 125 s virtual timeout reports
569); a ``delay`` fault holds the answer for its virtual seconds.

Must not: send anything to a non-loopback address, or decide what the host sees.
"""

from __future__ import annotations

import asyncio
import logging

import ntplib

from ..modules.handlers.quectel_ntp import MAX_RESPONSE_S, NtpAnswer, NtpQuery
from .context import NetContext
from .executors import executor
from .internet import is_loopback
from .netutil import virtual_sleep

log = logging.getLogger("modemu.ntp")


class _Client(asyncio.DatagramProtocol):
    def __init__(self, answer: asyncio.Future) -> None:
        self.answer = answer

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        packet = ntplib.NTPPacket()
        try:
            packet.from_data(data)
        except ntplib.NTPException:
            return  # not NTP: keep waiting (the modem's timeout decides)
        if packet.mode == 4 and not self.answer.done():
            self.answer.set_result(packet)

    def error_received(self, exc: Exception) -> None:  # ICMP unreachable: nothing answers
        log.debug("ntp: %s", exc)


@executor(NtpQuery)
async def ntp_query(effect: NtpQuery, net: NetContext) -> None:
    clock, internet = net.clock, net.internet
    target, err, fault = internet.connect_target(effect.host, effect.port)
    if err == "dns":
        net.stimulus(NtpAnswer(effect.token, err=565))
        return
    if target is None or not is_loopback(target[0]) or (fault is not None and fault.kind in ("drop", "refuse")):
        return  # the request is lost: the modem times out
    if fault is not None and fault.kind == "delay":
        await virtual_sleep(clock, fault.seconds)
    loop = asyncio.get_running_loop()
    answer: asyncio.Future = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Client(answer), remote_addr=target)
    try:
        request = ntplib.NTPPacket(version=4, mode=3, tx_timestamp=ntplib.system_to_ntp_time(clock.now()))
        transport.sendto(request.to_data())
        give_up = virtual_sleep(clock, MAX_RESPONSE_S)
        done, _ = await asyncio.wait({answer, give_up}, return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            packet = answer.result()
            net.stimulus(NtpAnswer(effect.token, utc=ntplib.ntp_to_system_time(packet.tx_timestamp)))
    finally:
        transport.close()
