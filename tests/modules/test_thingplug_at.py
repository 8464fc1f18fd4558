"""AT+SKTP* on the three ThingPlug modules, sans-IO: effects out, stimuli in (guide 000)."""

from __future__ import annotations

import json

import pytest

from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.thingplug_effects import (TpConnect, TpConnected, TpDisconnect, TpLost,
                                                         TpMessage, TpPublish, TpPublished)

CON_BG96 = (b'AT+SKTPCON=1,"MQTT","test.sktiot.com",1883,120,1,"simple_v1","a0149f60b---------",'
            b'"smarthome","smartlight001"\r')
CON_WOORI = b"AT+SKTPCON=1,MQTT,test.sktiot.com,1883,120,1,simple_v1,a0149f60b---------,smarthome,smartlight001\r"
RPC = {"serviceName": "smarthome", "deviceName": "smartlight001", "cmd": "jsonRpc", "cmdId": 20,
       "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": [20, 14], "id": 1815296803}, "rpcMode": "twoway"}


class Tp:
    def __init__(self, module: str) -> None:
        self.m = Modem(load_module(module))
        self.m.events()
        self.effects: list = []

    def io(self, data: bytes = b"", stim=None) -> bytes:
        if data:
            self.m.receive_data(data)
        if stim is not None:
            self.m.receive_stimulus(stim)
        out = b""
        for event in self.m.events():
            if hasattr(event, "data"):
                out += event.data
            elif isinstance(event, (TpConnect, TpPublish, TpDisconnect)):
                self.effects.append(event)
        return out

    def connect(self, line: bytes) -> bytes:
        out = self.io(line)
        assert isinstance(self.effects[-1], TpConnect)
        return out + self.io(stim=TpConnected(0))


@pytest.mark.parametrize("module", ["bg96", "amm5918k"])
def test_bg96_dialect_guide_flow(module: str) -> None:
    tp = Tp(module)
    assert tp.io(b"AT+SKTPCON\r").endswith(b"\r\nstatus: disconnected\r\n\r\nOK\r\n")
    out = tp.connect(CON_BG96)
    assert out.endswith(b"\r\nOK\r\n\r\n+SKTPCON: 0\r\n")
    eff = tp.effects[-1]
    assert eff.subscribe == "v1/dev/smarthome/smartlight001/down" and eff.token == "a0149f60b---------"
    assert eff.client_id.endswith("_smartlight001")
    assert tp.io(b'AT+SKTPDAT=1,"telemetry",0\r').endswith(b"\r\n> ")
    tp.io(b'{"temperature":30, "humidity":20}\x1a')
    pub = tp.effects[-1]
    assert isinstance(pub, TpPublish) and pub.topic == "v1/dev/smarthome/smartlight001/telemetry"
    # OK only once the broker acknowledged the publish
    assert tp.io(stim=TpPublished(pub.tag, True)) == b"\r\nOK\r\n"
    assert tp.io(stim=TpMessage("v1/dev/smarthome/smartlight001/down", json.dumps(RPC).encode())) == \
        b"\r\n+SKTPCMD: tp_user,1815296803,1,[20,14]\r\n"
    tp.io(b'AT+SKTPRES=1,"tp_user",1815296803,0\r{"result":"success"}\x1a')
    res = tp.effects[-1]
    body = json.loads(res.payload)
    assert res.topic.endswith("/up") and body["rpcRsp"]["id"] == 1815296803 and body["result"] == "success"
    assert tp.io(stim=TpPublished(res.tag, True)) == b"\r\nOK\r\n\r\n+SKTPCMD: tp_user,1815296803,3\r\n"


def test_woori_dialect_inline_data_and_ok_first() -> None:
    tp = Tp("wm-n400mse")
    assert tp.connect(CON_WOORI).endswith(b"\r\nOK\r\n\r\n+SKTPCON=0\r\n")
    tp.io(b'AT+SKTPDAT=1,telemetry,0,{"temp1":95,"humi1":89}\r')
    pub = tp.effects[-1]
    assert pub.payload == b'{"temp1":95,"humi1":89}'
    tp.io(stim=TpPublished(pub.tag, True))
    out = tp.io(b"AT+SKTP\r")
    assert out.index(b"OK") < out.index(b"status: connected")  # OK before the fields
    assert b"mqtt_client_id: smartlight001_" in out
    tp.io(stim=TpMessage("x/down", json.dumps(RPC).encode()))
    tp.io(b'AT+SKTPRES=1,tp_user,1815296803,0,{"led":"on"}\r')
    assert json.loads(tp.effects[-1].payload)["rpcRsp"]["result"] == {"led": "on"}
    assert tp.io(stim=TpPublished(tp.effects[-1].tag, True)).endswith(b"+SKTPCMD=tp_user,1815296803,3\r\n")
    assert tp.io(b"AT+SKTPATC=1\rAT+SKTPATC?\r").endswith(b"+SKTPATC:on\r\n\r\nOK\r\n")


