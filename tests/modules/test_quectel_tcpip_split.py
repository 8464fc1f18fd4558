"""How the host's bytes are chunked must not matter: AT+QISEND data, hex prompts and the
transparent stream give the same socket bytes and the same serial output at every split
(hypothesis). Sans-IO: the Modem alone, network answers fed as stimuli."""

from __future__ import annotations

import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.quectel_tcpip_effects import OpenSocket, SendData, SocketData, SocketOpened


def _modem(module: str = "bg96", access: int = 0, hexmode: bool = False) -> tuple[Modem, int]:
    m = Modem(load_module(module))
    m.receive_data(b"ATE0\r")
    if hexmode:
        m.receive_data(b'AT+QICFG="dataformat",1,1\r')
    m.receive_data(f'AT+QIOPEN=1,0,"TCP","echo.example.com",7,0,{access}\r'.encode())
    gen = [e for e in m.events() if isinstance(e, OpenSocket)][0].gen
    m.receive_stimulus(SocketOpened(0, gen, 0))
    m.events()
    return m, gen


def _feed_split(m: Modem, data: bytes, cuts: list[int]) -> tuple[bytes, list[bytes]]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    prev = 0
    for p in points + [len(data)]:
        m.receive_data(data[prev:p])
        prev = p
    m.advance(0.5)
    out, sent = bytearray(), []
    for ev in m.events():
        if isinstance(ev, SendData):
            sent.append(ev.data)
        elif type(ev).__name__ == "ToHost":
            out += ev.data
    return bytes(out), sent


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(min_size=1, max_size=200), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_fixed_length_send_is_split_proof(payload, cuts):
    m, gen = _modem()
    stream = f"AT+QISEND=0,{len(payload)}\r".encode() + payload + b"AT\r"
    out, sent = _feed_split(m, stream, cuts)
    assert sent == [payload]
    assert out == b"\r\n> \r\nSEND OK\r\n\r\nOK\r\n"


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(min_size=1, max_size=120), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_hex_prompt_is_split_proof(payload, cuts):
    m, gen = _modem("ec800e", hexmode=True)
    stream = f"AT+QISEND=0,{len(payload)}\r".encode() + binascii.hexlify(payload) + b"AT\r"
    out, sent = _feed_split(m, stream, cuts)
    assert sent == [payload]
    assert out == b"\r\n> \r\nSEND OK\r\n\r\nOK\r\n"


@settings(max_examples=60, deadline=None)
@given(payload=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 4000), max_size=10))
def test_transparent_stream_is_split_proof_and_packed(payload, cuts):
    m, gen = _modem(access=0)
    m.receive_data(b"AT+QISWTMD=0,2\r")
    assert b"CONNECT" in b"".join(e.data for e in m.events() if type(e).__name__ == "ToHost")
    out, sent = _feed_split(m, payload, cuts)  # no pause >= 1 s: "+++" inside is plain data
    assert out == b""
    assert b"".join(sent) == payload
    assert all(len(chunk) <= 1024 for chunk in sent)  # transpktsize


@settings(max_examples=40, deadline=None)
@given(payload=st.binary(min_size=1, max_size=300))
def test_push_hex_urc_carries_every_byte(payload):
    m, gen = _modem("ec800e", access=1, hexmode=True)
    m.receive_stimulus(SocketData(0, gen, payload))
    out = b"".join(e.data for e in m.events() if type(e).__name__ == "ToHost")
    head = f'\r\n+QIURC: "recv",0,{len(payload)},\r\n'.encode()
    assert out.startswith(head) and out.endswith(b"\r\n")
    assert binascii.unhexlify(out[len(head):-2]) == payload
