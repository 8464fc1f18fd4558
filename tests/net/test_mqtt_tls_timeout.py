"""MQTTS dialled at a port that never completes the TLS handshake. Against a server that reads
the ClientHello and waits, the module gives up after its own open limit in *virtual* time --
AT+QMTOPEN's 75 s maximum response time (+QMTOPEN: <id>,-1), AT+SKTPCON's connect timeout
(+SKTPCON: -1, AT+SKTPERR -20) -- instead of asyncio's 60 s of wall time. The embedded brokers
hang up on a ClientHello at once (a CONNECT with bad flags, MQTT-4.8.0-1, as mosquitto does),
so there the open fails before the limit. The wall-time asserts prove nothing waits on the
wall clock.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet
from emulator.net.mqtt_client import MqttSession
from emulator.net.thingplug_exec import CONNECT_TIMEOUT
from emulator.testing.harness import ModemHarness

pytestmark = pytest.mark.slow


async def test_tls_open_to_a_server_that_never_answers_times_out_in_virtual_time():
    async def silent(reader, writer):  # a plain MQTT broker waiting for the rest of a "packet"
        await reader.read(65536)
        await asyncio.sleep(3600)
    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock, net = VirtualClock(), FakeInternet()
    net.add_route("plain.broker", 1883, ("127.0.0.1", port))
    s = MqttSession(clock, net)
    try:
        task = asyncio.create_task(s.open("plain.broker", 1883, tls=True, timeout=75))
        await asyncio.sleep(0.2)
        clock.advance(74.9)
        await asyncio.sleep(0.05)
        assert not task.done()
        t0 = time.monotonic()
        clock.advance(0.1)
        assert await asyncio.wait_for(task, 5) == "timeout"
        assert time.monotonic() - t0 < 4  # at most the loopback settling grace, not 60 s
        assert s.state == "closed"
    finally:
        await s.close()
        server.close()


def test_qmtopen_with_ssl_to_a_plain_broker_fails():
    # The embedded broker reads the ClientHello (0x16...) as a CONNECT with bad flags and hangs
    # up at once, as mosquitto does (MQTT-4.8.0-1); the open fails before AT+QMTOPEN's limit.
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        h.command('AT+QMTCFG="ssl",0,1,0')
        t0, v0 = time.monotonic(), h.now
        h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,-1", within="80s")
        assert h.now - v0 < 75, h.now - v0
        assert time.monotonic() - t0 < 20
        h.command('AT+QMTCFG="ssl",0,0,0')  # the port keeps working: plain MQTT opens
        h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,0")


def test_sktpcon_mqtts_to_the_plain_port_fails():
    # as above: the broker hangs up on the ClientHello, before the module's connect timeout
    with ModemHarness("bg96", backends=["thingplug"]) as h:
        t0, v0 = time.monotonic(), h.now
        h.command('AT+SKTPCON=1,"MQTTS","test.sktiot.com",1883,120,1,"simple_v1","a0149f60b---------",'
                  '"smarthome","smartlight001"', "OK", "+SKTPCON: -1", within="40s")
        assert h.now - v0 < CONNECT_TIMEOUT, h.now - v0
        assert time.monotonic() - t0 < 20
        h.command("AT+SKTPERR=1", "+SKTPE: -20", "OK")
        h.command('AT+SKTPCON=1,"MQTTS","test.sktiot.com",8883,120,1,"simple_v1","a0149f60b---------",'
                  '"smarthome","smartlight001"', "OK", "+SKTPCON: 0")
