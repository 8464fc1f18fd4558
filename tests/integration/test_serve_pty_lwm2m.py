"""EC800E LwM2M through a REAL pty against ``python -m emulator serve`` with the CTWing platform:
what a host sees when the platform's lifetime runs out (console ``POST /api/clock/advance``) and
when the network goes away (``POST /api/modems/{name}/network``). Waiting is bounded polling
for loopback I/O only; protocol time moves through the console API.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from emulator.backends.lwm2m import dtls_adapter

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

REPO = Path(__file__).resolve().parents[2]
IMEI = "868543060974334"
HELLO = "68656c6c6f776f726c64"


@pytest.fixture
def serve(tmp_path: Path):
    ready, links = tmp_path / "ready.json", tmp_path / "links"
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--ephemeral-ports", "--module", "ec800e",
                             "--ready-file", str(ready), "--link-dir", str(links), "--api", "127.0.0.1:0"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not get ready"
        time.sleep(0.02)
    info = json.loads(ready.read_text())
    ser = serial.Serial(str(links / "ec800e"), 115200, timeout=0.1)
    time.sleep(0.05)
    ser.reset_input_buffer()
    try:
        yield ser, info["api"]
    finally:
        ser.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api(base: str, method: str, path: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


_REST: dict[int, bytes] = {}  # bytes read past the last returned line, per port


def until(ser, pattern: str, wall: float = 5.0) -> list[str]:
    """Read lines until one matches ``pattern`` (regex, whole line); return every line read."""
    got: list[str] = []
    buf, deadline = _REST.pop(id(ser), b""), time.monotonic() + wall
    while time.monotonic() < deadline:
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            text = line.decode().strip()
            if text:
                got.append(text)
                if re.fullmatch(pattern, text):
                    _REST[id(ser)] = buf
                    return got
        buf += ser.read(ser.in_waiting or 1)
    raise AssertionError(f"no line matching {pattern!r}; got {got} + {buf!r}")


def at(ser, line: str, final: str = "OK|ERROR|\\+CME ERROR: \\d+") -> list[str]:
    ser.write(line.encode() + b"\r")
    return until(ser, final)


def register(ser) -> None:
    assert at(ser, "AT+QLWREG")[-1] == "OK"
    until(ser, r"\+QLWREG: 0")
    obs = until(ser, r'\+QLWURC: "observe",\d+,0,19,0,0')[-1].split(",")[1]
    assert at(ser, f'AT+QLWOBSRSP={obs},1,19,0,0,2,10,"{HELLO}",0')[-1] == "OK"
    until(ser, rf"\+QLWOBSRSP: {obs},0")


def test_platform_lifetime_expiry_ends_the_module_session(serve) -> None:
    ser, base = serve
    for line in ('AT+QLWCFG="lifetime_enable",0', f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",300,3,0',
                 "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
        assert at(ser, line)[-1] == "OK", line
    register(ser)
    api(base, "POST", "/api/clock/advance", {"seconds": 301})
    assert api(base, "GET", f"/api/ctwing/devices/{IMEI}")["online"] is False
    # the platform stopped observing: a CON uplink is reset (report_ack 2), not ACKed and lost
    lines = at(ser, 'AT+QLWNOTIFY=19,0,0,2,3,"414243",0,1', r'\+QLWURC: "report_ack",\d+,\d+')
    assert lines[-1].startswith('+QLWURC: "report_ack",2,'), lines
    assert api(base, "GET", f"/api/ctwing/devices/{IMEI}/data") == []
    assert at(ser, "AT+QLWUPDATE=0,300")[-1] == "OK"
    # the platform answers 4.04 (registration gone): -9, and the module is no longer registered
    lines = until(ser, r'\+QLWURC: "lwstatus",0')
    assert re.fullmatch(r"\+QLWUPDATE: -9,\d+", lines[-2]), lines
    assert at(ser, "AT+QLWSTATUS?")[-2:] == ["+QLWSTATUS: 0", "OK"]
    register(ser)  # the host simply registers again
    assert api(base, "GET", f"/api/ctwing/devices/{IMEI}")["online"] is True


def test_no_network_con_uplink_fails_by_the_retransmission_timer(serve) -> None:
    ser, base = serve
    for line in ('AT+QLWCFG="lifetime_enable",0', f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0',
                 "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
        assert at(ser, line)[-1] == "OK", line
    register(ser)
    api(base, "POST", "/api/modems/ec800e/network", {"action": "detach"})
    lines = at(ser, 'AT+QLWNOTIFY=19,0,0,2,3,"414243",0,1', r"\+QLWNOTIFY: 0")
    mid = next(x for x in lines if x.startswith('+QLWURC: "report"')).split(",")[1]
    api(base, "POST", "/api/clock/advance", {"seconds": 62})  # "retransmit",2,4 -> 62 s
    assert until(ser, r'\+QLWURC: "report_ack",\d+,\d+')[-1] == f'+QLWURC: "report_ack",1,{mid}'
    assert api(base, "GET", f"/api/ctwing/devices/{IMEI}/data") == []  # nothing reached the platform
    api(base, "POST", "/api/modems/ec800e/network", {"action": "attach"})
    lines = at(ser, 'AT+QLWNOTIFY=19,0,0,2,3,"444546",0,1', r'\+QLWURC: "report_ack",\d+,\d+')
    assert lines[-1].startswith('+QLWURC: "report_ack",0,')
    assert [r["base64"] for r in api(base, "GET", f"/api/ctwing/devices/{IMEI}/data")] == ["REVG"]


def test_guide_downlink_waits_for_the_update_that_triggers_it(serve) -> None:
    """Guide 001 §4.1.3.1: the command sent from the console arrives after AT+QLWUPDATE
    ("发送更新请求，可以以此触发下行数据的接收"), however long the host takes to send it."""
    ser, base = serve
    for line in ('AT+QLWCFG="lifetime_enable",0', f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0',
                 "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
        assert at(ser, line)[-1] == "OK", line
    register(ser)
    cmd = api(base, "POST", f"/api/ctwing/devices/{IMEI}/commands", {"payload": "helloworld ack"})
    assert cmd["status"] == "queued"
    time.sleep(0.5)
    assert ser.read(ser.in_waiting or 1) == b""  # nothing yet: the platform waits for contact
    lines = at(ser, "AT+QLWUPDATE=0,86400", r'\+QLWURC: "write",\d+,.*')
    assert lines[:2] == ["AT+QLWUPDATE=0,86400", "OK"] and re.fullmatch(r"\+QLWUPDATE: 0,\d+", lines[2]), lines
    assert re.fullmatch(r'\+QLWURC: "write",\d+,19,1,0,2,14,68656C6C6F776F726C642061636B,0', lines[3]), lines
    wid = lines[3].split(",")[1]
    assert at(ser, f"AT+QLWWRRSP={wid},2")[-1] == "OK"
    until(ser, rf"\+QLWWRRSP: {wid},0")
    for _ in range(100):
        status = api(base, "GET", f"/api/ctwing/devices/{IMEI}/commands")[0]["status"]
        if status == "delivered":
            break
        time.sleep(0.02)
    assert status == "delivered"


@pytest.mark.needs_dtls
@pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")
def test_guide_typed_on_after_a_reboot_downlink_reaches_the_live_product(serve) -> None:
    """Guide 001 on one module: §6.1 leaves the plain registration up, the firmware reboots
    (AT+CFUN=1,1, no de-register: the platform still shows it online) and goes on with §4.1.3.2
    (DTLS product, same IMEI). The console command for that IMEI must go to the DTLS device,
    whose session is the live one, and arrive after the Update as the guide shows."""
    ser, base = serve
    for line in ('AT+QLWCFG="lifetime_enable",0', f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",86400,3,0',
                 "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
        assert at(ser, line)[-1] == "OK", line
    register(ser)
    assert at(ser, "AT+CFUN=1,1")[-1] == "OK"
    until(ser, r"\+QIND: PB DONE")
    for line in ('AT+QLWCFG="lifetime_enable",0',
                 f'AT+QLWCONFIG=0,"2000033383.nb.ctwing.cn",5684,"urn:imei:{IMEI}",86400,0,"{IMEI}",'
                 '"5459766f69546b333444334e5a36474e"', "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
        assert at(ser, line)[-1] == "OK", line
    register(ser)
    payload = '{"valve_onoff":0,"taskId":1,"serviceId":8001}'
    api(base, "POST", f"/api/ctwing/devices/{IMEI}/commands", {"payload": payload})
    lines = at(ser, "AT+QLWUPDATE=0,86400", r'\+QLWURC: "write",\d+,.*')
    assert lines[-1].endswith(f",19,1,0,2,45,{payload.encode().hex().upper()},0"), lines
