"""DTR is a wire from the host: a level set while the module is powered off is not lost, it
applies from power-on (BG96 AT+QSCLK=1: DTR high lets the module sleep)."""

from __future__ import annotations

import time

import serial
from fastapi.testclient import TestClient

import emulator  # noqa: F401 - registers the modemu:// handler
from emulator.api.app import create_app
from emulator.core.modem import Modem
from emulator.core.stimuli import DtrChanged, PowerOn
from emulator.modules import load_module
from emulator.testing.harness import ModemHarness


def out(m: Modem) -> bytes:
    return b"".join(e.data for e in m.events() if hasattr(e, "data"))


def test_dtr_set_while_powered_off_applies_at_power_on() -> None:
    m = Modem(load_module("bg96"))
    m.advance(30)
    out(m)
    m.power_off()
    m.receive_stimulus(DtrChanged(True))  # the host raises DTR while the module is off
    m.receive_stimulus(PowerOn())
    m.advance(30)
    out(m)
    assert m.state.psm.dtr_high
    m.receive_data(b"AT+QSCLK=1\r")
    assert out(m).endswith(b"OK\r\n")
    m.receive_data(b"AT\r")
    assert out(m) == b""  # sleeping: DTR is high
    m.receive_stimulus(DtrChanged(False))
    m.receive_data(b"AT\r")
    assert out(m).endswith(b"OK\r\n")


def test_console_api_dtr_while_powered_off() -> None:
    with ModemHarness("bg96") as h:
        with TestClient(create_app(h.emulator)) as api:
            assert api.post("/api/modems/bg96/power", json={"on": False}).json()["powered"] is False
            r = api.post("/api/modems/bg96/dtr", json={"high": True}).json()
            assert r["dtr_high"] is True  # the line level, powered or not
            assert api.post("/api/modems/bg96/power", json={"on": True}).json()["dtr_high"] is True
        h.expect("RDY", "APP RDY", allow_other=True, within="30s")
        h.drain()
        assert h.modem.state.psm.dtr_high
        h.command("AT+QSCLK=1")
        h.send("AT")
        h.expect_none("2s")  # asleep: the bytes are lost


def read_until(ser, marker: bytes, limit: float = 5.0) -> bytes:
    buf = b""
    end = time.monotonic() + limit
    while marker not in buf and time.monotonic() < end:
        buf += ser.read(ser.in_waiting or 1)
    return buf


def test_modemu_url_dtr_while_powered_off() -> None:
    """pyserial: ``ser.dtr = False`` (pin high) after AT+QPOWD; powered on via the emulator,
    the BG96 with AT+QSCLK=1 sleeps at once (the level used to be dropped while off)."""
    with serial.serial_for_url("modemu://bg96?backends=none", timeout=1) as ser:
        read_until(ser, b"+QIND: SMS DONE\r\n")
        ser.write(b"AT+QPOWD\r")
        assert b"POWERED DOWN" in read_until(ser, b"POWERED DOWN\r\n")
        assert ser.call(lambda emu: emu.ports["bg96"].modem.powered) is False
        ser.dtr = False
        ser.call(lambda emu: emu.ports["bg96"].power_on())
        read_until(ser, b"+QIND: SMS DONE\r\n", 10)
        ser.write(b"AT+QSCLK=1\r")
        assert b"OK\r\n" in read_until(ser, b"OK\r\n")
        ser.write(b"AT\r")
        assert read_until(ser, b"OK", 0.5) == b""
        ser.dtr = True
        ser.write(b"AT\r")
        assert read_until(ser, b"OK\r\n") == b"AT\r\r\nOK\r\n"
