"""TinyGSM's BG96 init, byte for byte through a REAL pty with pyserial, CR LF line ends.

The order and the answers TinyGSM parses are from ``vshymanskyy/TinyGSM``
``src/TinyGsmClientBG96.h`` (``initImpl``, ``getModemInfo``, ``getRegistrationStatus``,
``getOperator``, ``getProvider``, ``getLocalTime``, ``NTPServerSync``) and
``TinyGsmModem.tpp`` (``waitResponse``: a reply ends with ``OK\\r\\n`` / ``ERROR\\r\\n``;
``AT+CTZR=0`` / ``AT+CTZU=1`` other than OK fail ``init()``). The server runs with its
embedded platforms (the NTP server among them), as ``make run`` does.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

REPO = Path(__file__).resolve().parents[2]
FINAL = re.compile(rb"\r\nOK\r\n|\r\nERROR\r\n|\r\n\+CME ERROR: [^\r]*\r\n")
REST: dict[int, bytes] = {}  # bytes read past a final result (a URC right behind it), per port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``modemu serve`` with the two Quectel modules and every embedded platform."""
    srv = start_serve(tmp_path_factory.mktemp("tinygsm"), "--module", "bg96", "--module", "ec800e")
    yield srv.info, srv.links
    srv.stop(10)


def at(ser, line: str, timeout: float = 5.0) -> bytes:
    """TinyGSM's sendAT + waitResponse: ``AT<cmd>\\r\\n``, read until the buffer ends in a final."""
    ser.write(line.encode() + b"\r\n")
    buf, deadline = REST.pop(id(ser), b""), time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
        m = FINAL.search(buf)
        if m:
            REST[id(ser)] = buf[m.end():]
            return buf[:m.end()]
    raise AssertionError(f"no final result for {line!r}; got {buf!r}")


def urc(ser, prefix: bytes, timeout: float = 10.0) -> bytes:
    """TinyGSM's waitResponse(<timeout>, GF("+QNTP:")) etc.: the URC line, CR LF framed."""
    buf, deadline = REST.pop(id(ser), b""), time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
        m = re.search(rb"\r\n" + re.escape(prefix) + rb"[^\r]*\r\n", buf)
        if m:
            REST[id(ser)] = buf[m.end():]
            return m.group(0)
    raise AssertionError(f"no {prefix!r} within {timeout} s; got {buf!r}")


EXPECT = {
    "bg96": {"cgmm": "BG96", "cops": '+COPS: 0,0,"SKTelecom",8', "qspn": '+QSPN: "SKTelecom","SKT","",0,"45005"',
             "tz": "+36", "cnum": '+CNUM: ,"+821041230096",145'},
    "ec800e": {"cgmm": "EC800E", "cops": '+COPS: 0,0,"CHN-CT",7', "qspn": '+QSPN: "CHN-CT","CT","",0,"46011"',
               "tz": "+32", "cnum": '+CNUM: ,"+8618912345678",145'},
}


def ok(*lines: str) -> bytes:
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines) + b"\r\nOK\r\n"


@pytest.mark.parametrize("module", ["bg96", "ec800e"])
def test_tinygsm_bg96_init_sequence(server, module: str) -> None:
    info, links = server
    exp = EXPECT[module]
    with serial.Serial(str(links / module), 115200, timeout=0.2) as ser:
        time.sleep(0.05)
        ser.reset_input_buffer()
        # testAT(): "AT" until OK; echo is still on, and echoes the LF too (TinyGSM discards it)
        assert b"AT\r\r\nOK\r\n" in at(ser, "AT")
        assert b"ATE0\r\r\nOK\r\n" in at(ser, "ATE0")
        time.sleep(0.1)
        ser.reset_input_buffer()
        REST.pop(id(ser), None)  # a late echoed LF (timing), as TinyGSM's next wait discards it
        assert at(ser, "AT+CMEE=0") == ok()
        assert at(ser, "AT+CTZR=0") == ok()  # init() fails unless OK
        assert at(ser, "AT+CTZU=1") == ok()
        assert at(ser, "AT+CPIN?") == ok("+CPIN: READY")
        assert at(ser, "AT+CGMI") == ok("Quectel")
        assert at(ser, "AT+CGMM") == ok(exp["cgmm"])
        assert re.fullmatch(rb"\r\n\d{15}\r\n\r\nOK\r\n", at(ser, "AT+GSN"))
        assert re.fullmatch(rb"\r\n\+QCCID: \d{19,20}\r\n\r\nOK\r\n", at(ser, "AT+QCCID"))
        assert at(ser, "AT+CEREG?") == ok("+CEREG: 0,1")
        assert at(ser, "AT+COPS?") == ok(exp["cops"])
        assert at(ser, "AT+QSPN?") == ok(exp["qspn"])
        assert re.fullmatch(rb"\r\n\+CSQ: \d+,99\r\n\r\nOK\r\n", at(ser, "AT+CSQ"))
        assert at(ser, "AT+CGATT?") == ok("+CGATT: 1")
        assert at(ser, "AT+CNUM") == ok(exp["cnum"])
        # getLocalTime / getNetworkTime: "yyyy/MM/dd,hh:mm:ss±zz,dst"
        assert re.fullmatch(rb'\r\n\+QLTS: "\d{4}/\d\d/\d\d,\d\d:\d\d:\d\d' + re.escape(exp["tz"].encode())
                            + rb',0"\r\n\r\nOK\r\n', at(ser, "AT+QLTS=2"))
        assert re.fullmatch(rb"\r\n\+CBC: 0,\d+,\d+\r\n\r\nOK\r\n", at(ser, "AT+CBC"))
        assert re.fullmatch(rb"\r\n\+QTEMP: \d+,\d+,\d+\r\n\r\nOK\r\n", at(ser, "AT+QTEMP"))
        # NTPServerSync: OK, then +QNTP: 0,"<time>" within 10 s (the embedded NTP server)
        assert at(ser, 'AT+QNTP=1,"pool.ntp.org"') == ok()
        assert re.fullmatch(rb'\r\n\+QNTP: 0,"\d{4}/\d\d/\d\d,\d\d:\d\d:\d\d' + re.escape(exp["tz"].encode())
                            + rb'"\r\n', urc(ser, b"+QNTP:"))
        # sendUSSD: OK, then +CUSD: within 10 s (nothing scripted: <m> 4 not supported)
        assert at(ser, 'AT+CUSD=1,"*100#"') == ok()
        assert urc(ser, b"+CUSD:") == b"\r\n+CUSD: 4\r\n"
        assert at(ser, "AT") == ok()  # nothing left over from the CR LF line ends
