"""Benchmark: simulated hours per wall second for a modem cycling PSM and uplinks.

One EC800E (sans-IO :class:`~emulator.core.modem.Modem`, no network) with PSM granted
(T3412 = 1 h, T3324 = 10 s) is woken by a host command every ``period`` seconds (on the
EC800E any command line wakes it; it stands in for the uplink), goes back to PSM after the
RRC release and the active time; with a ``period`` over an hour the periodic TAU wakes it in
between too. The clock is the VirtualClock, moved with ``advance``. ``run()`` returns the figures as a dict;
registered as the ``psm`` bench of ``python -m bench``; ``python -m bench.psm`` prints them.

Must not: open sockets or read the wall clock for anything but measuring itself.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench import Bench, Row, register
from emulator.core.modem import Modem
from emulator.modules import load_module


def run(hours: float = 24.0 * 30, period: float = 900.0, module: str = "ec800e") -> dict[str, Any]:
    """Simulate ``hours`` of a device that sends every ``period`` s and sleeps in between."""
    modem = Modem(load_module(module))
    modem.events()
    modem.receive_data(b'AT+QCFG="urc/psm",1\rAT+CSCON=1\rAT+CPSMS=1,,,"00100001","00000101"\r')
    modem.advance(60)
    modem.events()
    simulated = hours * 3600.0
    cycles = int(simulated // period)
    enters = exits = 0
    t0 = time.perf_counter()
    for _ in range(cycles):
        modem.receive_data(b"AT+CSQ\r")  # host activity: wakes the EC800E from PSM
        modem.advance(period)
        for event in modem.events():
            data = getattr(event, "data", b"")
            enters += data.count(b"ENTER PSM")
            exits += data.count(b"EXIT PSM")
    wall = time.perf_counter() - t0
    energy = modem.state.energy.report()
    return {"module": module, "simulated_hours": cycles * period / 3600.0, "wall_seconds": wall,
            "simulated_hours_per_wall_second": (cycles * period / 3600.0) / wall if wall > 0 else float("inf"),
            "cycles": cycles, "psm_entries": enters, "psm_exits": exits,
            "charge_uah": energy["charge_uah"], "seconds": energy["seconds"]}


@register
def psm(ctx: Bench) -> list[Row]:
    out = run(hours=24.0 * 60)
    if not out["psm_entries"] == out["psm_exits"] == out["cycles"]:
        raise RuntimeError(f"PSM cycles missing: {out}")
    avg_ua = out["charge_uah"] / out["simulated_hours"]
    return [Row("psm", f"simulated hours per wall second ({out['cycles']} uplink/PSM cycles, 15 min)",
                out["simulated_hours_per_wall_second"], "h/s"),
            Row("psm", f"wall time for {out['simulated_hours'] / 24:.0f} simulated days", out["wall_seconds"], "s"),
            Row("psm", "time in PSM (energy meter)", 100.0 * out["seconds"]["psm"] / (out["simulated_hours"] * 3600),
                "%"),
            Row("psm", "average current over the cycles (energy meter)", avg_ua, "uA")]


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(), indent=2))
