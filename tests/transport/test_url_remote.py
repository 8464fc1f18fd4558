"""``modemu://HOST:PORT/NAME``: attach to a running ``modemu serve``'s modem (its TCP port, found
through the console API), end to end with a real serve subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import serial

import emulator  # noqa: F401 - registers the handler

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("remote")
    ready = tmp / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                             "--ephemeral-ports", "--api", "127.0.0.1:0", "--link-dir", str(tmp / "links"),
                             "--ready-file", str(ready)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not ready.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "serve did not get ready"
        time.sleep(0.05)
    info = json.loads(ready.read_text())
    yield info
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def _api(info, path):
    with urllib.request.urlopen(info["api"] + path, timeout=10) as resp:
        return json.loads(resp.read())


def test_attach_by_console_api_address(served):
    hostport = served["api"].removeprefix("http://")
    ser = serial.serial_for_url(f"modemu://{hostport}/bg96", timeout=5)
    try:
        ser.reset_input_buffer()
        ser.write(b"AT+CGMM\r")
        assert ser.read_until(b"OK\r\n") == b"AT+CGMM\r\r\nBG96\r\n\r\nOK\r\n"
        ser.dtr = False  # deasserted = the module's DTR pin high, through the console API
        assert _api(served, "/api/modems/bg96")["dtr_high"] is True
        ser.dtr = True
        assert _api(served, "/api/modems/bg96")["dtr_high"] is False
        before = _api(served, "/api/clock")["now"]
        ser.advance(3600)
        assert _api(served, "/api/clock")["now"] >= before + 3600
    finally:
        ser.close()


def test_unknown_modem_or_no_serve_is_a_clear_error(served):
    hostport = served["api"].removeprefix("http://")
    with pytest.raises(serial.SerialException, match="HTTP 404"):
        serial.serial_for_url(f"modemu://{hostport}/nosuch")
    with pytest.raises(serial.SerialException, match="name the modem"):
        serial.serial_for_url(f"modemu://{hostport}/")
    with pytest.raises(serial.SerialException, match="loopback"):
        serial.serial_for_url("modemu://192.0.2.1:8765/bg96")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(serial.SerialException, match="no modemu serve answers"):
        serial.serial_for_url(f"modemu://127.0.0.1:{free}/bg96")