def test_errors_are_clear_and_port_keeps_working() -> None:
    tp = Tp("bg96")
    # data while disconnected -> ERROR, AT+SKTPERR says Disconnected (-3)
    assert tp.io(b'AT+SKTPDAT=1,"telemetry",0\r').endswith(b"\r\nERROR\r\n")
    assert b"+SKTPE: -3" in tp.io(b"AT+SKTPERR=1\r")
    # unknown token -> CONNACK 5 -> +SKTPCON: 5 and -25 Not Authorized
    tp.io(CON_BG96)
    assert tp.io(stim=TpConnected(5)) == b"\r\n+SKTPCON: 5\r\n"
    assert b"+SKTPE: Not Authorized" in tp.io(b"AT+SKTPERR=2\r")
    tp.connect(CON_BG96)
    # Ctrl+Z with no data
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r')
    assert tp.io(b"\x1a").endswith(b"\r\nERROR\r\n")
    # not JSON
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r')
    assert tp.io(b"{oops\x1a").endswith(b"\r\nERROR\r\n")
    # ESC cancels, nothing published
    published = len(tp.effects)
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r')
    assert tp.io(b'{"a":1}\x1b').endswith(b"\r\nOK\r\n")
    assert len(tp.effects) == published
    # oversized payload
    tp.io(b'AT+SKTPDAT=1,"attribute",0\r')
    assert tp.io(b"{" + b'"a":1,' * 500 + b'"b":2}\x1a').endswith(b"\r\nERROR\r\n")
    # result for an RPC that never came, unknown cmd type, wrong api version
    assert tp.io(b'AT+SKTPRES=1,"tp_user",42,0\r').endswith(b"ERROR\r\n")
    assert tp.io(b'AT+SKTPRES=1,"tp_bogus",42,0\r').endswith(b"ERROR\r\n")
    assert tp.io(b"AT\r").endswith(b"\r\nOK\r\n")


def test_connection_loss_reported_and_publish_failure_not_acknowledged() -> None:
    tp = Tp("bg96")
    tp.connect(CON_BG96)
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r{"temperature":1}\x1a')
    # broker never acknowledges: the publish fails, the host gets ERROR, not OK
    assert tp.io(stim=TpPublished(tp.effects[-1].tag, False)).endswith(b"\r\nERROR\r\n")
    assert tp.io(stim=TpLost("broker stopped")) == b"\r\n+SKTPCON: -1\r\n"
    assert b"+SKTPE: -3" in tp.io(b"AT+SKTPERR=1\r")
    assert tp.connect(CON_BG96).endswith(b"+SKTPCON: 0\r\n")  # reconnect works


def test_set_attribute_reaches_host() -> None:
    tp = Tp("bg96")
    tp.connect(CON_BG96)
    msg = {"serviceName": "smarthome", "deviceName": "smartlight001", "cmdId": 10, "cmd": "setAttribute",
           "attribute": {"LED": "on"}}
    assert tp.io(stim=TpMessage("d", json.dumps(msg).encode())) == b'\r\n+SKTPCMD: set_attr,10,3,{"LED":"on"}\r\n'


def test_woori_auto_reconnect_retries_silently_until_it_succeeds() -> None:
    from emulator.core.stimuli import NetworkAttach, NetworkDetach

    tp = Tp("wm-n400mse")
    tp.io(b"AT+SKTPATC=1\r")
    tp.connect(CON_WOORI)
    assert tp.io(stim=TpLost("peer")) == b"\r\n+SKTPCON=-1\r\n"
    tp.m.advance(5)
    assert tp.io() == b"" and isinstance(tp.effects[-1], TpConnect)
    n = len(tp.effects)
    assert tp.io(stim=TpConnected(-1)) == b""  # a failed automatic attempt prints nothing
    tp.m.advance(5)
    tp.io()
    assert len(tp.effects) == n + 1 and isinstance(tp.effects[-1], TpConnect)
    assert tp.io(stim=TpConnected(0)) == b"\r\n+SKTPCON=0\r\n"
    # detach: the link is dropped without DISCONNECT; no attempt until the network is back
    assert tp.io(stim=NetworkDetach()).endswith(b"+SKTPCON=-1\r\n")
    assert tp.effects[-1] == TpDisconnect(graceful=False)
    n = len(tp.effects)
    tp.m.advance(60)
    tp.io()
    assert len(tp.effects) == n
    tp.io(stim=NetworkAttach())
    tp.m.advance(5)
    tp.io()
    assert isinstance(tp.effects[-1], TpConnect)
    # AT+SKTPCON=0 while an automatic attempt runs: no more attempts
    tp.io(b"AT+SKTPCON=0\r")
    n = len(tp.effects)
    tp.io(stim=TpConnected(-1))
    tp.m.advance(60)
    tp.io()
    assert len(tp.effects) == n


