"""Benchmark: a live clock advance with loopback I/O (``POST /api/clock/advance``'s engine).

One EC800E on a serve-like :class:`~emulator.transport.runner.Emulator` (clock following the
wall clock, CTWing embedded, on uvloop when installed, as ``serve`` runs) holds an MQTT
connection to CTWing (keepalive 60 s) and an LwM2M registration (lifetime 300 s, automatic
Updates). ``advance_report`` moves the clock a day at a time; measured: wall seconds per
simulated day and simulated hours per wall second. Baseline in the same run, on the same loop
with the same sessions open: as many bare loop turns (``await asyncio.sleep(0)``) as the day's
settling took, the floor of letting the loop run that often; the ratio says how much the
protocol work itself adds. Both sessions must be healthy after the live days, else the bench
fails.

Must not: open anything but loopback, or read the wall clock for anything but measuring.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench import Bench, Row, register
from bench.rig import poll
from emulator.config import Config, ModemSpec
from emulator.transport.runner import Emulator

IMEI = "868543060974334"
SETUP = ((f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",300,3,0', b"OK"),
         ("AT+QLWADDOBJ=19,0,1,0", b"OK"), ("AT+QLWADDOBJ=19,1,1,0", b"OK"),
         ("AT+QLWREG", b"+QLWREG: 0"), ('AT+QMTCFG="keepalive",0,60', b"OK"),
         ('AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', b"+QMTOPEN: 0,0"),
         ('AT+QMTCONN=0,"16891291868543060025186","device001",'
          '"nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"', b"+QMTCONN: 0,0,0"))


async def _session() -> tuple[Emulator, bytearray]:
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e")], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=["ctwing"], follow_wall=True)
    await emu.start()
    buf = bytearray()
    emu.ports["ec800e"].sinks.append(buf.extend)
    for line, want in SETUP:
        buf.clear()
        emu.ports["ec800e"].feed(line.encode() + b"\r")
        await poll(lambda want=want: want in buf, f"{want!r} after {line}", 10.0)
    buf.clear()
    return emu, buf


async def _run(days: int) -> dict[str, Any]:
    emu, buf = await _session()
    try:
        walls, reports = [], []
        for _ in range(days):
            t0 = time.perf_counter()
            reports.append((await emu.advance_report(86400)).as_dict())
            walls.append(time.perf_counter() - t0)
        if b"+QMTSTAT" in buf or b'"ping",-' in buf:
            raise RuntimeError(f"a session broke in the live advance: {bytes(buf[-300:])!r}")
        turns = int(reports[0]["io_rounds"])
        t0 = time.perf_counter()
        for _ in range(turns):  # the floor: as many bare loop turns, same loop, same sessions
            await asyncio.sleep(0)
        floor = time.perf_counter() - t0
    finally:
        await emu.stop()
    return {"walls": walls, "reports": reports, "floor": floor}


def run(days: int = 3) -> dict[str, Any]:
    try:
        import uvloop
        return uvloop.run(_run(days))
    except ImportError:  # pragma: no cover - serve runs on asyncio then too
        return asyncio.run(_run(days))


@register
def advance(ctx: Bench) -> list[Row]:
    out = run()
    walls = sorted(out["walls"])
    mid = walls[len(walls) // 2]
    rep = out["reports"][0]
    return [Row("advance", f"a day, MQTT keepalive 60 s + LwM2M lifetime 300 s, live (min {walls[0]:.2f} "
                           f"max {walls[-1]:.2f})", mid, "s", "< 1"),
            Row("advance", "  simulated hours per wall second", 24 / mid, "h/s"),
            Row("advance", f"  timers fired / deadlines settled / loop turns per day", rep["fired"], "",
                f"{rep['settled']} / {rep['io_rounds']}"),
            Row("advance", "  as many bare loop turns on the same loop (floor)", out["floor"], "s"),
            Row("advance", "  ratio live / floor", mid / out["floor"] if out["floor"] else float("inf"), "x")]


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=2))
