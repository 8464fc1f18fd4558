"""Shared helpers for the in-process benches: an :class:`Emulator` on loopback (ephemeral ports,
no pty, virtual clock not following the wall) with one :class:`Host` per modem, and a few
timing helpers.

Must not: bind or dial outside loopback, or sleep on the wall clock for protocol timers (the
waits here are bounded polls for real loopback I/O).
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from emulator.config import Config, ModemSpec
from emulator.testing.thingplug_rig import FINAL, poll  # noqa: F401 - re-exported for the benches
from emulator.transport.runner import Emulator


class Host:
    """The host end of a modem's serial line; wakes on every chunk the modem writes (no polling
    interval in the figures). ``arrived`` is the perf_counter time of the last chunk."""

    def __init__(self, port: Any) -> None:
        self.port, self.buf, self.pos = port, bytearray(), 0
        self.event = asyncio.Event()
        self.arrived = 0.0
        port.sinks.append(self._sink)

    def _sink(self, data: bytes) -> None:
        self.arrived = time.perf_counter()
        self.buf.extend(data)
        self.event.set()

    def _find(self, pattern: bytes | re.Pattern) -> int:
        if isinstance(pattern, bytes):
            i = self.buf.find(pattern, self.pos)
            return -1 if i < 0 else i + len(pattern)
        m = pattern.search(self.buf, self.pos)
        return -1 if m is None else m.end()

    async def expect(self, pattern: bytes | re.Pattern, timeout: float = 5.0) -> bytes:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while (stop := self._find(pattern)) < 0:
            self.event.clear()
            left = end - loop.time()
            if left <= 0:
                raise RuntimeError(f"no {pattern!r} in {bytes(self.buf[self.pos:])[-300:]!r}")
            try:
                await asyncio.wait_for(self.event.wait(), left)
            except asyncio.TimeoutError:
                pass
        chunk, self.pos = bytes(self.buf[self.pos:stop]), stop
        if self.pos > 1 << 20:  # keep the buffer small in long runs
            del self.buf[:self.pos]
            self.pos = 0
        return chunk

    async def at(self, line: str | bytes, timeout: float = 5.0) -> bytes:
        self.port.feed((line.encode() if isinstance(line, str) else line) + b"\r")
        return await self.expect(FINAL, timeout)

    def send(self, raw: bytes) -> None:
        self.port.feed(raw)


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
