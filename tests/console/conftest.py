"""A real ``modemu serve`` (every module, every platform, ephemeral ports) for the console tests,
and the host side of a modem's pty. Must not: stub any part of the emulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``(ready info, link dir, stdout path)`` of a fresh serve; stopped after the module."""
    tmp = tmp_path_factory.mktemp("serve-console")
    out = tmp / "stdout.txt"
    with open(out, "wb") as sink:
        srv = start_serve(tmp, stdout=sink)
    yield srv.info, srv.links, out
    srv.stop(10)


class Line:
    """The host's side of a modem's pty through pyserial: exact bytes out, exact bytes back."""

    def __init__(self, path: str) -> None:
        import serial
        self.ser = serial.Serial(path, 115200, timeout=0.05)
        time.sleep(0.05)
        self.ser.reset_input_buffer()
        self.buf = b""

    def expect(self, want: bytes, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.buf) < len(want) and time.monotonic() < deadline:
            self.buf += self.ser.read(max(1, self.ser.in_waiting))
        got, self.buf = self.buf[:len(want)], self.buf[len(want):]
        assert got == want, f"expected {want!r}, got {got + self.buf!r}"

    def say(self, raw: bytes, answer: bytes, timeout: float = 10.0) -> None:
        self.ser.write(raw)
        self.expect(answer, timeout)

    def cmd(self, line: str, answer: bytes, timeout: float = 10.0) -> None:
        self.say(line.encode() + b"\r", line.encode() + b"\r" + answer, timeout)

    def close(self) -> None:
        self.ser.close()
