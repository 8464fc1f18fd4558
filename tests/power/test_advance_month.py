"""Thirty days in one ``POST /api/clock/advance`` keep an EC800E's two sessions healthy: an
MQTT connection to CTWing with keepalive 60 s (a PINGREQ a minute, each answered before its
response timeout) and an LwM2M registration with lifetime 300 s that the module updates on its
own (lifetime_enable=1, its default). End to end: a real ``modemu serve`` (uvloop), the host on
the pty through pyserial, the console API over HTTP.

This failed before the advance let loopback I/O settle after every deadline that touched the
network: it interleaved I/O for 5 wall seconds, then fired the rest back to back, so the
month ended in ``+QLWURC: "ping",-2`` (Update retransmissions exhausted) and ``+QMTSTAT``
(PINGRESP timeout), and how far it got depended on the machine's load.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

IMEI = "868543060974334"
DAYS = 30
MQTT_CONN = ('AT+QMTCONN=0,"16891291868543060025186","device001",'
             '"nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"')


class Host:
    """The firmware's side of the pty: a reader thread keeps every byte (a month of URCs is
    ~200 KB: a host that stops reading would lose the newest), lines are matched from it."""

    def __init__(self, path: str) -> None:
        self.ser = serial.Serial(path, 115200, timeout=0.05)
        self.buf, self.pos, self.lock = bytearray(), 0, threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self.running:
            data = self.ser.read(self.ser.in_waiting or 1)
            with self.lock:
                self.buf += data

    def until(self, pattern: str, wall: float = 10.0) -> list[str]:
        """Lines from the mark on until one matches ``pattern``; the mark moves past it."""
        deadline = time.monotonic() + wall
        while time.monotonic() < deadline:
            with self.lock:
                text = bytes(self.buf[self.pos:]).decode()
            lines = text.split("\r\n")
            for i, line in enumerate(lines[:-1]):
                if re.fullmatch(pattern, line):
                    self.pos += len("\r\n".join(lines[:i + 1]).encode()) + 2
                    return [x for x in lines[:i + 1] if x]
            time.sleep(0.01)
        raise AssertionError(f"no {pattern!r} in {text[-2000:]!r}")

    def at(self, line: str, final: str = "OK|ERROR|\\+CME ERROR: \\d+", wall: float = 10.0) -> list[str]:
        self.ser.write(line.encode() + b"\r")
        return self.until(final, wall)

    def prompt(self, line: str, wall: float = 10.0) -> None:
        """Send ``line`` and wait for the ``> `` data prompt (no line end follows it)."""
        self.ser.write(line.encode() + b"\r")
        deadline = time.monotonic() + wall
        while time.monotonic() < deadline:
            with self.lock:
                at = self.buf.find(b"\r\n> ", self.pos)
                if at >= 0:
                    self.pos = at + 4
                    return
            time.sleep(0.01)
        raise AssertionError(f"no prompt after {line!r}: {self.since(self.pos)[-300:]!r}")

    def since(self, start: int) -> str:
        with self.lock:
            return bytes(self.buf[start:]).decode()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.ser.close()


def api(base: str, method: str, path: str, body: dict | None = None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


@pytest.mark.timeout(600)
def test_a_month_keeps_mqtt_keepalive_and_lwm2m_updates_healthy(tmp_path: Path) -> None:
    srv = start_serve(tmp_path, "--module", "ec800e")
    host = Host(srv.pty("ec800e"))
    base = srv.info["api"]
    try:
        for line in (f'AT+QLWCONFIG=0,"221.229.214.202",5683,"{IMEI}",300,3,0',
                     "AT+QLWADDOBJ=19,0,1,0", "AT+QLWADDOBJ=19,1,1,0"):
            assert host.at(line)[-1] == "OK", line
        assert host.at("AT+QLWREG")[-1] == "OK"
        host.until(r"\+QLWREG: 0")
        obs = host.until(r'\+QLWURC: "observe",\d+,0,19,0,0')[-1].split(",")[1]
        assert host.at(f'AT+QLWOBSRSP={obs},1,19,0,0,2,10,"68656c6c6f776f726c64",0')[-1] == "OK"
        host.until(rf"\+QLWOBSRSP: {obs},0")
        assert host.at('AT+QMTCFG="keepalive",0,60')[-1] == "OK"
        host.at('AT+QMTOPEN=0,"2000033383.non-nb.ctwing.cn",1883', r"\+QMTOPEN: 0,0")
        host.at(MQTT_CONN, r"\+QMTCONN: 0,0,0")
        mark = host.pos

        report = api(base, "POST", "/api/clock/advance", {"seconds": DAYS * 86400}, timeout=540)
        print("advance:", report)  # (shown with -s: wall seconds of the month on this machine)

        assert report["advanced"] == DAYS * 86400 and report["busy"] == 0, report
        # a PINGREQ a minute and an automatic Update every 0.9 x 300 s, each one a deadline
        assert report["fired"] >= DAYS * (1440 + 320), report
        assert report["settled"] >= DAYS * (1440 + 320), report
        time.sleep(0.2)  # (bounded: the last URCs of the month reach the reader thread)
        month = host.since(mark)
        assert "+QMTSTAT" not in month, month[-500:]  # no PINGRESP timeout, no broker close
        assert not re.search(r'\+QLWURC: "ping",-?[1-9]', month), month[-500:]  # no failed Update
        assert month.count('+QLWURC: "ping",0') >= DAYS * 320 - 2, month[-300:]
        # both sessions still carry data
        assert host.at("AT+QMTCONN?")[-2:] == ["+QMTCONN: 0,3", "OK"]
        host.prompt('AT+QMTPUBEX=0,0,0,0,"topic/data",5')
        host.ser.write(b"hello")
        host.until(r"\+QMTPUBEX: 0,0,0")
        assert host.at("AT+QLWSTATUS?")[-2:] == ["+QLWSTATUS: 2", "OK"]
        assert api(base, "GET", f"/api/ctwing/devices/{IMEI}")["online"] is True
        lines = host.at('AT+QLWNOTIFY=19,0,0,2,3,"414243",0,1', r'\+QLWURC: "report_ack",\d+,\d+')
        assert lines[-1].startswith('+QLWURC: "report_ack",0,'), lines  # ACKed by the platform
    finally:
        host.close()
        assert srv.stop() == 0
