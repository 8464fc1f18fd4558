"""Shutting an :class:`~.runner.Emulator` down in order, bounded in wall time.

Order: intake stops at once on every port (no host byte is read, no TCP client accepted), the
clock driver stops, ports close (pty links go, TCP clients are aborted rather than flushed to a
host that may not read), executor tasks and their connections close, then the platforms stop
all together. Every wait is capped, so the whole takes a few seconds at most under any load.

Must not: contain protocol logic, or wait on anything without a cap.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .runner import Emulator

log = logging.getLogger("modemu")

CLOSE_WALL = 1.0          # wall seconds one executor connection gets to close
STOP_BACKENDS_WALL = 2.0  # wall seconds the platforms get to stop (all at once)


def on_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None],
               signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Run ``callback`` on ``loop`` when one of ``signals`` arrives. A Python-level handler, not
    ``loop.add_signal_handler``: under a steady I/O load uvloop ran its signal callbacks seconds
    late (measured for ``serve`` with 8 TCP clients looping AT&V: 5 s), while a Python handler
    runs at the main thread's next bytecode, which is the loop's. The handler only queues
    ``callback``: loop state is touched from the loop. Main thread only (``signal.signal``)."""
    def handler(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(callback)
    for sig in signals:
        signal.signal(sig, handler)


def stop_intake(emulator: "Emulator") -> None:
    for port in emulator.ports.values():
        port.stop_intake()


def remove_links(emulator: "Emulator") -> None:
    """Synchronous, no loop needed: also the last step of a forced exit."""
    for port in emulator.ports.values():
        if port.pty is not None:
            port.pty.remove_link()
    if emulator.link_dir is not None:
        from .pty import forget_links
        forget_links(emulator.link_dir)  # our record of them (pty.py: record_links)
        if emulator.made_link_dir:  # ours, and now empty: leave no litter (rmdir keeps a full one)
            try:
                emulator.link_dir.rmdir()
            except OSError:
                pass


async def _capped(result: Any, seconds: float, what: str) -> None:
    try:
        if asyncio.iscoroutine(result):
            await asyncio.wait_for(result, seconds)
    except Exception:  # noqa: BLE001 - shutting down anyway
        log.debug("closing %s failed", what, exc_info=True)


async def stop_emulator(emulator: "Emulator") -> None:
    stop_intake(emulator)
    driver = emulator._driver
    if driver is not None:
        emulator.driving = False  # the driver's loop ends: Python 3.11's wait_for can swallow a
        driver.cancel()           # cancel that meets its wake-up (the driver would run on)
        await asyncio.wait({driver}, timeout=CLOSE_WALL)
    for port in emulator.ports.values():  # ports first: links go and hosts see EOF at once
        if port.pty:
            port.pty.close()
        if port.tcp:
            await port.tcp.close()
    remove_links(emulator)  # (closing removed them; this drops the record too)
    closing = []
    for port in emulator.ports.values():
        for task in list(port.tasks):
            task.cancel()
        for res in list(port.resources.values()):
            close = getattr(res, "close", None)
            if close is None:
                continue
            try:
                closing.append(_capped(close(), CLOSE_WALL, repr(res)))
            except Exception:  # noqa: BLE001
                log.debug("closing %r failed", res, exc_info=True)
    await asyncio.gather(*closing)

    async def stop_backend(backend: Any) -> None:
        try:
            await asyncio.wait_for(backend.stop(), STOP_BACKENDS_WALL)
        except Exception:  # noqa: BLE001 - shutting down anyway
            log.exception("stopping backend %s", backend.name)
    await asyncio.gather(*(stop_backend(b) for b in emulator.backends.values()))
