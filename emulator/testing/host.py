"""The host end of a modem's serial line, for tests and benches: collects what the modem writes,
waits for a pattern (woken by every chunk, no polling interval), sends AT lines. It reads and
writes through a :class:`~emulator.transport.hostlink.HostLink` (given, or an in-process one for
a ``ModemPort``), so the same helper works over every transport.

Must not: sleep on the wall clock for protocol timers (the waits here are bounded waits for real
loopback I/O), or know about any module or backend.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from ..transport.inproc import InProcessLink

# Every final result a command line can end with (V.250 plus the Quectel data-mode finals).
FINAL = re.compile(rb"\r\n(OK|ERROR|SEND OK|SEND FAIL|CONNECT|NO CARRIER|\+CME ERROR: [^\r]*)\r\n")


class Host:
    """What a host program sees on a modem's serial line. ``arrived`` is the perf_counter time of
    the last chunk (the benches time round trips with it)."""

    def __init__(self, port: Any) -> None:
        """``port``: a ``ModemPort`` (read in-process) or any ``HostLink``."""
        self.port, self.buf, self.pos = port, bytearray(), 0
        self.link = port if hasattr(port, "on_output") else InProcessLink(port)
        self.event = asyncio.Event()
        self.arrived = 0.0
        self.link.on_output(self._sink)

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
        """Everything up to and including the next ``pattern``; AssertionError after ``timeout``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while (stop := self._find(pattern)) < 0:
            self.event.clear()
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} in {bytes(self.buf[self.pos:])[-300:]!r}")
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
        """Send one command line (CR added) and return the output up to its final result."""
        self.link.write((line.encode() if isinstance(line, str) else line) + b"\r")
        return await self.expect(FINAL, timeout)

    def send(self, raw: bytes) -> None:
        self.link.write(raw)

    async def quiet(self, wait: float = 0.1) -> bytes:
        """Whatever arrives within ``wait`` seconds of real I/O (for "nothing more was printed")."""
        await asyncio.sleep(wait)
        chunk, self.pos = bytes(self.buf[self.pos:]), len(self.buf)
        return chunk


async def until(pred: Any, timeout: float = 5.0, what: str = "condition") -> Any:
    """Wait (bounded, for real loopback I/O only) until ``pred()`` is truthy; return its value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not (value := pred()):
        if loop.time() > end:
            raise AssertionError(f"{what} not met in time")
        await asyncio.sleep(0.01)
    return value
