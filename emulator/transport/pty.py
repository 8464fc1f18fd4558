"""A pseudo-terminal per modem: the slave side is what firmware and pyserial open.

Raw mode on the slave (no line editing, no tty echo: the modem echoes per ATE), a stable
symlink (``/tmp/modemu/bg96`` -> ``/dev/pts/N``). We keep the slave fd open ourselves so a
host closing and re-opening the port never makes the master side fail.

Flow control (figures in :mod:`.flow`): reads are at most ``READ_CHUNK`` bytes per loop turn and
stop while the modem's input is full (``pause``/``resume``; the host's writes then block in the
kernel's pty buffer, as with RTS/CTS). Writes never block: if nobody reads, output waits up to
``TX_BUFFER`` bytes and past that the newest bytes are lost (a serial overrun).
``record_links`` notes a run's links (``.modemu-<pid>.links`` in the link folder) and
``clean_stale_links`` removes the links a killed run left behind.

Must not: interpret bytes (the modem does), or delete anything but our own dead symlinks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import termios
import tty
from pathlib import Path
from typing import Callable

from ..errors import ConfigError
from .flow import READ_CHUNK, TX_BUFFER

log = logging.getLogger("modemu")
_PTS = re.compile(r"^/dev/pts/\d+$")


def _record(link_dir: Path, pid: int) -> Path:
    return link_dir / f".modemu-{pid}.links"


def record_links(link_dir: Path, ports: list["PtyPort"]) -> None:
    """Note which links this run made (``.modemu-<pid>.links``: name and pty per line), so a
    later start can tell our links of a killed run from anything else, even once the pty number
    has been given to another program."""
    lines = [f"{p.link.name} {p.path}\n" for p in ports if p.link is not None]
    if lines:
        _record(link_dir, os.getpid()).write_text("".join(lines))


def append_link(link_dir: Path, port: "PtyPort") -> None:
    """:func:`record_links` for one more port: one line appended (a fleet of N ports costs N
    short appends instead of N rewrites of a growing file)."""
    if port.link is not None:
        with _record(link_dir, os.getpid()).open("a") as f:
            f.write(f"{port.link.name} {port.path}\n")


def forget_links(link_dir: Path) -> None:
    try:
        _record(link_dir, os.getpid()).unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


def _read_record(path: Path) -> list[tuple[str, str]]:
    try:
        return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines() if " " in line]  # type: ignore[misc]
    except OSError:
        return []


def clean_stale_links(link_dir: Path) -> list[Path]:
    """Remove the links a killed run left in ``link_dir``: those its record
    (``.modemu-<pid>.links``, pid dead) lists and that still point at the pty it recorded, and
    any link to a ``/dev/pts/N`` that no longer exists. User files, links elsewhere and the links
    of live runs are left alone. Returns what was removed."""
    removed: list[Path] = []
    records = {}
    for path in link_dir.glob(".modemu-*.links") if link_dir.is_dir() else []:
        pid = path.name[len(".modemu-"):-len(".links")]
        if pid.isdigit():
            records[path] = (_alive(int(pid)), _read_record(path))
    live = {entry for alive, entries in records.values() if alive for entry in entries}
    dead = {entry for alive, entries in records.values() if not alive for entry in entries} - live
    try:
        entries = list(link_dir.iterdir())
    except OSError:
        return removed
    for entry in entries:
        try:
            if not entry.is_symlink():
                continue
            target = os.readlink(entry)
            if _PTS.match(target) and ((entry.name, target) in dead or not os.path.exists(target)):
                entry.unlink()
                removed.append(entry)
        except OSError:
            continue
    for path, (alive, _) in records.items():
        if not alive:
            try:
                path.unlink()
            except OSError:
                pass
    if removed:
        log.info("removed %d stale link(s) in %s", len(removed), link_dir)
    return removed


class PtyPort:
    def __init__(self, on_data: Callable[[bytes], None], link: Path | None = None) -> None:
        self.on_data = on_data
        self.link = link
        if link is not None and (link.exists() or link.is_symlink()) and not link.is_symlink():
            raise ConfigError(f"{link} exists and is not a link: not replacing a file of yours")
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave, termios.TCSANOW)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._backlog = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer_armed = False
        self._reading = False
        self._closed = False
        self.dropped = 0  # output bytes lost because the host did not read (overrun)
        if link is not None:
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                link.unlink()
            link.symlink_to(self.path)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.resume()

    # --- input (flow control) -------------------------------------------------------------
    def pause(self) -> None:
        """Stop reading (the modem's input is full, or we are shutting down)."""
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self.master)
        self._reading = False

    def resume(self) -> None:
        if not self._reading and not self._closed and self._loop is not None:
            self._loop.add_reader(self.master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.master, READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # EIO: no slave open (cannot happen while we hold it), keep going
        if data:
            self.on_data(data)

    # --- output ---------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._closed:
            return
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
        room = TX_BUFFER - len(self._backlog)
        if len(data) > room:  # overrun: the newest bytes are lost, the backlog stays bounded
            self.dropped += len(data) - max(room, 0)
            data = data[:max(room, 0)]
        self._backlog += data
        if self._loop is not None and not self._writer_armed and self._backlog:
            self._loop.add_writer(self.master, self._writable)
            self._writer_armed = True

    def _writable(self) -> None:
        try:
            written = os.write(self.master, self._backlog)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(self._backlog)
        del self._backlog[:written]
        if not self._backlog and self._loop is not None:
            self._loop.remove_writer(self.master)
            self._writer_armed = False

    def remove_link(self) -> None:
        """Remove our symlink (if it is still ours); safe from a signal path, no loop needed."""
        if self.link is None:
            return
        try:
            if self.link.is_symlink() and os.readlink(self.link) == self.path:
                self.link.unlink()
        except OSError:
            pass

    def close(self) -> None:
        if self._closed:
            return
        self.pause()
        self._closed = True
        if self._loop is not None and self._writer_armed:
            self._loop.remove_writer(self.master)
            self._writer_armed = False
        self._backlog = bytearray()
        self.remove_link()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
