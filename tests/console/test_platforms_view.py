"""``GET /api/platforms`` (the page's one read of every device) stays small on a long run: each
device's most recent uplinks and downlinks only (``?last=N``, 20 by default), with the totals.
Must not: stub the platforms (the real CTWing/ThingPlug backends, started without I/O)."""

from __future__ import annotations

import asyncio


def test_platforms_view_keeps_the_newest_and_counts_all() -> None:
    from emulator.api.console import platforms
    from emulator.config import Config
    from emulator.transport.runner import Emulator

    async def run() -> tuple[dict, dict]:
        emu = Emulator(Config(), modems=[], with_pty=False, with_tcp=False, ephemeral=True, follow_wall=False)
        await emu.start()
        try:
            store = emu.backends["ctwing"].store
            device = emu.backends["ctwing"].registry.all_devices()[0].device_id
            for i in range(30):
                store.record_uplink(device, f"up {i}".encode(), "mqtt")
            return platforms(emu)["ctwing"], platforms(emu, last=3)["ctwing"]
        finally:
            await emu.stop()
    default, three = asyncio.run(run())
    dev = next(d for d in default if d["uplink_count"])
    assert dev["uplink_count"] == 30 and [u["text"] for u in dev["uplinks"]] == [f"up {i}" for i in range(10, 30)]
    dev3 = next(d for d in three if d["id"] == dev["id"])
    assert [u["text"] for u in dev3["uplinks"]] == ["up 27", "up 28", "up 29"] and dev3["downlink_count"] == 0
