"""AT+QNTP end to end in-process: the Emulator with the embedded NTP backend (a real UDP NTP
server on loopback, packets by ntplib), reached through FakeInternet routes. The time the
module learns is the virtual clock's; timeouts are virtual too."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import ntplib
import pytest

from emulator.backends.ntp import answer
from emulator.config import Config, ModemSpec
from emulator.net.internet import Fault
from emulator.testing.host import Host
from emulator.transport.runner import Emulator

pytestmark = pytest.mark.slow


@pytest.fixture
async def rig():
    emu = Emulator(Config(), modems=[ModemSpec("bg96", "bg96"), ModemSpec("ec800e", "ec800e")],
                   ephemeral=True, with_pty=False, with_tcp=False, backends=["ntp"], follow_wall=False)
    await emu.start()
    hosts = {name: Host(port) for name, port in emu.ports.items()}
    for h in hosts.values():
        assert (await h.at("ATE0")).endswith(b"OK\r\n")
    yield emu, hosts
    await emu.stop()


def local(utc: float, quarter_hours: int, fmt: str) -> str:
    return (datetime.fromtimestamp(utc, tz=timezone.utc) + timedelta(minutes=15 * quarter_hours)).strftime(fmt)


async def test_qntp_sets_the_clock_from_the_embedded_server(rig):
    emu, hosts = rig
    h = hosts["bg96"]
    # the RTC was set by hand to another day; the NTP answer brings it back to network time
    assert await h.at('AT+CCLK="20/01/01,00:00:00+36"') == b"\r\nOK\r\n"
    assert await h.at('AT+QNTP=1,"pool.ntp.org"') == b"\r\nOK\r\n"
    now = emu.clock.now()
    urc = await h.expect(b'"\r\n')
    assert urc == f'\r\n+QNTP: 0,"{local(now, 36, "%Y/%m/%d,%H:%M:%S")}+36"\r\n'.encode()
    assert await h.at("AT+CCLK?") == f'\r\n+CCLK: "{local(emu.clock.now(), 36, "%y/%m/%d,%H:%M:%S")}+36"\r\n\r\nOK\r\n'.encode()
    assert emu.backends["ntp"].served == 1


async def test_qntp_read_busy_autoset_off_and_port(rig):
    emu, hosts = rig
    h = hosts["ec800e"]
    assert await h.at("AT+QNTP?") == b"\r\nOK\r\n"
    assert await h.at('AT+CCLK="20/01/01,00:00:00+32"') == b"\r\nOK\r\n"
    # <port> 123 given, <autosettime> 0: the clock is reported, not set
    assert await h.at('AT+QNTP=1,"ntp.aliyun.com",123,0') == b"\r\nOK\r\n"
    assert await h.expect(b'"\r\n') == f'\r\n+QNTP: 0,"{local(emu.clock.now(), 32, "%Y/%m/%d,%H:%M:%S")}+32"\r\n'.encode()
    assert (await h.at("AT+CCLK?")).startswith(b'\r\n+CCLK: "20/01/01,00:00:0')  # not set
    assert await h.at("AT+QNTP=?") == b"\r\n+QNTP: (1-16),<server>,(1-65535),(0,1)\r\n\r\nOK\r\n"


async def test_qntp_errors_dns_timeout_and_busy(rig):
    emu, hosts = rig
    h = hosts["bg96"]
    assert await h.at('AT+QNTP=1,"no.such.name.example"') == b"\r\nOK\r\n"
    assert await h.expect(b"\r\n+QNTP: 565\r\n") == b"\r\n+QNTP: 565\r\n"
    # a routed server whose route drops: the module gives up after 125 virtual seconds
    emu.internet.add_fault("pool.ntp.org", 123, Fault("drop"))
    assert await h.at('AT+QNTP=1,"pool.ntp.org"') == b"\r\nOK\r\n"
    assert await h.at("AT+QNTP?") == b'\r\n+QNTP: "pool.ntp.org",123\r\n\r\nOK\r\n'
    assert await h.at('AT+QNTP=1,"time.bora.net"') == b"\r\nERROR\r\n"  # one at a time
    assert await h.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 568, operation busy\r\n\r\nOK\r\n"
    await asyncio.sleep(0.05)
    emu.advance(124)
    await asyncio.sleep(0.05)
    assert await h.at("AT+QNTP?") == b'\r\n+QNTP: "pool.ntp.org",123\r\n\r\nOK\r\n'
    emu.advance(1)
    assert await h.expect(b"\r\n+QNTP: 569\r\n") == b"\r\n+QNTP: 569\r\n"
    assert await h.at("AT+QNTP?") == b"\r\nOK\r\n"
    assert await h.at('AT+QNTP=2,"pool.ntp.org"') == b"\r\nERROR\r\n"  # context 2 not active
    assert await h.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 561, open PDP context failed\r\n\r\nOK\r\n"


def test_server_answers_client_requests_only_with_virtual_time() -> None:
    now = 1_800_000_000.25
    request = ntplib.NTPPacket(version=3, mode=3, tx_timestamp=ntplib.system_to_ntp_time(now - 5))
    reply = ntplib.NTPPacket()
    reply.from_data(answer(request.to_data(), now))
    assert (reply.mode, reply.version, reply.stratum) == (4, 3, 1)
    assert ntplib.ntp_to_system_time(reply.tx_timestamp) == pytest.approx(now, abs=1e-6)
    assert reply.orig_timestamp == pytest.approx(request.tx_timestamp, abs=1e-6)
    assert answer(ntplib.NTPPacket(mode=4).to_data(), now) is None  # a server packet: ignored
    assert answer(b"\x1b" * 10, now) is None  # too short to be NTP
