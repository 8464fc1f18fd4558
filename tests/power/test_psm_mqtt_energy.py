"""PSM with MQTT (CTWing broker), the scenario energy_below step, and the PSM benchmark."""

from __future__ import annotations

import pytest

from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.loader import ScenarioError
from emulator.scenarios.patterns import PatternError, parse_charge
from emulator.scenarios.runner import run_scenario_sync
from bench import psm as bench_psm
from emulator.testing.harness import ModemHarness

MQTT_CLIENT = "16891291868543060025186"  # guide 001 §4.2.3
MQTT_PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


def test_ctwing_mqtt_command_waits_for_the_wake_up_publish() -> None:
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        h.command('AT+QCFG="urc/psm",1')
        h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,0")
        h.command(f'AT+QMTCONN=0,"{MQTT_CLIENT}","device001","{MQTT_PASSWORD}"', "OK", "+QMTCONN: 0,0,0")
        h.command('AT+QMTSUB=0,1,"device_control",1', "OK", "+QMTSUB: 0,1,0,1")
        h.command('AT+QSCLK=3,2,"01011111","00000001"')
        h.expect("+QIND: ENTER PSM", within="5s")
        h.platform("ctwing", "queue_command", device=MQTT_CLIENT, payload="open valve")
        h.expect_none("60s")
        assert h.port.held  # PUBLISHed by the broker, waiting at the network edge
        h.send('AT+QMTPUBEX=0,0,0,0,"topic/data",23')
        h.expect_prompt()
        h.send_raw(b'{"temp":22.5,"humi":78}')
        h.expect("OK", "+QIND: EXIT PSM", allow_other=True)
        lines = h.drain()
        recv = [x for x in lines if x.startswith("+QMTRECV:")]
        assert recv and recv[0].endswith('"device_control","open valve"'), lines
        assert "+QMTPUBEX: 0,0,0" in lines


def test_mqtt_keepalive_wakes_the_module_from_psm() -> None:
    """The module's MQTT stack keeps its connection alive: each PINGREQ is uplink traffic, so a
    device left connected leaves PSM every keepalive (+QIND: EXIT PSM, RRC up, energy booked)
    instead of sleeping while pings go out unseen (guide 001 §6.1 note 3: close MQTT first)."""
    with ModemHarness("ec800e", backends=["ctwing"]) as h:
        h.command('AT+QCFG="urc/psm",1')
        h.command('AT+QMTCFG="keepalive",0,60')
        h.command('AT+QMTOPEN=0,"mqtt.ctwing.cn",1883', "OK", "+QMTOPEN: 0,0")
        h.command(f'AT+QMTCONN=0,"{MQTT_CLIENT}","device001","{MQTT_PASSWORD}"', "OK", "+QMTCONN: 0,0,0")
        h.command('AT+QSCLK=3,2,"01011111","00000001"')
        h.expect("+QIND: ENTER PSM", within="5s")
        before = h.modem.state.energy.report()
        h.expect("+QIND: EXIT PSM", within="61s")  # the keepalive PINGREQ, not the 310 h TAU
        h.expect("+QIND: ENTER PSM", within="30s")  # RRC released, T3324: asleep again
        after = h.modem.state.energy.report()
        assert after["tx_bytes"] - before["tx_bytes"] == 2
        assert after["seconds"]["connected"] > before["seconds"]["connected"]
        h.command("AT+QMTCONN?", "+QMTCONN: 0,3", "OK")  # still connected (and awake again)
        h.expect("+QIND: EXIT PSM")
        h.drain()


def test_parse_charge() -> None:
    assert parse_charge("50uAh") == 50
    assert parse_charge("50µAh") == 50
    assert parse_charge("0.05mAh") == pytest.approx(50)
    assert parse_charge(12) == 12
    for bad in ("50", "-1uAh", "50 mA", "", True):
        with pytest.raises(PatternError):
            parse_charge(bad)


ENERGY = """
name: energy
module: ec800e
backends: none
skip_boot: true
steps:
  - send: AT+CPSMS=1,,,"01011111","00000001"
  - expect: OK
  - advance: 1d
  - energy_below: {limit}
"""


def test_energy_below_passes_and_fails_with_the_numbers() -> None:
    ok = run_scenario_sync(parse_scenario(ENERGY.format(limit="200uAh"), "e.yaml"))
    assert ok.passed, ok.failure
    assert 140 < ok.energy["ec800e"]["charge_uah"] < 200
    bad = run_scenario_sync(parse_scenario(ENERGY.format(limit="0.1mAh"), "e.yaml"))
    assert not bad.passed and "not below 100 uAh" in bad.failure.message
    assert bad.failure.where == "e.yaml:10"


def test_energy_below_and_dtr_control_reject_bad_input() -> None:
    with pytest.raises(ScenarioError, match="charge"):
        parse_scenario(ENERGY.format(limit="lots"), "e.yaml")
    with pytest.raises(ScenarioError, match="dtr must be high or low"):
        parse_scenario("name: x\nmodule: bg96\nsteps:\n  - control: {dtr: up}\n", "x.yaml")


def test_run_report_has_an_energy_line(tmp_path, capsys) -> None:
    from emulator.scenarios.report import print_result
    import io
    result = run_scenario_sync(parse_scenario(ENERGY.format(limit="1mAh"), "e.yaml"))
    buf = io.StringIO()
    print_result(result, buf)
    line = [x for x in buf.getvalue().splitlines() if "energy ec800e" in x]
    assert line and "uAh" in line[0] and "psm 24.00h" in line[0]


def test_bench_psm_is_fast_and_cycles() -> None:
    out = bench_psm.run(hours=48, period=900)
    assert out["cycles"] == 192 and out["psm_entries"] == out["psm_exits"] == 192
    assert out["simulated_hours_per_wall_second"] > 50
    assert out["seconds"]["psm"] > 0.8 * 48 * 3600
