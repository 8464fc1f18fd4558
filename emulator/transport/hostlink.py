"""The host end of a modem's serial line, one interface for every transport.

:class:`HostLink` is what a scenario bench, the pytest harness or the ``modemu://`` URL handler
holds: ``write(bytes)`` sends to the modem, ``on_output(fn)`` subscribes to every chunk the
modem writes, ``close()`` lets go. Each transport provides one:

- in-process: :class:`emulator.transport.inproc.InProcessLink` (bytes straight into
  ``ModemPort.feed``, output from its sinks);
- pty and TCP: :class:`SerialLink` opens the port as a host program does, through pyserial
  (the pty's ``/dev/pts/N`` or ``socket://127.0.0.1:PORT``), and reads it on the running loop;
- exec: the child program is the host; ``transport/child.py`` connects it to the modem the same
  way (its output feeds the modem, the modem's output is written to it).

:func:`open_host_link` picks one for a port. Attach links from ``Emulator.on_port`` listeners
to see a modem's power-on output (they run before its first drain).

Must not: interpret bytes (line splitting and pattern matching belong to the reader, e.g.
``scenarios/link.py``), touch the clock, or know any module.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Protocol

Listener = Callable[[bytes], None]


class HostLink(Protocol):
    def write(self, data: bytes) -> None:
        """Send bytes to the modem (as the host writing to its UART)."""

    def on_output(self, listener: Listener) -> None:
        """Call ``listener(chunk)`` for every chunk the modem writes from now on."""

    def close(self) -> None:
        """Stop listening and release the link (idempotent)."""


class SerialLink:
    """A pyserial port (device path or URL) read without blocking on the running asyncio loop."""

    def __init__(self, url: str, baudrate: int = 115200) -> None:
        import serial
        self.url = url
        self.serial = serial.serial_for_url(url, baudrate=baudrate, timeout=0)
        self._listeners: list[Listener] = []
        self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        self._fd = self.serial.fileno()
        self._loop.add_reader(self._fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the other side went away: stop watching, keep the object usable
            self._unwatch()
            return
        for listener in list(self._listeners):
            listener(data)

    def write(self, data: bytes) -> None:
        self.serial.write(data)

    def on_output(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _unwatch(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            try:
                loop.remove_reader(self._fd)
            except (ValueError, OSError):  # pragma: no cover - fd already gone
                pass

    def close(self) -> None:
        self._unwatch()
        self._listeners.clear()
        self.serial.close()


def open_host_link(port: Any, transport: str) -> HostLink:
    """The host end of ``port`` (a ``ModemPort``) over ``memory``, ``pty`` or ``tcp``."""
    if transport == "memory":
        from .inproc import InProcessLink
        return InProcessLink(port)
    if transport == "pty" and port.pty is not None:
        return SerialLink(port.pty.path)
    if transport == "tcp" and port.tcp is not None:
        return SerialLink(f"socket://127.0.0.1:{port.tcp.port}")
    raise ValueError(f"modem {port.name!r} has no {transport} transport")
