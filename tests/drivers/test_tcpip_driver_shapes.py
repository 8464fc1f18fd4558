"""Byte shapes of the Quectel AT+QI* stack that real host drivers depend on and the module
tests do not already pin (sans-IO Modem, network answers fed as stimuli):

- Zephyr quectel-bg9x writes Ctrl+Z after a fixed-length QISEND payload (send_socket_data):
  the payload goes out exactly, the stray 0x1A starts no command line, the next command
  answers cleanly — at every split of the host's bytes (hypothesis).
- mbed-os QUECTEL_BG96 sends per block and takes the byte count from +QISEND: <total> before
  and after: the total grows by each block at once, before any ACK.
- TinyGSM's waitResponse() matches "\\r\\n+QIURC:" and "\\r\\nSEND OK": both must start with CR LF.
Must not: depend on the line-end handling of command lines (seams-core owns CR LF).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core.modem import Modem
from emulator.modules import load_module
from emulator.modules.handlers.quectel_tcpip_effects import (OpenSocket, SendData, SocketData,
                                                             SocketOpened, SocketSent)


def _connected(module: str = "bg96") -> tuple[Modem, int]:
    m = Modem(load_module(module))
    m.receive_data(b"ATE0\r")
    m.receive_data(b'AT+QIOPEN=1,0,"TCP","180.106.148.146",8996,0,0\r')
    gen = [e for e in m.events() if isinstance(e, OpenSocket)][0].gen
    m.receive_stimulus(SocketOpened(0, gen, 0))
    m.events()
    return m, gen


def _run(m: Modem, data: bytes, cuts: list[int] = ()) -> tuple[bytes, list[bytes]]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    prev = 0
    for p in points + [len(data)]:
        m.receive_data(data[prev:p])
        prev = p
    out, sent = bytearray(), []
    for ev in m.events():
        if isinstance(ev, SendData):
            sent.append(ev.data)
        elif type(ev).__name__ == "ToHost":
            out += ev.data
    return bytes(out), sent


@settings(max_examples=80, deadline=None)
@given(payload=st.binary(min_size=1, max_size=120), cuts=st.lists(st.integers(0, 300), max_size=6),
       module=st.sampled_from(["bg96", "ec800e"]))
def test_zephyr_ctrl_z_after_a_fixed_length_payload_is_dropped(payload, cuts, module):
    m, _gen = _connected(module)
    host = f"AT+QISEND=0,{len(payload)}\r".encode() + payload + b"\x1a" + b"AT+CSQ\r"
    out, sent = _run(m, host, cuts)
    assert sent == [payload]
    assert out.startswith(b"\r\n> \r\nSEND OK\r\n\r\n+CSQ: ")  # prompt, result, then the next answer
    assert out.endswith(b"\r\n\r\nOK\r\n") and b"ERROR" not in out


def test_mbed_qisend_totals_grow_per_block_before_the_ack():
    m, gen = _connected()
    out, _ = _run(m, b"AT+QISEND=0,0\r")
    assert out == b"\r\n+QISEND: 0,0,0\r\n\r\nOK\r\n"
    for block, total in ((b"A" * 1460, 1460), (b"B" * 40, 1500)):
        out, sent = _run(m, f"AT+QISEND=0,{len(block)}\r".encode() + block)
        assert out == b"\r\n> \r\nSEND OK\r\n" and sent == [block]
        out, _ = _run(m, b"AT+QISEND=0,0\r")
        assert out == f"\r\n+QISEND: {total},0,{total}\r\n\r\nOK\r\n".encode()
    m.receive_stimulus(SocketSent(0, gen, 1500))
    out, _ = _run(m, b"AT+QISEND=0,0\r")
    assert out == b"\r\n+QISEND: 1500,1500,0\r\n\r\nOK\r\n"


def test_tinygsm_sees_crlf_before_urcs_and_send_ok():
    m, gen = _connected()
    out, _ = _run(m, b"AT+QISEND=0,3\r" + b"abc")
    assert out == b"\r\n> \r\nSEND OK\r\n"       # waitResponse(AT_NL "SEND OK")
    m.receive_stimulus(SocketData(0, gen, b"xyz"))
    out, _ = _run(m, b"")
    assert out == b'\r\n+QIURC: "recv",0\r\n'   # handleURCs: data ends with AT_NL "+QIURC:"
    out, _ = _run(m, b"AT+QIRD=0,0\r")
    assert out == b"\r\n+QIRD: 3,0,3\r\n\r\nOK\r\n"  # modemGetAvailable skips two commas
    out, _ = _run(m, b"AT+QIRD=0,3\r")
    assert out == b"\r\n+QIRD: 3\r\nxyz\r\n\r\nOK\r\n"
