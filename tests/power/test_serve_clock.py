"""A ``serve``-like Emulator (clock following the wall clock, console API): a day of LwM2M
lifetime passes through ``POST /api/clock/advance`` in well under a second and the CTWing
device goes offline. Waiting here is bounded polling for real loopback I/O only."""

from __future__ import annotations

import asyncio
import time

import httpx

from emulator.api.app import create_app
from emulator.config import Config, ModemSpec
from emulator.transport.runner import Emulator

IMEI = "868543060974334"


async def _until(buf: bytearray, text: bytes, wall: float = 5.0) -> None:
    deadline = time.monotonic() + wall
    while text not in buf:
        assert time.monotonic() < deadline, f"no {text!r} in {bytes(buf)!r}"
        await asyncio.sleep(0.01)


async def test_lifetime_expires_through_the_console_api_on_a_wall_clock_emulator() -> None:
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e")], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=["ctwing"], follow_wall=True)
    await emu.start()
    try:
        port, buf = emu.ports["ec800e"], bytearray()
        port.sinks.append(buf.extend)
        for line, want in ((b'AT+QLWCFG="lifetime_enable",0', b"OK"),
                           (f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0'.encode(), b"OK"),
                           (b"AT+QLWADDOBJ=19,0,1,0", b"OK"), (b"AT+QLWADDOBJ=19,1,1,0", b"OK"),
                           (b"AT+QLWREG", b"+QLWREG: 0")):
            buf.clear()
            port.feed(line + b"\r")
            await _until(buf, want)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(emu)), base_url="http://t") as api:
            assert (await api.get(f"/api/ctwing/devices/{IMEI}")).json()["online"] is True
            before = (await api.get("/api/clock")).json()["now"]
            assert abs(before - time.time()) < 60  # serve: virtual time follows the wall clock
            t0 = time.monotonic()
            r = await api.post("/api/clock/advance", json={"seconds": 86400 + 60})
            assert time.monotonic() - t0 < 1.0 and r.status_code == 200
            assert r.json()["now"] >= before + 86400 + 60
            assert (await api.get(f"/api/ctwing/devices/{IMEI}")).json()["online"] is False
            energy = (await api.get("/api/modems/ec800e/energy")).json()
            assert energy["seconds"]["idle"] > 86000 and energy["charge_uah"] > 0
    finally:
        await emu.stop()


async def _serve_like(backends: list[str]) -> tuple[Emulator, bytearray]:
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e")], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=backends, follow_wall=True)
    await emu.start()
    buf = bytearray()
    emu.ports["ec800e"].sinks.append(buf.extend)
    return emu, buf


async def _type(emu: Emulator, buf: bytearray, steps) -> None:  # noqa: ANN001
    for line, want in steps:
        buf.clear()
        emu.ports["ec800e"].feed(line + b"\r")
        await _until(buf, want)


async def test_advance_lets_automatic_lwm2m_updates_reach_the_platform() -> None:
    """lifetime_enable=1 (the module's default): the module updates on its own at 0.9 x the
    lifetime. An hour of console-API advance keeps the device online (it used to fire the CON
    retransmissions back to back before the platform could answer: +QLWUPDATE: -2 ... -9 and
    the device offline)."""
    emu, buf = await _serve_like(["ctwing"])
    try:
        await _type(emu, buf, ((f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",300,3,0'.encode(), b"OK"),
                               (b"AT+QLWADDOBJ=19,0,1,0", b"OK"), (b"AT+QLWADDOBJ=19,1,1,0", b"OK"),
                               (b"AT+QLWREG", b"+QLWREG: 0")))
        buf.clear()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(emu)), base_url="http://t") as api:
            t0 = time.monotonic()
            r = await api.post("/api/clock/advance", json={"seconds": 3600})
            assert r.status_code == 200 and time.monotonic() - t0 < 2.0
            assert r.json()["fired"] >= 12  # a dozen automatic updates at least
            assert (await api.get(f"/api/ctwing/devices/{IMEI}")).json()["online"] is True
        assert b"+QLWUPDATE: -" not in buf, bytes(buf)
        await _type(emu, buf, ((b"AT+QLWSTATUS?", b"+QLWSTATUS: 2"),))
    finally:
        await emu.stop()


async def test_advance_keeps_a_healthy_mqtt_connection_alive() -> None:
    """QMTCFG keepalive 60 s: an hour of advance sends PINGREQs on the virtual clock and the
    broker's PINGRESPs arrive before the response timeout (no +QMTSTAT: 0,2)."""
    emu, buf = await _serve_like(["ctwing"])
    try:
        await _type(emu, buf, ((b'AT+QMTCFG="keepalive",0,60', b"OK"),
                               (b'AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', b"+QMTOPEN: 0,0"),
                               (b'AT+QMTCONN=0,"16891291868543060025186","device001",'
                                b'"nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"', b"+QMTCONN: 0,0,0")))
        buf.clear()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(emu)), base_url="http://t") as api:
            r = await api.post("/api/clock/advance", json={"seconds": 3600})
            assert r.status_code == 200 and r.json()["fired"] >= 60
        await asyncio.sleep(0.2)
        assert b"+QMTSTAT" not in buf, bytes(buf)
        await _type(emu, buf, ((b"AT+QMTCONN?", b"+QMTCONN: 0,3"),))
    finally:
        await emu.stop()
