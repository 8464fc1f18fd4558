"""Every prompt / data-phase command of every module: a CR and a CR LF host get the same
payload to the network and the same serial output, at every split point (issue 11).

The commands are enumerated from the handler sources (every command whose handler opens a
``Prompt``) and each module's command table; ``CASES`` says how to drive each one sans-IO,
with a tiny network that accepts every open/connect/publish. A new prompt command without a
case here fails ``test_every_prompt_command_has_a_case``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.events import ToHost
from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.mqtt_effects import (RESULT_OK, MqttConnAck, MqttConnect, MqttOpen,
                                                    MqttOpened)
from emulator.modules.handlers.quectel_ssl_effects import TlsOpen, TlsOpened
from emulator.modules.handlers.quectel_tcpip_effects import OpenSocket, SocketOpened
from emulator.modules.handlers.thingplug_effects import TpConnect, TpConnected, TpMessage, TpPublish, TpPublished

HANDLERS = Path(__file__).resolve().parents[2] / "emulator" / "modules" / "handlers"
MODULES = ("bg96", "ec800e", "wm-n400mse", "amm5918k")
TP_CON = (b'AT+SKTPCON=1,"MQTT","test.sktiot.com",1883,120,1,"simple_v1","a0149f60b---------",'
          b'"smarthome","smartlight001"')
TP_RPC = TpMessage("v1/dev/smarthome/smartlight001/down", json.dumps({
    "serviceName": "smarthome", "deviceName": "smartlight001", "cmd": "jsonRpc", "cmdId": 20,
    "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": [20, 14], "id": 1815296803},
    "rpcMode": "twoway"}).encode())


@dataclass(frozen=True)
class Case:
    command: str  # the command name the case covers (+QISEND ...)
    line: str  # {n}: the payload length
    end: bytes = b""  # after the payload: b"\x1a" for Ctrl+Z prompts, b"" for fixed length
    setup: tuple[bytes, ...] = ()
    downlink: object = None  # a stimulus after the setup (an RPC to answer)
    alphabet: bytes = b""  # payload bytes to avoid
    tail: bytes = b"AT\r"  # the next command (none in transparent mode: it would be data)
    json: bool = False  # the payload must be a JSON object (ThingPlug)
    text: bool = False  # printable ASCII only (SMS text)
    exact: bool = True  # the effect carries the payload verbatim (``data``/``payload``)


SOCKET = (b'AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,0',)
MQTT = (b'AT+QMTOPEN=0,"broker.example.com",1883', b'AT+QMTCONN=0,"dev1"')
CTRL = b"\x1a\x1b"
HTTP_URL = (b"AT+QHTTPURL=26", b"http://api.example.com/up1")
QUECTEL = [
    Case("+QISEND", "AT+QISEND=0,{n}", setup=SOCKET),
    Case("+QISEND", "AT+QISEND=0", b"\x1a", SOCKET, alphabet=CTRL),
    Case("+QMTPUB", 'AT+QMTPUB=0,0,0,0,"t/up"', b"\x1a", MQTT, alphabet=CTRL),
    Case("+QMTPUB", 'AT+QMTPUB=0,0,0,0,"t/up",{n}', setup=MQTT),
    Case("+QMTPUBEX", 'AT+QMTPUBEX=0,0,0,0,"t/up",{n}', setup=MQTT),
    # the CONNECT data phase of transparent access mode ("+" could start the +++ escape)
    Case("+QIOPEN", 'AT+QIOPEN=1,1,"TCP","echo.example.com",7,0,2', alphabet=b"+", tail=b""),
]
THINGPLUG = [
    Case("+SKTPDAT", 'AT+SKTPDAT=1,"telemetry",0', b"\x1a", (TP_CON,), json=True),
    Case("+SKTPRES", 'AT+SKTPRES=1,"tp_user",1815296803,0', b"\x1a", (TP_CON,), TP_RPC, json=True),
]
# Prompt commands other branches add (issue 11: SMS, files); a case only runs on a module whose
# command table has the command, so these wait here until the handlers land.
LATER = [
    Case("+CMGS", 'AT+CMGS="+821012345678"', b"\x1a", (b"AT+CMGF=1",), text=True, exact=False),
    Case("+CMGW", 'AT+CMGW="+821012345678"', b"\x1a", (b"AT+CMGF=1",), text=True, exact=False),
    Case("+QCMGS", 'AT+QCMGS="+821012345678",7,1,2', b"\x1a", (b"AT+CMGF=1",), text=True, exact=False),
    Case("+QFUPL", 'AT+QFUPL="UFS:crlf.bin",{n}', exact=False),
    Case("+QFWRITE", "AT+QFWRITE=1,{n}", setup=(b'AT+QFOPEN="w.bin",1',), exact=False),
    Case("+QSSLSEND", "AT+QSSLSEND=4,{n}", setup=(b"AT+QIACT=1", b'AT+QSSLOPEN=1,1,4,"tls.example.com",443')),
    Case("+QSSLSEND", "AT+QSSLSEND=4", b"\x1a", (b"AT+QIACT=1", b'AT+QSSLOPEN=1,1,4,"tls.example.com",443'),
         alphabet=CTRL),
    # the CONNECT data phase of a TLS socket in transparent mode
    Case("+QSSLOPEN", 'AT+QSSLOPEN=1,1,4,"tls.example.com",443,2', setup=(b"AT+QIACT=1",), alphabet=b"+", tail=b""),
    # HTTP(S): the URL, a POST body, a host-built request after CONNECT (the effect carries
    # them as url/body/raw, so the payload is not compared)
    Case("+QHTTPURL", "AT+QHTTPURL={n}", exact=False),
    Case("+QHTTPPOST", "AT+QHTTPPOST={n}", setup=HTTP_URL, exact=False),
    Case("+QHTTPGET", "AT+QHTTPGET=60,{n}", setup=HTTP_URL + (b'AT+QHTTPCFG="requestheader",1',), exact=False),
]
QUECTEL += LATER
SMS = [case for case in LATER if case.command in ("+CMGS", "+CMGW")]
CASES = {"bg96": QUECTEL + THINGPLUG, "ec800e": QUECTEL, "wm-n400mse": SMS,
         "amm5918k": THINGPLUG + SMS}
# the same handler, but this dialect takes the data inline on the command line (no prompt)
INLINE = {"wm-n400mse": {"+SKTPDAT", "+SKTPRES"}}


def _answer(event: object) -> object | None:
    """The network says yes to everything."""
    if isinstance(event, OpenSocket):
        return SocketOpened(event.conn_id, event.gen, 0)
    if isinstance(event, TlsOpen):
        return TlsOpened(event.client_id, event.gen, 0)
    if isinstance(event, MqttOpen):
        return MqttOpened(event.client_idx, 0)
    if isinstance(event, MqttConnect):
        return MqttConnAck(event.client_idx, RESULT_OK, 0)
    if isinstance(event, TpConnect):
        return TpConnected(0)
    if isinstance(event, TpPublish):
        return TpPublished(event.tag, True)
    return None


def _pump(m: Modem, out: bytearray, effects: list) -> None:
    while events := m.events():
        for event in events:
            if isinstance(event, ToHost):
                out += event.data
            else:
                effects.append(event)
                if (stim := _answer(event)) is not None:
                    m.receive_stimulus(stim)


def _drive(module: str, case: Case, eol: bytes, payload: bytes, cuts: list[int]) -> tuple[bytes, list]:
    m = Modem(load_module(module))
    out: bytearray = bytearray()
    effects: list = []
    for line in (b"ATE1", *case.setup):
        m.receive_data(line + eol)
        _pump(m, out, effects)
    if case.downlink is not None:
        m.receive_stimulus(case.downlink)
    _pump(m, out, effects)
    out.clear()
    effects.clear()
    fh = getattr(getattr(m.state, "fs", None), "next_handle", 1) - 1  # the handle AT+QFOPEN gave
    stream = case.line.format(n=len(payload), fh=fh).encode() + eol + payload + case.end + case.tail
    points = sorted({c % (len(stream) + 1) for c in cuts})
    for a, b in zip([0, *points], [*points, len(stream)]):
        m.receive_data(stream[a:b])
        _pump(m, out, effects)
    m.advance(1.0)  # transparent mode packs by transwaittm
    _pump(m, out, effects)
    return bytes(out), effects


def _prompt_commands() -> set[str]:
    """Command names whose handler (or a helper it calls, same file) builds a ``Prompt``."""
    names: set[str] = set()
    for path in HANDLERS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        funcs = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
        calls = {name: {c.func.id for c in ast.walk(f) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
                 for name, f in funcs.items()}
        opening = {name for name, called in calls.items() if "Prompt" in called}
        while grown := {n for n, called in calls.items() if called & opening} - opening:
            opening |= grown
        for name in opening:
            for deco in funcs[name].decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and \
                        deco.func.attr in ("set", "exec", "all"):
                    names.update(a.value.upper() for a in deco.args if isinstance(a, ast.Constant))
    return names


def test_every_prompt_command_has_a_case() -> None:
    prompts = _prompt_commands()
    assert {"+QISEND", "+QMTPUB", "+QMTPUBEX", "+SKTPDAT", "+SKTPRES"} <= prompts
    for module in MODULES:
        table = load_module(module).commands.names()
        covered = {case.command for case in CASES[module]} | INLINE.get(module, set())
        assert (prompts & table) - covered == set(), f"{module}: prompt commands without a case"


ALL = [(module, case) for module in MODULES for case in CASES[module]
       if case.command in load_module(module).commands.names()]


@pytest.mark.parametrize(("module", "case"), ALL, ids=[f"{m}:{c.line.split('=')[0]}{'^Z' if c.end else ''}"
                                                      for m, c in ALL])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), cuts=st.lists(st.integers(0, 300), max_size=5))
def test_cr_and_crlf_give_the_same_payload_and_output(module: str, case: Case, data, cuts: list[int]) -> None:
    if case.json:
        text = data.draw(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e,
                                               blacklist_characters='"\\'), max_size=40))
        payload = json.dumps({"v": text}).encode()
    elif case.text:
        payload = data.draw(st.text("abcXYZ 0123.,:-", min_size=1, max_size=60)).encode()
    else:
        payload = data.draw(st.binary(min_size=1, max_size=60).map(
            lambda b: bytes(x for x in b if x not in case.alphabet) or b"x"))
    cr = _drive(module, case, b"\r", payload, cuts)
    crlf = _drive(module, case, b"\r\n", payload, cuts)
    assert cr == crlf
    sent = [getattr(e, "data", getattr(e, "payload", None)) for e in cr[1]]
    sent = [p for p in sent if isinstance(p, bytes)]
    if case.json:  # the platform gets the JSON values (inside its own envelope)
        assert any(json.dumps(text)[1:-1].encode() in p for p in sent), sent
    elif case.exact:
        assert b"".join(sent) == payload
    if case.tail:
        assert cr[0].endswith(b"AT\r\r\nOK\r\n")  # nothing left over prefixes the next command
    else:
        assert cr[0].endswith(b"\r\nCONNECT\r\n")  # the data phase is still on
