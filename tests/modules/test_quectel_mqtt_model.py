"""The AT+QMT* state machine alone (sans-IO Modem): effects out, stimuli in, exact bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.core.events import ToHost
from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.mqtt_effects import (MqttClosed, MqttConnAck, MqttConnect, MqttDisconnect,
                                                    MqttDisconnected, MqttMessage, MqttOpen, MqttOpened,
                                                    MqttPubDone, MqttPublish, MqttSubAck)


def boot(module: str = "ec800e") -> Modem:
    modem = Modem(load_module(module))
    modem.events()
    return modem


def run(modem: Modem, data: bytes) -> tuple[bytes, list]:
    modem.receive_data(data)
    out, effects = b"", []
    for ev in modem.events():
        if isinstance(ev, ToHost):
            out += ev.data
        elif not type(ev).__name__ == "CommandHandled":
            effects.append(ev)
    return out, effects


def stim(modem: Modem, stimulus) -> bytes:
    modem.receive_stimulus(stimulus)
    return b"".join(ev.data for ev in modem.events() if isinstance(ev, ToHost))


def connected(module: str = "ec800e") -> Modem:
    m = boot(module)
    _, eff = run(m, b'AT+QMTOPEN=0,"h.test",1883\r')
    assert eff == [MqttOpen(0, "h.test", 1883)]
    assert stim(m, MqttOpened(0, 0)) == b"\r\n+QMTOPEN: 0,0\r\n"
    _, eff = run(m, b'AT+QMTCONN=0,"cid","u","p"\r')
    assert isinstance(eff[0], MqttConnect) and (eff[0].username, eff[0].password) == ("u", "p")
    assert stim(m, MqttConnAck(0, 0, 0)) == b"\r\n+QMTCONN: 0,0,0\r\n"
    return m


def test_connect_effect_carries_the_configuration():
    m = boot()
    for line in (b'AT+QMTCFG="version",0,3\r', b'AT+QMTCFG="keepalive",0,3600\r', b'AT+QMTCFG="session",0,0\r',
                 b'AT+QMTCFG="timeout",0,9,4,1\r', b'AT+QMTCFG="will",0,1,2,1,"w/t","bye"\r'):
        assert run(m, line)[0].endswith(b"\r\nOK\r\n")
    run(m, b'AT+QMTOPEN=0,"h.test",1883\r')
    stim(m, MqttOpened(0, 0))
    _, eff = run(m, b'AT+QMTCONN=0,"cid"\r')
    assert eff == [MqttConnect(0, "cid", None, None, keepalive=3600, clean_session=False, version=3, will_flag=True,
                               will_qos=2, will_retain=True, will_topic="w/t", will_message=b"bye",
                               pkt_timeout=9.0, retry_times=4)]


def test_urcs_wait_for_the_running_command_and_other_owners_are_ignored():
    m = connected()
    m.receive_data(b'AT+QMTPUB=0,0,0,0,"t"\r')
    m.receive_stimulus(MqttMessage(0, "in", b"x"))  # arrives while the prompt is open
    m.receive_stimulus(MqttMessage(0, "in", b"y", owner="sktp"))  # somebody else's client
    m.receive_data(b"data\x1a")
    out = b"".join(ev.data for ev in m.events() if isinstance(ev, ToHost))
    assert out.endswith(b'> data\r\nOK\r\n\r\n+QMTRECV: 0,0,"in","x"\r\n')


def test_publish_msgid_rules_and_inflight_ids():
    m = connected()
    assert run(m, b'AT+QMTPUB=0,1,0,0,"t"\r')[0].endswith(b"ERROR\r\n")
    assert run(m, b'AT+QMTPUB=0,0,2,0,"t"\r')[0].endswith(b"ERROR\r\n")
    out, eff = run(m, b'AT+QMTPUB=0,4,1,1,"t","inline"\r')
    assert eff == [MqttPublish(0, 4, "t", b"inline", 1, True)]
    assert run(m, b'AT+QMTPUB=0,4,1,0,"t","again"\r')[0].endswith(b"ERROR\r\n")  # 4 still in flight
    assert stim(m, MqttPubDone(0, 4, 0)) == b"\r\n+QMTPUB: 0,4,0\r\n"
    assert run(m, b'AT+QMTPUB=0,4,1,0,"t","again"\r')[1]  # free again
    # without timeout_notice retransmissions are silent
    assert stim(m, MqttPubDone(0, 4, 1, retries=1)) == b""


def test_disconnect_then_broker_close_reports_disc_not_stat():
    m = connected()
    _, eff = run(m, b"AT+QMTDISC=0\r")
    assert eff == [MqttDisconnect(0)]
    assert b"+QMTCONN: 0,4" in run(m, b"AT+QMTCONN?\r")[0]
    assert stim(m, MqttClosed(0, 5)) == b"\r\n+QMTDISC: 0,0\r\n"
    assert stim(m, MqttDisconnected(0, 0)) == b""  # already reported
    assert run(m, b"AT+QMTCONN?\r")[0].endswith(b"AT+QMTCONN?\r\r\nOK\r\n")


def test_pdp_not_active_gives_open_result_3():
    m = boot()
    m.state.pdp[1].active = False
    out, eff = run(m, b'AT+QMTOPEN=0,"h.test",1883\r')
    assert eff == [] and out.endswith(b"\r\nOK\r\n\r\n+QMTOPEN: 0,3\r\n")


def test_suback_urc_forms():
    m = connected()
    run(m, b'AT+QMTSUB=0,3,"a",1,"b",2\r')
    assert stim(m, MqttSubAck(0, 3, 1, retries=1)) == b""  # timeout_notice is 0 by default
    run(m, b'AT+QMTCFG="timeout",0,5,3,1\r')
    assert stim(m, MqttSubAck(0, 3, 0, (1, 128))) == b"\r\n+QMTSUB: 0,3,0,1,128\r\n"
    assert stim(m, MqttSubAck(0, 3, 1, retries=2)) == b"\r\n+QMTSUB: 0,3,1,2\r\n"
    assert stim(m, MqttSubAck(0, 3, 2)) == b"\r\n+QMTSUB: 0,3,2\r\n"
    assert run(m, b'AT+QMTSUB=0,3,"a"\r')[0].endswith(b"ERROR\r\n")  # topic without QoS


@pytest.mark.parametrize("line", [b'AT+QMTCFG="keepalive",0,3601', b'AT+QMTCFG="timeout",0,0',
                                  b'AT+QMTCFG="session",0,2', b'AT+QMTCFG="ssl",0,1,6', b'AT+QMTOPEN=6,"h",1',
                                  b'AT+QMTCFG="pdpcid",0,17', b'AT+QMTOPEN=0,"h",65536', b'AT+QMTSUB=0,0,"a",0'])
def test_out_of_range_values_are_rejected_and_not_stored(line):
    m = boot()
    before = {k: list(v) for k, v in m.state.mqtt[0].cfg.items()}
    out, eff = run(m, line + b"\r")
    assert out.endswith(b"\r\nERROR\r\n") and eff == []
    assert m.state.mqtt[0].cfg == before


@given(st.binary(min_size=1, max_size=64), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e,
                                                                  exclude_characters='"#+'), min_size=1))
def test_recv_urc_is_binary_safe(payload, topic):
    m = connected()
    m.receive_stimulus(MqttMessage(0, topic, payload, 3, 1))
    out = b"".join(ev.data for ev in m.events() if isinstance(ev, ToHost))
    assert out == b'\r\n+QMTRECV: 0,3,"' + topic.encode() + b'","' + payload + b'"\r\n'
