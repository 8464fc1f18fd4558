"""A pseudo-terminal per modem: the slave side is what firmware and pyserial open.

Raw mode on the slave (no line editing, no tty echo: the modem echoes per ATE), a stable
symlink (``/tmp/modemu/bg96`` -> ``/dev/pts/N``). We keep the slave fd open ourselves so a
host closing and re-opening the port never makes the master side fail. Writes never block:
if nobody reads, output is buffered up to ``MAX_BACKLOG`` bytes and the oldest is dropped.

Must not: interpret bytes (the modem does).
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from pathlib import Path
from typing import Callable

MAX_BACKLOG = 256 * 1024


class PtyPort:
    def __init__(self, on_data: Callable[[bytes], None], link: Path | None = None) -> None:
        self.on_data = on_data
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.link = link
        self._backlog = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer_armed = False
        if link is not None:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.path)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO: no slave open (cannot happen while we hold it), keep going
        if data:
            self.on_data(data)

    def write(self, data: bytes) -> None:
        if self._backlog:
            self._append(data)
            return
        try:
            written = os.write(self.master, data)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            return
        if written < len(data):
            self._append(data[written:])

    def _append(self, data: bytes) -> None:
        self._backlog += data
        if len(self._backlog) > MAX_BACKLOG:
            del self._backlog[: len(self._backlog) - MAX_BACKLOG]
        if self._loop is not None and not self._writer_armed:
            self._loop.add_writer(self.master, self._writable)
            self._writer_armed = True

    def _writable(self) -> None:
        try:
            written = os.write(self.master, bytes(self._backlog))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(self._backlog)
        del self._backlog[:written]
        if not self._backlog and self._loop is not None:
            self._loop.remove_writer(self.master)
            self._writer_armed = False

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self.master)
            if self._writer_armed:
                self._loop.remove_writer(self.master)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link is not None and self.link.is_symlink():
            try:
                self.link.unlink()
            except OSError:
                pass
