"""The ready file's contract with the platforms loading after it: every endpoint it lists accepts a
client at once, and the first request is answered correctly once the protocol library is up.

``modemu serve`` binds each platform listener before the ready file and attaches amqtt, aiocoap
and python-mbedtls right after (``emulator/backends/prebind.py``). Here every client fires the
moment the ready file exists, all at the same time: MQTT CONNECT -> CONNACK 0 on both brokers
(paho-mqtt), an LwM2M Register -> 2.01 (aiocoap), a CTWing TCP login -> result 0, an NTP query
(ntplib), and a modem that dials ThingPlug over its pty right at start-up.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time

import pytest

from emulator.testing.ptyline import PtyLine
from emulator.testing.serve import start_serve

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

THINGPLUG_TOKEN = "a0149f60b---------"  # thingplug/registry.py DEFAULT_TOKEN
CTWING_MQTT = ("16891291868543060025186", "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU")
CTWING_LOGIN = bytes.fromhex(
    "0100173135343336353836383633333138303639393837373237002b6e7936663174534134314451555650443650"
    "386734694f6b397a574e67354c4761394c497a50796d7545380003312e30")
IMEI = "868543060974334"  # the default plain LwM2M device (ctwing/registry.py)


def _addr(info: dict, key: str) -> tuple[str, int]:
    host, _, port = info["backends"][key].rpartition(":")
    return host, int(port)


def _connack(address: tuple[str, int], client_id: str, user: str, password: str | None) -> int:
    """paho-mqtt CONNECT; the CONNACK's return code."""
    import paho.mqtt.client as mqtt
    got: list[int] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
    client.username_pw_set(user, password)

    def on_connect(_c, _u, _f, reason, _p) -> None:  # noqa: ANN001
        got.append(reason.value)
        done.set()
    client.on_connect = on_connect
    client.connect(*address, keepalive=60)
    client.loop_start()
    try:
        assert done.wait(20), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def _tcp_login(address: tuple[str, int]) -> list:
    from emulator.backends.ctwing import tcp_codec
    decoder, frames = tcp_codec.Decoder(), []
    with socket.create_connection(address, timeout=20) as sock:
        sock.sendall(CTWING_LOGIN)
        while not frames:
            data = sock.recv(64)
            assert data, "closed without an answer"
            frames += decoder.feed(data)
    return frames


def _ntp(address: tuple[str, int]) -> float:
    import ntplib
    return ntplib.NTPClient().request(address[0], port=address[1], version=4, timeout=20).tx_time


def _register(address: tuple[str, int]) -> str:
    import aiocoap

    async def run() -> str:
        ctx = await aiocoap.Context.create_client_context()
        try:
            msg = aiocoap.Message(code=aiocoap.POST, uri=f"coap://{address[0]}:{address[1]}/rd",
                                  uri_query=(f"ep={IMEI}", "lt=300", "lwm2m=1.0", "b=U"),
                                  payload=b"</>;rt=\"oma.lwm2m\",</1/0>,</3/0>,</19/0/0>")
            return str((await asyncio.wait_for(ctx.request(msg).response, 20)).code)
        finally:
            await ctx.shutdown()
    return asyncio.run(run())


def test_every_platform_answers_a_client_that_comes_right_after_the_ready_file(tmp_path) -> None:
    srv = start_serve(tmp_path, "--module", "ec800e")
    info, results, errors = srv.info, {}, []
    jobs = {
        "thingplug": lambda: _connack(_addr(info, "thingplug_mqtt"), "dev1", THINGPLUG_TOKEN, None),
        "ctwing_mqtt": lambda: _connack(_addr(info, "ctwing_mqtt"), CTWING_MQTT[0], "device001", CTWING_MQTT[1]),
        "ctwing_tcp": lambda: _tcp_login(_addr(info, "ctwing_tcp")),
        "lwm2m": lambda: _register(_addr(info, "ctwing_lwm2m")),
        "ntp": lambda: _ntp(_addr(info, "ntp")),
    }

    def run(name: str) -> None:
        try:
            results[name] = jobs[name]()
        except Exception as exc:  # noqa: BLE001 - reported below with the job's name
            errors.append(f"{name}: {exc!r}")
    threads = [threading.Thread(target=run, args=(name,)) for name in jobs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        assert srv.stop(10) == 0
    assert not errors, errors
    assert results["thingplug"] == 0 and results["ctwing_mqtt"] == 0
    from emulator.backends.ctwing import tcp_codec
    assert results["ctwing_tcp"] == [tcp_codec.LoginResponse(tcp_codec.RESULT_OK)]
    assert results["lwm2m"].startswith("2.01")
    assert abs(results["ntp"] - time.time()) < 60


def test_a_modem_that_dials_a_platform_at_start_up_gets_it(tmp_path) -> None:
    srv = start_serve(tmp_path, "--module", "bg96")
    try:
        line = PtyLine(srv.pty("bg96"), timeout=20.0)
        line.cmd('AT+QMTOPEN=0,"test.sktiot.com",1883', b"\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
        line.cmd(f'AT+QMTCONN=0,"dev1","{THINGPLUG_TOKEN}"', b"\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n")
    finally:
        assert srv.stop(10) == 0
