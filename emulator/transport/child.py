"""A child process whose stdin/stdout is a modem's serial line (ptyprocess).

Firmware built for the host (or any program that talks AT on its terminal) runs under a pty
in raw mode: every byte it writes on stdout reaches the modem, every byte the modem writes is
what it reads on stdin. Its stderr stays ours (the terminal or CI log that ran ``modemu exec``):
a firmware's debug log is not UART traffic.

The pty master is in packet mode (``TIOCPKT``, Linux ``ioctl_tty(2)``): every read starts with a
status byte, ``TIOCPKT_DATA`` (0) before data, else flags such as ``TIOCPKT_FLUSHREAD`` /
``TIOCPKT_FLUSHWRITE`` when the program flushed its side (``tcflush``; pyserial does on open).
``on_flush`` is told, so ``modemu exec`` can power the modem on once the program has set up the
line — as firmware powers a module after configuring its UART. Must not: interpret data bytes.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import termios
import tty
from typing import Callable

from ptyprocess import PtyProcess


class ChildPort:
    def __init__(self, argv: list[str], on_data: Callable[[bytes], None], env: dict[str, str],
                 on_flush: Callable[[], None] | None = None) -> None:
        self.on_data = on_data
        self.on_flush = on_flush
        log_fd = os.dup(2)  # the child's stderr: ours, not the pty ptyprocess puts on fds 0-2

        def stderr_is_ours() -> None:  # runs in the child between fork and exec
            os.dup2(log_fd, 2)
            os.close(log_fd)
        try:
            self.proc = PtyProcess.spawn(argv, env=env, echo=False, pass_fds=(log_fd,),
                                         preexec_fn=stderr_is_ours)
        finally:
            os.close(log_fd)
        tty.setraw(self.proc.fd, termios.TCSANOW)  # no line editing, no tty echo: a serial line
        fcntl.ioctl(self.proc.fd, termios.TIOCPKT, struct.pack("i", 1))  # report the child's flushes
        os.set_blocking(self.proc.fd, False)
        self.exited = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.proc.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.proc.fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: the child closed its side (exited)
            data = b""
        if data:
            status, payload = data[0], data[1:]
            if status == termios.TIOCPKT_DATA:
                if payload:
                    self.on_data(payload)
            elif status & (termios.TIOCPKT_FLUSHREAD | termios.TIOCPKT_FLUSHWRITE) and self.on_flush is not None:
                self.on_flush()
            return
        assert self._loop is not None
        self._loop.remove_reader(self.proc.fd)
        self.exited.set()

    def write(self, data: bytes) -> None:
        try:
            os.write(self.proc.fd, data)
        except (BlockingIOError, OSError):
            pass  # the child is not reading or is gone; a real UART would drop it too

    def exit_code(self) -> int:
        self.proc.wait()
        if self.proc.signalstatus is not None:
            return 128 + int(self.proc.signalstatus)
        return int(self.proc.exitstatus or 0)

    def close(self) -> None:
        if self.proc.isalive():
            self.proc.terminate(force=True)
