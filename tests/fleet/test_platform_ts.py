"""Platform timestamps at the virtual clock's full resolution: while ``serve`` follows the wall
clock, two uplinks 100 ms apart get different ``ts`` (the clock itself only ticks when the
runner's driver wakes, at most once a second when idle)."""

from __future__ import annotations

import asyncio

from emulator.backends.ctwing.store import Store
from emulator.config import Config
from emulator.core.clock import VirtualClock
from emulator.testing.thingplug_rig import app_client, poll
from emulator.transport.clockview import LiveClockView
from emulator.transport.runner import Emulator

TOPIC = "v1/dev/smarthome/smartlight001/telemetry"


def test_ctwing_store_stamps_the_virtual_time_of_the_moment() -> None:
    clock = VirtualClock(start=1_800_000_000.0)
    live = [1_800_000_000.0]
    store = Store(LiveClockView(clock, lambda: live[0]))  # type: ignore[arg-type]
    live[0] += 0.25  # time went on; the clock has not ticked yet
    first = store.record_uplink("dev", b"\x01", "lwm2m")["ts"]
    live[0] += 0.1
    second = store.record_uplink("dev", b"\x02", "lwm2m")["ts"]
    assert (first, second) == (1_800_000_000.25, 1_800_000_000.35) and clock.now() == 1_800_000_000.0
    clock.advance(5)  # behind the clock (an advance): the clock wins, time never goes back
    assert store.record_uplink("dev", b"\x03", "lwm2m")["ts"] == 1_800_000_005.0


def test_view_schedules_relative_to_the_moment() -> None:
    clock, fired = VirtualClock(start=100.0), []
    view = LiveClockView(clock, lambda: 100.5)
    view.call_later(1.0, lambda: fired.append(clock.now()))
    clock.advance(1.2)
    assert fired == []
    clock.advance(0.3)
    assert fired == [101.5]


async def test_two_thingplug_uplinks_100ms_apart_get_different_ts() -> None:
    emu = Emulator(Config(), modems=[], ephemeral=True, with_pty=False, with_tcp=False,
                   backends=["thingplug"], follow_wall=True)
    await emu.start()
    app = app_client(emu, client_id="ts-device")
    try:
        await app.wait_connected()
        await asyncio.sleep(0.3)  # let the driver settle into its idle wait
        store = emu.backends["thingplug"].model.store
        for seq in (1, 2):
            await app.publish(TOPIC, b'{"temperature":%d,"humidity":50}' % seq, qos=1)
            await poll(lambda: len(store.telemetry("smarthome", "smartlight001")) >= seq, "stored")
            await asyncio.sleep(0.1)
        first, second = [p["ts"] for p in store.telemetry("smarthome", "smartlight001")]
        assert second > first and second - first >= 0.09  # 100 ms of virtual time (time_scale 1)
    finally:
        app.close()
        await emu.stop()
