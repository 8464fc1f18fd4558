"""Guide 001 §4.2.3 (MQTT) and §4.3.3 (TCP) typed into a fresh ``modemu serve`` through its REAL
pty, byte for byte (echo, CR LF, ``\\r\\n> `` prompts, URC order), and what the embedded CTWing
platform then holds, read back through the console API.

The guide's typo ``AT+QMTCCONN`` and its one-digit-short login hex are handled as
docs/guides.md says (the typo answers ERROR; the correct 76-byte frame is typed).
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.request

import pytest

from emulator.testing.ptyline import PtyLine
from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

MQTT_DEVICE = "16891291868543060025186"
FEATURE = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"
TCP_DEVICE = "15436586863318069987727"
LOGIN_HEX = ("0100173135343336353836383633333138303639393837373237002b6e7936663174534134314451555650443650"
             "386734694f6b397a574e67354c4761394c497a50796d7545380003312e30")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One EC800E with the embedded platforms, as a user starts it (ephemeral ports)."""
    srv = start_serve(tmp_path_factory.mktemp("serve-ctwing"), "--module", "ec800e")
    yield srv.info, srv.links
    srv.stop(5)


def _api(info: dict, path: str, body: dict | None = None) -> object:
    req = urllib.request.Request(info["api"] + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


def _eventually(fetch, timeout: float = 5.0):
    """The platform stores an uplink once its bytes arrived: poll (I/O, not a protocol timer)."""
    deadline = time.monotonic() + timeout
    while not (got := fetch()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return got


def test_guide_001_mqtt_through_the_pty(served) -> None:
    info, links = served
    line = PtyLine(str(links / "ec800e"), timeout=5.0)
    line.cmd("AT+CEREG?", b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
    line.cmd("AT+QIDNSCFG=1", b'\r\n+QIDNSCFG: 1,"61.132.163.68","202.102.213.68"\r\n\r\nOK\r\n')
    for cfg in ('"version",0,4', '"will",0,0', '"session",0,0', '"ssl",0,0', '"keepalive",0,3600'):
        line.cmd(f"AT+QMTCFG={cfg}", b"\r\nOK\r\n")
    line.cmd('AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', b"\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
    line.cmd(f'AT+QMTCCONN=0,"{MQTT_DEVICE}","device001","{FEATURE}"', b"\r\nERROR\r\n")  # the typo
    line.cmd(f'AT+QMTCONN=0,"{MQTT_DEVICE}","device001","{FEATURE}"', b"\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n")
    line.cmd('AT+QMTSUB=0,1,"topic/event",0', b"\r\nOK\r\n\r\n+QMTSUB: 0,1,0,0\r\n")
    line.cmd('AT+QMTPUBEX=0,0,0,0,"topic/data",23', b"\r\n> ")
    payload = b'{"temp":22.5,"humi":78}'
    line.say(payload, payload + b"\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n")
    data = _eventually(lambda: _api(info, f"/api/ctwing/devices/{MQTT_DEVICE}/data"))  # QoS 0: no ack
    assert [(d["topic"], base64.b64decode(d["base64"])) for d in data] == [("topic/data", payload)]
    assert _api(info, f"/api/ctwing/devices/{MQTT_DEVICE}")["online"] is True
    cmd = _api(info, f"/api/ctwing/devices/{MQTT_DEVICE}/commands", {"payload": "on"})
    line.quiet()  # subscribed to topic/event only: nothing arrives on device_control
    line.cmd('AT+QMTSUB=0,2,"device_control",1', b"\r\nOK\r\n\r\n+QMTSUB: 0,2,0,1\r\n")
    line.expect(b'\r\n+QMTRECV: 0,1,"device_control","on"\r\n')
    assert _api(info, f"/api/ctwing/devices/{MQTT_DEVICE}/commands")[-1]["id"] == cmd["id"]
    line.cmd("AT+QMTCLOSE=0", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n")
    assert _eventually(lambda: not _api(info, f"/api/ctwing/devices/{MQTT_DEVICE}")["online"])


def test_guide_001_tcp_through_the_pty(served) -> None:
    info, links = served
    line = PtyLine(str(links / "ec800e"), timeout=5.0)
    line.cmd('AT+QICFG="dataformat",1,1', b"\r\nOK\r\n")
    line.cmd('AT+QIOPEN=0,0,"TCP","tcp.ctwing.cn",8996,0,1', b"\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n")
    line.cmd("AT+QISEND=0,76", b"\r\n> ")
    line.say(LOGIN_HEX.encode(), LOGIN_HEX.encode() + b'\r\nSEND OK\r\n\r\n+QIURC: "recv",0,3,\r\n050000\r\n')
    line.cmd('AT+QISEND=0,14,"02000b68656c6c6f20776f726c64"', b"\r\nOK\r\n\r\nSEND OK\r\n")
    line.quiet()
    data = _eventually(lambda: _api(info, f"/api/ctwing/devices/{TCP_DEVICE}/data"))
    assert [d["base64"] for d in data] == ["aGVsbG8gd29ybGQ="]
    _api(info, f"/api/ctwing/devices/{TCP_DEVICE}/commands", {"payload": "receivedmessage"})
    line.expect(b'\r\n+QIURC: "recv",0,18,\r\n03000f72656365697665646d657373616765\r\n')
    line.cmd("AT+QISEND=0,0", b"\r\n+QISEND: 90,90,0\r\n\r\nOK\r\n")
    line.cmd("AT+QICLOSE=0", b"\r\nOK\r\n\r\nCLOSE OK\r\n")
    line.quiet()
