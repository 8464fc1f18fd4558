"""The host end of a REAL pty (or any device path) through pyserial, for the end-to-end tests that
type into a running ``modemu serve``: exact bytes out, exact bytes expected back (echo, CR LF
framing, prompts, URC order), so a test states the whole answer, byte for byte.

Must not: parse or tolerate variations of what the modem writes (a mismatch is an assertion with
both sides shown), or wait on the wall clock for protocol timers (the waits here are bounded waits
for real pty I/O).
"""

from __future__ import annotations

import time


class PtyLine:
    """A modem's serial line as a host program holds it. ``timeout`` is the default bound of every
    wait (seconds of real I/O); the bytes read past what was expected stay in ``buf``."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        import serial  # pyserial: a runtime dependency, imported here so the module stays light

        self.ser = serial.Serial(path, 115200, timeout=0.05)
        time.sleep(0.05)
        self.ser.reset_input_buffer()
        self.buf = b""
        self.timeout = timeout

    def expect(self, want: bytes, timeout: float | None = None) -> None:
        """The next ``len(want)`` bytes are exactly ``want`` (AssertionError showing what came)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self.buf) < len(want) and time.monotonic() < deadline:
            self.buf += self.ser.read(max(1, self.ser.in_waiting))
        got, self.buf = self.buf[:len(want)], self.buf[len(want):]
        assert got == want, f"expected {want!r}, got {got + self.buf!r}"

    def say(self, raw: bytes, answer: bytes, timeout: float | None = None) -> None:
        """Write ``raw``; what comes back is exactly ``answer``."""
        self.ser.write(raw)
        self.expect(answer, timeout)

    def cmd(self, line: str, answer: bytes, timeout: float | None = None) -> None:
        """One command line (CR added); its echo followed by exactly ``answer``."""
        self.say(line.encode() + b"\r", line.encode() + b"\r" + answer, timeout)

    def at(self, line: str, *answer: str) -> None:
        """One command; its echo, the framed lines and OK (V.250 framing)."""
        self.cmd(line, b"".join(f"\r\n{a}\r\n".encode() for a in answer) + b"\r\nOK\r\n")

    def quiet(self, wait: float = 0.3) -> None:
        """Nothing more arrives within ``wait`` seconds (for "no URC was printed")."""
        time.sleep(wait)
        self.buf += self.ser.read(self.ser.in_waiting)
        assert self.buf == b"", f"unexpected {self.buf!r}"

    def close(self) -> None:
        self.ser.close()
