"""Benchmark: uplinks/s per platform next to the broker library's own ceiling, in the same run.

ThingPlug's embedded broker is amqtt: a paho-mqtt client publishing QoS 1 telemetry straight to
it (the platform's device token as user name, ``MESSAGES`` back to back, until the platform
stored them all) is the ceiling; ``bench.thingplug.run`` (a BG96 sending ``AT+SKTPDAT`` and
waiting for each ``OK``) is the same uplink through a modem. Both are measured ``REPEATS`` times
in turns; the ratio is modem / direct with min-max.

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench import Bench, Row, register
from bench.rig import emulator, poll
from bench.thingplug import TOPIC
from bench.thingplug import run as through_modem
from emulator.testing.thingplug_rig import app_client

MESSAGES, REPEATS = 300, 3


async def _direct(messages: int) -> float:
    async with emulator([], ["thingplug"]) as (emu, _hosts):
        client = app_client(emu, client_id="ceiling")
        try:
            await client.wait_connected()
            store = emu.backends["thingplug"].model.store
            infos, t0 = [], time.perf_counter()
            for seq in range(messages):
                infos.append(client.client.publish(TOPIC, b'{"temperature":%d,"humidity":50}' % seq, 1))
            await poll(lambda: len(store.telemetry("smarthome", "smartlight001")) >= messages, "stored", 60.0)
            return messages / (time.perf_counter() - t0)
        finally:
            client.close()


@register
def ceiling(ctx: Bench) -> list[Row]:
    direct, modem = [], []
    for _ in range(REPEATS):
        direct.append(asyncio.run(_direct(MESSAGES)))
        modem.append(through_modem(MESSAGES)["msgs_per_s"])
    ratios = [m / d for m, d in zip(modem, direct)]
    return [Row("ceiling", f"paho -> embedded amqtt (ThingPlug), QoS 1, stored, median of {REPEATS}",
                statistics.median(direct), "msg/s"),
            Row("ceiling", "BG96 AT+SKTPDAT -> the same broker -> a paho application", statistics.median(modem), "msg/s"),
            Row("ceiling", f"ratio modem / direct (min {min(ratios):.2f} max {max(ratios):.2f})",
                statistics.median(ratios), "x")]
