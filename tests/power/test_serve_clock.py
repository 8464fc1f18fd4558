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
