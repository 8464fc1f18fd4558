"""Benchmark: uplinks/s per platform next to the broker or server library's own ceiling, in the
same run.

ThingPlug's embedded broker is amqtt: a paho-mqtt client publishing QoS 1 telemetry straight to
it (the platform's device token as user name, ``MESSAGES`` back to back, until the platform
stored them all) is the ceiling; ``bench.thingplug.run`` (a BG96 sending ``AT+SKTPDAT`` and
waiting for each ``OK``) is the same uplink through a modem. CTWing's three uplink paths (MQTT,
LwM2M, TCP) are measured the same way by ``bench.ceiling_ctwing``. Each pair is measured
``REPEATS`` times in turns; every rate is the median with min-max, the ratio is modem / direct
per turn with min-max.

Must not: bind or dial outside loopback.
"""

from __future__ import annotations

import asyncio
import time

from bench import Bench, Row, register
from bench.ceiling_ctwing import rows as ctwing_rows
from bench.rig import emulator, paired_rows, poll
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
    return (paired_rows("ceiling", "ThingPlug MQTT", "paho -> embedded amqtt (ThingPlug), QoS 1, stored", direct,
                        "BG96 AT+SKTPDAT -> the same broker -> a paho application", modem)
            + ctwing_rows(MESSAGES, REPEATS))
