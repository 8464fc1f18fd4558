"""Shared helpers for the in-process benches: an :class:`Emulator` on loopback (ephemeral ports,
no pty, virtual clock not following the wall) with one :class:`Host` per modem, and a few
timing helpers.

Must not: bind or dial outside loopback, or sleep on the wall clock for protocol timers (the
waits here are bounded polls for real loopback I/O).
"""

from __future__ import annotations

import asyncio
import statistics
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from bench import Row
from emulator.config import Config, ModemSpec
from emulator.testing.host import FINAL, Host  # noqa: F401 - re-exported for the benches
from emulator.testing.thingplug_rig import poll  # noqa: F401 - re-exported for the benches
from emulator.transport.runner import Emulator


@asynccontextmanager
async def emulator(modems: list[ModemSpec], backends: list[str]) -> AsyncIterator[tuple[Emulator, dict[str, Host]]]:
    """Start ``modems`` and ``backends`` in this process; every modem has echo off."""
    emu = Emulator(Config(), modems=modems, ephemeral=True, with_pty=False, with_tcp=False,
                   backends=backends, follow_wall=False)
    await emu.start()
    try:
        hosts = {name: Host(port) for name, port in emu.ports.items()}
        for host in hosts.values():
            if not (await host.at("ATE0")).endswith(b"OK\r\n"):
                raise RuntimeError("ATE0 failed")
        yield emu, hosts
    finally:
        await emu.stop()


def median_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000.0


def p95_ms(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[int(0.95 * (len(ordered) - 1))] * 1000.0


def paired_rows(bench: str, what: str, direct_label: str, direct: list[float], modem_label: str,
                modem: list[float], unit: str = "msg/s") -> list[Row]:
    """Three rows for a ceiling measured in turns: the direct rate, the modem rate (each the
    median with min-max over the repetitions) and the ratio modem / direct of each turn,
    labelled ``what`` (the platform and protocol)."""
    ratios = [m / d for m, d in zip(modem, direct)]

    def spread(values: list[float], fmt: str) -> str:
        return f"median of {len(values)}, min {min(values):{fmt}} max {max(values):{fmt}}"
    return [Row(bench, f"{direct_label} ({spread(direct, '.0f')})", statistics.median(direct), unit),
            Row(bench, f"{modem_label} ({spread(modem, '.0f')})", statistics.median(modem), unit),
            Row(bench, f"{what}: ratio modem / direct ({spread(ratios, '.2f')})", statistics.median(ratios), "x")]


class StoreCounter:
    """Uplinks a CTWing store kept for one device since this was made: a store listener, so
    ``reach`` wakes on each record (no polling interval in the timing)."""

    def __init__(self, store: Any, device_id: str) -> None:
        self.count, self._changed = 0, asyncio.Event()

        def seen(dev: str, _record: dict) -> None:
            if dev == device_id:
                self.count += 1
                self._changed.set()
        store.on_uplink(seen)

    async def reach(self, n: int, timeout: float = 10.0) -> None:
        while self.count < n:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), timeout)
