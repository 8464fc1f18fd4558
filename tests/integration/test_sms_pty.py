"""SMS end to end through REAL ptys: ``modemu serve`` as a subprocess, pyserial on the host side,
the console API on the network side. MT posted to the API is read back with AT+CMGR in text
and PDU mode; an MO AT+CMGS shows in GET /api/modems/{name}/sms; bg96 -> ec800e by number."""

from __future__ import annotations

import json
import sys
import time
import urllib.request

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")
pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_serve(tmp_path_factory.mktemp("sms"), "--no-backends", "--module", "bg96", "--module", "ec800e")
    yield srv.info
    srv.stop(5)


def api(info: dict, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(info["api"] + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def port(info: dict, name: str) -> "serial.Serial":
    path = next(m["pty"] for m in info["modems"] if m["name"] == name)
    ser = serial.Serial(path, 115200, timeout=0.2)
    time.sleep(0.05)
    ser.reset_input_buffer()
    return ser


def read_until(ser, *ends: bytes, timeout: float = 5.0) -> bytes:
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(256)
        if any(buf.endswith(e) for e in ends):
            return buf
    raise AssertionError(f"no {ends} in {buf!r}")


def read_urc(ser, prefix: bytes, timeout: float = 5.0) -> bytes:
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(256)
        if prefix in buf and buf.endswith(b"\r\n"):
            return buf
    raise AssertionError(f"no {prefix!r} in {buf!r}")


def at(ser, line: str) -> bytes:
    ser.write(line.encode() + b"\r")
    return read_until(ser, b"OK\r\n", b"ERROR\r\n", b"ERROR: 321\r\n")


def test_mt_from_api_read_in_text_and_pdu_mode(server):
    ser = port(server, "bg96")
    at(ser, "ATE0")
    at(ser, "AT+CMGD=0,4")
    ans = api(server, "POST", "/api/modems/bg96/sms", {"from": "+821099998888", "text": "Hi [modemu] €5"})
    assert ans["status"] == "delivered" and ans["memory"] == "ME"
    idx = ans["index"]
    assert read_urc(ser, b"+CMTI") == f'\r\n+CMTI: "ME",{idx}\r\n'.encode()
    assert at(ser, "AT+CMGF=1") == b"\r\nOK\r\n"
    out = at(ser, f"AT+CMGR={idx}").decode()
    assert out.startswith('\r\n+CMGR: "REC UNREAD","+821099998888",,"')
    assert out.endswith('"\r\nHi [modemu] €5\r\n\r\nOK\r\n')
    at(ser, "AT+CMGF=0")
    out = at(ser, f"AT+CMGR={idx}").decode().split("\r\n")
    assert out[1].startswith("+CMGR: 1,,")  # read now
    from gsmmodem.pdu import decodeSmsPdu  # an independent decoder (python-gsmmodem-new)
    decoded = decodeSmsPdu(out[2])
    assert decoded["type"] == "SMS-DELIVER" and decoded["number"] == "+821099998888"
    assert decoded["text"] == "Hi [modemu] €5" and int(out[1].rsplit(",", 1)[1]) == decoded["tpdu_length"]
    ser.close()


def test_mo_shows_in_api_and_reaches_the_other_modem_by_number(server):
    a, b = port(server, "bg96"), port(server, "ec800e")
    for ser in (a, b):
        at(ser, "ATE0")
        at(ser, "AT+CMGF=1")
    at(b, "AT+CMGD=0,4")
    from emulator.modules import load_module
    from emulator.modules.handlers.sms_store import own_number
    imsi = {m["name"]: m["imsi"] for m in api(server, "GET", "/api/modems")}
    # each modem's own number: the data file's msisdn, else made from its IMSI
    ec_number, bg_number = (own_number(load_module(n).defaults, imsi[n]) for n in ("ec800e", "bg96"))
    a.write(f'AT+CMGS="{ec_number}"\r'.encode())
    assert read_until(a, b"> ") == b"\r\n> "
    a.write(b"line one\rline two\x1a")
    out = read_until(a, b"OK\r\n", b"ERROR\r\n")
    assert out.startswith(b"\r\n> \r\n+CMGS: ") and out.endswith(b"\r\n\r\nOK\r\n")
    sent = api(server, "GET", "/api/modems/bg96/sms")
    assert sent[-1]["to"] == ec_number and sent[-1]["text"] == "line one\rline two"
    assert sent[-1]["delivered_to"] == "ec800e" and isinstance(sent[-1]["ts"], float)
    urc = read_urc(b, b"+CMTI")
    assert urc.startswith(b'\r\n+CMTI: "ME",')
    idx = int(urc.strip().rsplit(b",", 1)[1])
    out = at(b, f"AT+CMGR={idx}").decode()
    assert out.startswith(f'\r\n+CMGR: "REC UNREAD","{bg_number}",,"')  # from bg96's own number
    assert out.endswith("\r\nline one\rline two\r\n\r\nOK\r\n")
    # ESC at the prompt: OK and nothing sent
    a.write(f'AT+CMGS="{ec_number}"\r'.encode())
    read_until(a, b"> ")
    a.write(b"never\x1b")
    assert read_until(a, b"OK\r\n") == b"\r\nOK\r\n"
    assert len(api(server, "GET", "/api/modems/bg96/sms")) == len(sent)
    a.close()
    b.close()


def test_python_gsmmodem_connect_send_and_receive(server):
    """A real host driver (python-gsmmodem-new): connect() (PDU mode, +CSCA, +CPMS, +CNMI),
    sendSms with a delivery report (+CDSI -> AT+CPMS="SR" -> AT+CMGR), and an MT SMS posted to
    the console API reaching its callback (+CMTI -> AT+CMGR -> AT+CMGD)."""
    from gsmmodem.modem import GsmModem
    path = next(m["pty"] for m in server["modems"] if m["name"] == "ec800e")
    got: list = []
    modem = GsmModem(path, 115200, smsReceivedCallbackFunc=got.append)
    modem.connect()
    try:
        sms = modem.sendSms("+821055512345", "hello from gsmmodem", waitForDeliveryReport=True,
                            deliveryTimeout=10)
        assert sms.status == sms.DELIVERED and sms.report.status == 0
        sent = api(server, "GET", "/api/modems/ec800e/sms")
        assert (sent[-1]["to"], sent[-1]["text"], sent[-1]["mr"], sent[-1]["srr"]) == \
            ("+821055512345", "hello from gsmmodem", sms.reference, True)
        api(server, "POST", "/api/modems/ec800e/sms", {"from": "+821011112222", "text": "to gsmmodem 你好"})
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(s.number, s.text) for s in got] == [("+821011112222", "to gsmmodem 你好")]
    finally:
        modem.close()
