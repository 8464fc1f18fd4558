"""One scenario ``cut`` resets everything open to that host, whatever stack opened it.

Before: a cut went two ways (``Emulator.cut_hooks`` for AT+QI* sockets, ``FakeInternet.cut_open``
for MQTT sessions). Now both register with the FakeInternet and one ``FakeInternet.cut`` (here
from a scenario ``control`` action) resets an AT+QI socket and an AT+QMT session to the same
broker host, each reported in its own URC, and the modem can open both again afterwards.
"""

from __future__ import annotations

import pytest

from emulator.testing.harness import ModemHarness

pytestmark = pytest.mark.slow

MQTT_DEVICE = "16891291868543060025186"
MQTT_PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


def _open_both(h: ModemHarness) -> None:
    h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,0")
    h.command(f'AT+QMTCONN=0,"{MQTT_DEVICE}","device001","{MQTT_PASSWORD}"', "OK", "+QMTCONN: 0,0,0")
    h.command('AT+QIOPEN=1,1,"TCP","mqtt.ctwing.cn",1883,0,0', "OK", "+QIOPEN: 1,0")


def test_a_scenario_cut_resets_the_qi_socket_and_the_qmt_session_to_that_host() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        h.command('AT+QMTCFG="keepalive",0,3600')
        _open_both(h)
        h.control(fault={"host": "mqtt.ctwing.cn", "port": 1883, "kind": "cut", "count": 2})
        lines = h.drain() + h.drain()
        for _ in range(50):
            if {"+QMTSTAT: 0,1", '+QIURC: "closed",1'} <= set(lines):
                break
            h.wait(0.1)
            lines += h.drain()
        assert {"+QMTSTAT: 0,1", '+QIURC: "closed",1'} <= set(lines), lines
        h.command("AT+QICLOSE=1", "OK", "CLOSE OK")
        _open_both(h)  # the count (2) was spent on the two open streams: new ones are not cut
        h.expect_none(1)
