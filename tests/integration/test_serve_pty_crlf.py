"""A CR LF host (TinyGSM, Arduino ``println``) through a REAL pty: ``AT+QISEND`` data reaches a
local TCP echo server byte-exact, and nothing is left over to prefix the next command (issue 11).

``python -m emulator serve`` runs as a subprocess with one route to a threaded echo server on
127.0.0.1 (ephemeral port); the host side is pyserial on the modem's pty.
"""

from __future__ import annotations

import socketserver
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.server.received += data  # type: ignore[attr-defined]
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    srv.daemon_threads = True
    srv.received = b""  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def bg96_pty(tmp_path: Path, echo_server):
    port = echo_server.server_address[1]
    srv = start_serve(tmp_path, "--no-backends", "--module", "bg96", "--route", f"echo.test:7=127.0.0.1:{port}",
                      wall=20)
    try:
        ser = serial.Serial(srv.pty("bg96"), 115200, timeout=0.2)
        time.sleep(0.05)
        ser.reset_input_buffer()
        yield ser
        ser.close()
    finally:
        srv.stop(5)


def _until(ser, needle: bytes, timeout: float = 5.0) -> bytes:
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and needle not in buf:
        buf += ser.read(ser.in_waiting or 1)
    assert needle in buf, f"no {needle!r}; got {buf!r}"
    return buf


def _received(server, n: int, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    while len(server.received) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.received


def test_crlf_host_socket_data_is_byte_exact(bg96_pty, echo_server) -> None:
    ser = bg96_pty
    ser.write(b"ATE0\r\n")
    _until(ser, b"OK\r\n")
    ser.write(b'AT+QIOPEN=1,0,"TCP","echo.test",7,0,0\r\n')
    _until(ser, b"+QIOPEN: 0,0\r\n")
    # TinyGSM: AT+QISEND=<id>,<len> CR LF, wait for ">", then the bytes, no CR LF, no ^Z
    ser.write(b"AT+QISEND=0,5\r\n")
    _until(ser, b"> ")
    ser.write(b"VWXYZ")
    _until(ser, b"SEND OK\r\n")
    assert _received(echo_server, 5) == b"VWXYZ"
    # the next command is not prefixed by a left-over byte
    ser.write(b"AT\r\n")
    out = _until(ser, b"OK\r\n")
    assert b"ERROR" not in out
    # the LF in its own write, after the prompt was printed (a later read in the emulator)
    ser.write(b"AT+QISEND=0,3\r")
    _until(ser, b"> ")
    ser.write(b"\n\x00\r\n")  # binary payload ending CR LF; with ^Z mode too
    ser.write(b"\x1a")  # Zephyr-style stray ^Z after a fixed-length payload: dropped
    _until(ser, b"SEND OK\r\n")
    ser.write(b"AT+QISEND=0\r\n")
    _until(ser, b"> ")
    ser.write(b"hello\x1a\r\n")  # WIZnet-style CR LF after ^Z: no empty line, nothing printed
    _until(ser, b"SEND OK\r\n")
    assert _received(echo_server, 5 + 3 + 5) == b"VWXYZ" + b"\x00\r\n" + b"hello"
    ser.write(b"AT\r\n")
    tail = _until(ser, b"OK\r\n")
    assert b"ERROR" not in tail
