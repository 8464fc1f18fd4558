"""``modemu://HOST:PORT/NAME``: attach to a running ``modemu serve``'s modem (its TCP port, found
through the console API), end to end with a real serve subprocess."""

from __future__ import annotations

import json
import urllib.request

import pytest

from emulator.testing.serve import start_serve
import serial

import emulator  # noqa: F401 - registers the handler


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    srv = start_serve(tmp_path_factory.mktemp("remote"), "--module", "bg96", "--no-backends")
    yield srv.info
    assert srv.stop(30) == 0


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
