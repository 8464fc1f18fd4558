"""Bench: MQTT publishes per second from an EC800E (``AT+QMTPUBEX``) to the embedded CTWing
broker, at QoS 0, 1 and 2.

The modem opens and connects as guide 001 §4.2.3 shows (``mqtt.ctwing.cn``:1883, the guide's
device and feature string), then per QoS the host sends ``count`` times
``AT+QMTPUBEX=0,<msgid>,<qos>,0,"topic/data",<len>`` + payload, waiting for ``> `` and for
``+QMTPUBEX: 0,<msgid>,0`` (QoS 0: after the bytes are written; 1: PUBACK; 2: PUBCOMP) as a
real host does. Reported per QoS: publishes per wall second, the median AT line ->
``+QMTPUBEX`` result; the platform store must hold every publish.

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import Bench, Row, register
from bench.rig import emulator, median_ms, poll
from emulator.config import ModemSpec

CLIENT = "16891291868543060025186"  # guide 001 §4.2.3
PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


async def _bench(count: int, qoses: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    async with emulator([ModemSpec("ec800e", "ec800e")], ["ctwing"]) as (emu, hosts):
        h = hosts["ec800e"]
        h.send(b'AT+QMTOPEN=0,"mqtt.ctwing.cn",1883\r')
        await h.expect(b"+QMTOPEN: 0,0\r\n", 10.0)
        h.send(f'AT+QMTCONN=0,"{CLIENT}","device001","{PASSWORD}"\r'.encode())
        await h.expect(b"+QMTCONN: 0,0,0\r\n", 10.0)
        store = emu.backends["ctwing"].store
        results: dict[int, dict[str, Any]] = {}
        for qos in qoses:
            before = len(store.payloads(CLIENT))
            latencies: list[float] = []
            t0 = time.perf_counter()
            for seq in range(count):
                msgid = 0 if qos == 0 else seq % 65535 + 1
                payload = b'{"seq":%06d,"qos":%d}' % (seq, qos)
                start = time.perf_counter()
                h.send(b'AT+QMTPUBEX=0,%d,%d,0,"topic/data",%d\r' % (msgid, qos, len(payload)))
                await h.expect(b"\r\n> ", 10.0)
                h.send(payload)
                result = await h.expect(b"+QMTPUBEX: 0,%d," % msgid, 10.0)
                if b"ERROR" in result:
                    raise RuntimeError(f"QMTPUBEX: {result!r}")
                status = await h.expect(b"\r\n", 1.0)
                if not status.startswith(b"0"):
                    raise RuntimeError(f"QMTPUBEX qos {qos}: result {status!r}")
                latencies.append(h.arrived - start)
            elapsed = time.perf_counter() - t0
            await poll(lambda: len(store.payloads(CLIENT)) - before >= count, f"qos {qos} stored", 10.0)
            results[qos] = {"per_s": count / elapsed, "median_ms": median_ms(latencies),
                            "stored": len(store.payloads(CLIENT)) - before}
        return results


def run(count: int = 300, qoses: tuple[int, ...] = (0, 1, 2)) -> dict[int, dict[str, Any]]:
    """Per QoS in ``qoses`` (``bench.ceiling`` runs QoS 1 alone): rate, median, stored."""
    return asyncio.run(_bench(count, qoses))


@register
def mqtt(ctx: Bench) -> list[Row]:
    count = 300
    out = run(count)
    rows = []
    for qos, r in out.items():
        if r["stored"] != count:
            raise RuntimeError(f"qos {qos}: platform kept {r['stored']} of {count}")
        rows += [Row("mqtt", f"AT+QMTPUBEX QoS {qos} -> CTWing broker store, ec800e", r["per_s"], "msg/s"),
                 Row("mqtt", f"QoS {qos}: AT -> +QMTPUBEX result, median", r["median_ms"], "ms")]
    return rows


if __name__ == "__main__":  # pragma: no cover
    print(run())
