"""Bench: LwM2M CON uplinks from an EC800E (``AT+QLWNOTIFY``) to the embedded CTWing platform.

The modem registers over plain CoAP as guide 001 §4.1.3.1 shows (IMEI 868543060974334 is in
the default CTWing registry), answers the platform's observe of 19/0/0, then the host sends
``notifies`` confirmable ``AT+QLWNOTIFY=19,0,0,2,<len>,"<hex>",0,1`` one after the other, each
waiting for ``+QLWURC: "report_ack",0,<mid>`` (the platform's ACK) as a real host would.
Reported: uplinks per wall second (first command to last ACK), the median and p95 of
AT line written -> ``report_ack`` seen, and how many the platform store kept (must equal).

Must not: bind or dial outside loopback; the virtual clock does not follow the wall, so no CoAP
retransmission fires while the bench runs.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from bench import Bench, Row, register
from bench.rig import emulator, median_ms, p95_ms, poll
from emulator.config import ModemSpec

IMEI = "868543060974334"
HELLO = "68656c6c6f776f726c64"
OBSERVE = re.compile(rb'\+QLWURC: "observe",(\d+),0,19,0,0\r\n')


async def _bench(notifies: int) -> dict[str, Any]:
    async with emulator([ModemSpec("ec800e", "ec800e")], ["ctwing"]) as (emu, hosts):
        h = hosts["ec800e"]
        for line in ('AT+QLWCFG="lifetime_enable",0', f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0',
                     "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
            if not (await h.at(line)).endswith(b"OK\r\n"):
                raise RuntimeError(f"{line}: not OK")
        h.send(b"AT+QLWREG\r")
        obs = int(re.search(OBSERVE, await h.expect(OBSERVE, 10.0)).group(1))
        h.send(f'AT+QLWOBSRSP={obs},1,19,0,0,2,10,"{HELLO}",0\r'.encode())
        await h.expect(f"+QLWOBSRSP: {obs},0".encode(), 10.0)
        backend = emu.backends["ctwing"]
        device = backend.registry.device_by_imei(IMEI)
        store = backend.store
        before = len(store.payloads(device.device_id))
        latencies: list[float] = []
        t0 = time.perf_counter()
        for seq in range(notifies):
            payload = b"%010d" % seq
            line = f'AT+QLWNOTIFY=19,0,0,2,{len(payload)},"{payload.hex()}",0,1\r'.encode()
            start = time.perf_counter()
            h.send(line)
            await h.expect(b'+QLWURC: "report_ack",0,', 10.0)
            latencies.append(h.arrived - start)
        elapsed = time.perf_counter() - t0
        await poll(lambda: len(store.payloads(device.device_id)) - before >= notifies, "stored", 10.0)
        stored = len(store.payloads(device.device_id)) - before
        await asyncio.sleep(0)
        return {"notifies": notifies, "stored": stored, "per_s": notifies / elapsed,
                "median_ms": median_ms(latencies), "p95_ms": p95_ms(latencies)}


def run(notifies: int = 300) -> dict[str, Any]:
    return asyncio.run(_bench(notifies))


@register
def lwm2m(ctx: Bench) -> list[Row]:
    out = run(300)
    if out["stored"] != out["notifies"]:
        raise RuntimeError(f"platform kept {out['stored']} of {out['notifies']}")
    return [Row("lwm2m", "CON AT+QLWNOTIFY -> CTWing store, ec800e (CoAP)", out["per_s"], "msg/s"),
            Row("lwm2m", 'AT -> +QLWURC: "report_ack", median', out["median_ms"], "ms"),
            Row("lwm2m", 'AT -> +QLWURC: "report_ack", p95', out["p95_ms"], "ms")]


if __name__ == "__main__":  # pragma: no cover
    print(run())
