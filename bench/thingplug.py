"""Benchmark: ThingPlug telemetry from one modem to an application, in process, on loopback.

``run(messages=200, module="bg96") -> dict``: a BG96 (or another ThingPlug module) connects to
the embedded platform as guide 000 shows; a paho-mqtt application (device token as user name)
subscribes ``v1/dev/smarthome/smartlight001/telemetry``; the host then sends ``messages``
``AT+SKTPDAT`` one after the other, each waiting for ``OK`` as a real host must (the modem
answers ``OK`` after the broker's PUBACK). Reported:

* ``msgs_per_s``: messages delivered to the application per wall second (first Ctrl+Z to last
  arrival);
* ``latency_median_ms`` / ``latency_p95_ms``: Ctrl+Z written to the modem -> the application's
  paho callback (wall clock, ``time.perf_counter``); with ``lockstep=True`` the host also waits
  for the application to get each message before sending the next (latency without queueing;
  the registered bench reports throughput back-to-back and latency in lockstep);
* ``ok``/``received``/``stored``: OKs seen, messages the application got, points the platform kept.

Registered as the ``thingplug`` bench of ``python -m bench``; ``python -m bench.thingplug [N]``
prints the dict. Wall time is measured, never used as a
protocol timer. Numbers include the paho network thread hand-off and amqtt's forwarding.

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from typing import Any

from bench import Bench, Row, register
from bench.rig import FINAL, emulator
from emulator.config import ModemSpec
from emulator.testing.thingplug_rig import app_client, connect_line, poll

TOPIC = "v1/dev/smarthome/smartlight001/telemetry"


async def _bench(messages: int, module: str, lockstep: bool = False) -> dict[str, Any]:
    async with emulator([ModemSpec(module, module)], ["thingplug"]) as (emu, hosts):
        host = hosts[module]
        assert (await host.at(connect_line(module))).endswith(b"OK\r\n")
        marker = b"+SKTPCON=0" if module == "wm-n400mse" else b"+SKTPCON: 0"
        await host.expect(marker)
        arrivals: dict[int, float] = {}
        lock = threading.Lock()
        loop = asyncio.get_running_loop()
        got = asyncio.Event()
        app = app_client(emu, client_id="bench-app")

        def on_message(client: Any, userdata: Any, msg: Any) -> None:
            now = time.perf_counter()
            seq = json.loads(msg.payload)["temperature"]
            with lock:
                arrivals.setdefault(seq, now)
            loop.call_soon_threadsafe(got.set)
        app.client.on_message = on_message
        try:
            await app.wait_connected()
            await app.subscribe(TOPIC, 1)
            sent: dict[int, float] = {}
            oks = 0
            t0 = time.perf_counter()
            for seq in range(messages):
                payload = b'{"temperature":%d,"humidity":50}' % seq
                if module == "wm-n400mse":
                    sent[seq] = time.perf_counter()
                    host.send(b"AT+SKTPDAT=1,telemetry,0," + payload + b"\r")
                else:
                    host.send(b'AT+SKTPDAT=1,"telemetry",0\r')
                    await host.expect(b"\r\n> ")
                    sent[seq] = time.perf_counter()
                    host.send(payload + b"\x1a")
                if (await host.expect(FINAL, 10.0)).endswith(b"OK\r\n"):
                    oks += 1
                while lockstep and seq not in arrivals:
                    got.clear()
                    await asyncio.wait_for(got.wait(), 10.0)
            await poll(lambda: len(arrivals) >= oks, "all messages at the application", 10.0)
            elapsed = max(arrivals.values()) - t0
            store = emu.backends["thingplug"].model.store
            await poll(lambda: len(store.telemetry("smarthome", "smartlight001")) >= oks, "stored", 10.0)
            latencies = sorted((arrivals[s] - sent[s]) * 1000 for s in arrivals if s in sent)
        finally:
            app.close()
        return {
            "module": module, "messages": messages, "ok": oks, "received": len(arrivals),
            "stored": len(store.telemetry("smarthome", "smartlight001")),
            "msgs_per_s": round(len(arrivals) / elapsed, 1) if elapsed > 0 else None,
            "latency_median_ms": round(statistics.median(latencies), 3) if latencies else None,
            "latency_p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 3) if latencies else None,
        }


def run(messages: int = 200, module: str = "bg96", lockstep: bool = False) -> dict[str, Any]:
    """Run the benchmark in a fresh event loop (call from synchronous code)."""
    return asyncio.run(_bench(messages, module, lockstep))


@register
def thingplug(ctx: Bench) -> list[Row]:
    out, one = run(500), run(200, lockstep=True)
    for r in (out, one):
        if not r["ok"] == r["received"] == r["stored"] == r["messages"]:
            raise RuntimeError(f"lost messages: {r}")
    return [Row("thingplug", "AT+SKTPDAT -> paho application, bg96, back to back", out["msgs_per_s"], "msg/s"),
            Row("thingplug", "Ctrl+Z -> application, median (back to back)", out["latency_median_ms"], "ms"),
            Row("thingplug", "Ctrl+Z -> application, median (one at a time)", one["latency_median_ms"], "ms"),
            Row("thingplug", "Ctrl+Z -> application, p95 (one at a time)", one["latency_p95_ms"], "ms")]


if __name__ == "__main__":  # pragma: no cover
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