def test_woori_refusal_strings_and_inline_limit() -> None:
    tp = Tp("wm-n400mse")
    tp.io(b"ATE0\r")
    tp.io(CON_WOORI)
    assert tp.io(stim=TpConnected(5)) == b"\r\n+SKTPCON=5\r\n"
    assert tp.io(b"AT+SKTPERR=1\r") == b"\r\nOK\r\n\r\n+SKTPE=-25\r\n"
    # WM-N400MSE guide v1.1 §5: the string form spells the CONNACK refusal out
    assert tp.io(b"AT+SKTPERR=2\r") == b"\r\nOK\r\n\r\n+SKTPE: Connection Refused (CONNECTION_REFUSED_NOT_AUTHORIZED)\r\n"
    tp.connect(CON_WOORI)
    big = b'{"temperature":"' + b"x" * 500 + b'"}'
    assert tp.io(b"AT+SKTPDAT=1,telemetry,0," + big + b"\r") == b"\r\nERROR\r\n"
    assert tp.io(b"AT+SKTPERR=1\r") == b"\r\nOK\r\n\r\n+SKTPE=-14\r\n"  # before: still 0
    assert not any(isinstance(e, TpPublish) for e in tp.effects)
    assert tp.io(b"AT+SKTPERR=2\r") == b"\r\nOK\r\n\r\n+SKTPE: Invalid Parameter\r\n"


def test_sktpcmd_prints_params_as_utf8_not_escapes() -> None:
    tp = Tp("bg96")
    tp.connect(CON_BG96)
    rpc = dict(RPC, rpcReq=dict(RPC["rpcReq"], params=[{"msg": "켜기"}]))
    out = tp.io(stim=TpMessage("d", json.dumps(rpc).encode()))  # the platform's JSON escapes it
    assert out == '\r\n+SKTPCMD: tp_user,1815296803,1,[{"msg":"켜기"}]\r\n'.encode()
    msg = {"cmdId": 3, "cmd": "setAttribute", "attribute": {"LED": "켜짐"}}
    assert tp.io(stim=TpMessage("d", json.dumps(msg).encode())) == '\r\n+SKTPCMD: set_attr,3,3,{"LED":"켜짐"}\r\n'.encode()


@pytest.mark.parametrize("module,res,urc", [
    ("bg96", b'AT+SKTPRES=1,"tp_user",1815296803,0\r', b"+SKTPCMD: tp_user,1815296803,3"),
    ("wm-n400mse", b"AT+SKTPRES=1,tp_user,1815296803,0,{}\r", b"+SKTPCMD=tp_user,1815296803,3"),
])
def test_rpc_result_lost_on_the_way_is_not_finished_and_can_be_sent_again(module: str, res: bytes, urc: bytes) -> None:
    # Before: ERROR followed by "+SKTPCMD: ...,3" (finished) and the RPC was forgotten (-14 on retry).
    tp = Tp(module)
    tp.io(b"ATE0\r")
    tp.connect(CON_BG96 if module == "bg96" else CON_WOORI)
    tp.io(stim=TpMessage("d", json.dumps(RPC).encode()))

    def send_result() -> TpPublish:
        out = tp.io(res)
        if module == "bg96":
            assert out == b"\r\n> "
            tp.io(b'{"a":1}\x1a')
        pub = tp.effects[-1]
        assert isinstance(pub, TpPublish) and pub.topic.endswith("/up")
        return pub

    pub = send_result()
    assert tp.io(stim=TpPublished(pub.tag, False)) == b"\r\nERROR\r\n"  # no FINISHED after it
    pub = send_result()  # the host retries (after reconnecting, in real life)
    out = tp.io(stim=TpPublished(pub.tag, True))
    assert out == b"\r\nOK\r\n\r\n" + urc + b"\r\n"
    assert tp.io(res) == b"\r\nERROR\r\n"  # now it is done: answering twice is -14


def test_down_message_that_is_not_an_object_is_ignored() -> None:
    tp = Tp("bg96")
    tp.io(b"ATE0\r")
    tp.connect(CON_BG96)
    assert tp.io(stim=TpMessage("d", b"[1,2]")) == b""  # before: AttributeError in the handler
    assert tp.io(b"AT+SKTPERR=1\r") == b"\r\n+SKTPE: -8\r\n\r\nOK\r\n"


def test_a_successful_send_clears_the_last_error() -> None:
    tp = Tp("bg96")
    tp.io(b"ATE0\r")
    tp.connect(CON_BG96)
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r')
    assert tp.io(b"{bad\x1a") == b"\r\nERROR\r\n"
    assert tp.io(b"AT+SKTPERR=1\r") == b"\r\n+SKTPE: -8\r\n\r\nOK\r\n"
    tp.io(b'AT+SKTPDAT=1,"telemetry",0\r')
    tp.io(b'{"temperature":1}\x1a')
    assert tp.io(stim=TpPublished(tp.effects[-1].tag, True)) == b"\r\nOK\r\n"
    assert tp.io(b"AT+SKTPERR=1\r") == b"\r\n+SKTPE: 0\r\n\r\nOK\r\n"  # before: still -8
