"""pyserial ``modemu://`` URLs: a real serial-like object on an in-process emulated modem."""

import time

import pytest
import serial

import emulator  # noqa: F401 - registers the handler
from emulator.transport.protocol_modemu import parse_url


def read_until(ser, marker: bytes, limit: float = 5.0) -> bytes:
    buf = b""
    end = time.monotonic() + limit
    while marker not in buf and time.monotonic() < end:
        buf += ser.read(ser.in_waiting or 1)
    return buf


def test_registered_with_pyserial():
    assert "emulator.transport" in serial.protocol_handler_packages


def test_bg96_boot_urcs_and_a_command():
    ser = serial.serial_for_url("modemu://bg96?backends=none", timeout=2)
    try:
        assert ser.is_open
        boot = read_until(ser, b"+QIND: SMS DONE\r\n")
        assert boot.startswith(b"\r\nRDY\r\n") and b"APP RDY" in boot
        ser.write(b"AT+CGMM\r")
        assert read_until(ser, b"OK\r\n") == b"AT+CGMM\r\r\nBG96\r\n\r\nOK\r\n"
        assert ser.in_waiting == 0
    finally:
        ser.close()
    assert not ser.is_open
    with pytest.raises(serial.PortNotOpenError):
        ser.write(b"AT\r")


def test_timeouts_reset_and_overrides():
    with serial.serial_for_url("modemu://ec800e?backends=none&imei=861234567890123", timeout=0) as ser:
        read_until(ser, b"PB DONE\r\n")
        assert ser.read(10) == b""                       # timeout 0: nothing there, no wait
        ser.timeout = 0.2
        t0 = time.monotonic()
        assert ser.read(1) == b""                        # waits for the timeout, then gives up
        assert 0.15 <= time.monotonic() - t0 < 2
        ser.write(b"AT+CGSN\r")
        ser.flush()
        assert read_until(ser, b"OK\r\n").endswith(b"\r\n861234567890123\r\n\r\nOK\r\n")
        ser.write(b"AT\r")
        ser.flush()
        time.sleep(0.05)
        assert ser.in_waiting > 0
        ser.reset_input_buffer()
        assert ser.in_waiting == 0


def test_virtual_time_can_be_pushed():
    with serial.serial_for_url("modemu://ec800e?backends=none&powerdown_delay=600", timeout=1) as ser:
        read_until(ser, b"PB DONE\r\n")
        ser.write(b"AT+QPOWD\r")
        assert read_until(ser, b"OK\r\n").endswith(b"OK\r\n")
        before = ser.call(lambda emu: emu.clock.now())
        assert ser.advance(601) >= 1
        assert b"POWERED DOWN" in read_until(ser, b"POWERED DOWN\r\n")
        assert ser.call(lambda emu: emu.clock.now()) >= before + 601


def test_do_not_open_then_open():
    ser = serial.serial_for_url("modemu://amm5918k?backends=none", do_not_open=True)
    assert not ser.is_open
    ser.open()
    try:
        assert b"+CPIN: READY" in read_until(ser, b"+CPIN: READY\r\n")
    finally:
        ser.close()


@pytest.mark.parametrize("url, words", [
    ("modemu://nosuch", "unknown module 'nosuch'"),
    ("modemu://bg96?time_scale=fast", "time_scale must be a number"),
])
def test_bad_urls_are_clear_errors(url, words):
    with pytest.raises(serial.SerialException, match=words):
        serial.serial_for_url(url)


def test_unknown_backend_fails_at_open():
    with pytest.raises(serial.SerialException, match="nosuch"):
        serial.serial_for_url("modemu://bg96?backends=nosuch")


def test_parse_url_options():
    assert parse_url("modemu://BG96?name=dev1&backends=a,b&time_scale=10&imsi=450051") == \
        ("bg96", "dev1", ["a", "b"], 10.0, {"imsi": "450051"})
    assert parse_url("modemu://wm-n400mse")[2] is None
    assert parse_url("modemu://wm-n400mse?backends=none")[2] == []


def test_pyserial_line_helpers_work():
    with serial.serial_for_url("modemu://wm-n400mse?backends=none", timeout=2) as ser:
        assert ser.read_until(b"+CPIN: READY\r\n").endswith(b"+CPIN: READY\r\n")
        ser.write(b"AT+CGMM\r")
        assert [ser.readline() for _ in range(5)] == [b"AT+CGMM\r\r\n", b"WM-N400MSE\r\n", b"\r\n", b"OK\r\n", b""]


def test_advance_lets_the_modules_own_traffic_be_answered():
    """ser.advance() on a live emulator: an hour with automatic LwM2M Updates (lifetime 300 s,
    lifetime_enable=1 by default) keeps the registration; the Updates are answered in between."""
    ser = serial.serial_for_url("modemu://ec800e?backends=ctwing", timeout=2)
    try:
        read_until(ser, b"+QIND: PB DONE\r\n")
        for line, want in ((b'AT+QLWCONFIG=0,"221.229.214.202",5683,"868543060974334",300,3,0', b"OK\r\n"),
                           (b"AT+QLWADDOBJ=19,0,1,0", b"OK\r\n"), (b"AT+QLWADDOBJ=19,1,1,0", b"OK\r\n"),
                           (b"AT+QLWREG", b'"observe"')):
            ser.write(line + b"\r")
            assert want in read_until(ser, want)
        read_until(ser, b"\r\n", 0.3)
        assert ser.advance(3600) >= 12
        time.sleep(0.2)
        ser.write(b"AT+QLWSTATUS?\r")
        out = read_until(ser, b"OK\r\n")
        assert b"+QLWSTATUS: 2" in out and b"+QLWUPDATE: -" not in out, out
    finally:
        ser.close()


def test_dtr_line_reaches_the_modem():
    """BG96 AT+QSCLK=1: with DTR deasserted (pin high) the module sleeps and host bytes are
    lost; asserting DTR (pin low) wakes it (the attribute used to be ignored)."""
    ser = serial.serial_for_url("modemu://bg96?backends=none", timeout=2)
    try:
        read_until(ser, b"+QIND: SMS DONE\r\n")
        ser.write(b"AT+QSCLK=1\r")
        assert b"OK\r\n" in read_until(ser, b"OK\r\n")
        ser.dtr = False
        assert ser.call(lambda emu: emu.ports["bg96"].modem.state.psm.dtr_high) is True
        ser.write(b"AT\r")
        assert read_until(ser, b"OK", 0.5) == b""
        ser.dtr = True
        ser.write(b"AT\r")
        assert read_until(ser, b"OK\r\n") == b"AT\r\r\nOK\r\n"
    finally:
        ser.close()
