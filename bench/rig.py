"""Shared helpers for the in-process benches: an :class:`Emulator` on loopback (ephemeral ports,
no pty, virtual clock not following the wall) with one :class:`Host` per modem, and a few
timing helpers.

Must not: bind or dial outside loopback, or sleep on the wall clock for protocol timers (the
waits here are bounded polls for real loopback I/O).
"""

from __future__ import annotations

import statistics
from contextlib import asynccontextmanager
from typing import AsyncIterator

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
