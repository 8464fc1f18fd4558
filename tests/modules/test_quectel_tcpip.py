"""The AT+QI* feature alone (sans-IO Modem): formats, state, URC rules, timers on the virtual
clock. Network answers are fed as the stimuli the socket executor would send."""

from __future__ import annotations

import pytest

from emulator.core.modem import Modem
from emulator.core.stimuli import NetworkDetach
from emulator.modules import load_module
from emulator.modules.handlers.quectel_tcpip_effects import (AcceptIncoming, CloseSocket,
                                                             OpenSocket, ResolveName, SendData,
                                                             SocketClosed, SocketData,
                                                             SocketIncoming, SocketOpened, SocketSent)


class Bench:
    def __init__(self, module: str = "bg96") -> None:
        self.modem = Modem(load_module(module))
        self.effects: list = []
        self.out = bytearray()
        self._collect()
        self.at("ATE0")

    def _collect(self) -> bytes:
        new = bytearray()
        for ev in self.modem.events():
            data = getattr(ev, "data", None)
            if isinstance(data, bytes) and type(ev).__name__ == "ToHost":
                new += data
            elif type(ev).__module__.endswith("quectel_tcpip_effects"):
                self.effects.append(ev)
        self.out += new
        return bytes(new)

    def at(self, line: str | bytes) -> bytes:
        raw = line.encode() if isinstance(line, str) else line
        self.modem.receive_data(raw + b"\r")
        return self._collect()

    def feed(self, raw: bytes) -> bytes:
        self.modem.receive_data(raw)
        return self._collect()

    def stim(self, s) -> bytes:
        self.modem.receive_stimulus(s)
        return self._collect()

    def advance(self, s: float) -> bytes:
        self.modem.advance(s)
        return self._collect()

    def last(self, kind):
        return [e for e in self.effects if isinstance(e, kind)][-1]

    def open(self, conn: int = 0, access: int = 0, service: str = "TCP", host: str = "echo.example.com",
             port: int = 7, lport: int = 0) -> OpenSocket:
        out = self.at(f'AT+QIOPEN=1,{conn},"{service}","{host}",{port},{lport},{access}')
        if access == 2:
            assert out == b""
        else:
            assert out == b"\r\nOK\r\n"
        eff = self.last(OpenSocket)
        assert (eff.conn_id, eff.service, eff.host, eff.port) == (conn, service, host, port)
        return eff


def test_qicsgp_qiact_qideact_cgpaddr():
    b = Bench("bg96")
    assert b.at("AT+QICSGP=2") == b'\r\n+QICSGP: 1,"","","",0\r\n\r\nOK\r\n'
    assert b.at('AT+QICSGP=2,1,"internet","bob","pw",2') == b"\r\nOK\r\n"
    assert b.at("AT+QICSGP=2") == b'\r\n+QICSGP: 1,"internet","bob","pw",2\r\n\r\nOK\r\n'
    assert b.at('AT+QICSGP=2,4,"x"') == b"\r\nERROR\r\n"
    assert b.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 552, invalid parameters\r\n\r\nOK\r\n"
    assert b.at('AT+QICSGP=17,1,"x"') == b"\r\nERROR\r\n"
    assert b.at("AT+QIACT=2") == b"\r\nOK\r\n"
    out = b.at("AT+QIACT?")
    assert b'+QIACT: 2,1,1,"10.2.0.2"' in out
    assert b'+QIACT: 1,1,2,"2001:2D8:13B1:4A65:0:0:A248:8002"' in out  # BG96 default: IPv6
    assert b'+CGPADDR: 2,"10.2.0.2"' in b.at("AT+CGPADDR")
    assert b.at("AT+QIDEACT=2") == b"\r\nOK\r\n"
    assert b"+QIACT: 2" not in b.at("AT+QIACT?")
    assert b"+CGPADDR: 2" not in b.at("AT+CGPADDR")


def test_qiopen_ok_then_urc_and_state():
    b = Bench("bg96")
    eff = b.open(3)
    assert eff.modem_ip == "2001:2D8:13B1:4A65:0:0:A248:8002"
    assert b.at("AT+QISTATE=1,3") == b'\r\n+QISTATE: 3,"TCP","echo.example.com",7,0,1,1,0,0,"uart1"\r\n\r\nOK\r\n'
    assert b.stim(SocketOpened(3, eff.gen, 0, local_port=40000)) == b"\r\n+QIOPEN: 3,0\r\n"
    assert b'+QISTATE: 3,"TCP","echo.example.com",7,40000,2,1,0,0,"uart1"' in b.at("AT+QISTATE?")
    assert b.at("AT+QISTATE=0,1").count(b"+QISTATE:") == 1
    assert b.at("AT+QISTATE=0,2") == b"\r\nOK\r\n"
    # the same id again: OK then 563; out of range: ERROR
    assert b.at('AT+QIOPEN=1,3,"TCP","echo.example.com",7') == b"\r\nOK\r\n\r\n+QIOPEN: 3,563\r\n"
    assert b.at('AT+QIOPEN=1,12,"TCP","echo.example.com",7') == b"\r\nERROR\r\n"
    assert b.at('AT+QIOPEN=1,,"TCP","echo.example.com",7') == b"\r\nERROR\r\n"
    assert b"552" in b.at("AT+QIGETERROR")
    assert b.at('AT+QIOPEN=1,4,"SCTP","h",7') == b"\r\nERROR\r\n"
    assert b.at('AT+QIOPEN=1,4,"TCP","h",0') == b"\r\nERROR\r\n"
    assert b.at("AT+QICLOSE=3") == b"\r\nOK\r\n"  # BG96 manual: just OK
    assert b.last(CloseSocket) == CloseSocket(3, eff.gen)


def test_open_failure_frees_the_id_and_late_answers_are_ignored():
    b = Bench("bg96")
    eff = b.open(0)
    assert b.stim(SocketOpened(0, eff.gen, 565)) == b"\r\n+QIOPEN: 0,565\r\n"
    assert b"565, DNS parse failed" in b.at("AT+QIGETERROR")
    eff2 = b.open(0)
    assert eff2.gen != eff.gen
    assert b.stim(SocketOpened(0, eff.gen, 0)) == b""  # stale generation
    assert b.last(CloseSocket) == CloseSocket(0, eff.gen)


def test_open_timeout_on_the_virtual_clock():
    b = Bench("bg96")
    eff = b.open(1)
    assert b.advance(149) == b""
    assert b.advance(1.5) == b"\r\n+QIOPEN: 1,566\r\n"
    assert b.last(CloseSocket) == CloseSocket(1, eff.gen)
    assert b.stim(SocketOpened(1, eff.gen, 0)) == b""  # too late: closed again
    assert b.at("AT+QISTATE?") == b"\r\nOK\r\n"


def _connected(b: Bench, conn: int = 0, access: int = 0) -> OpenSocket:
    eff = b.open(conn, access)
    assert b.stim(SocketOpened(conn, eff.gen, 0, local_port=5000)).endswith(f"+QIOPEN: {conn},0\r\n".encode())
    return eff


def test_buffer_mode_one_urc_per_transition_and_qird_totals():
    b = Bench("bg96")
    eff = _connected(b)
    assert b.stim(SocketData(0, eff.gen, b"hello")) == b'\r\n+QIURC: "recv",0\r\n'
    assert b.stim(SocketData(0, eff.gen, b" world")) == b""  # not drained yet: no second URC
    assert b.at("AT+QIRD=0,4") == b"\r\n+QIRD: 4\r\nhell\r\n\r\nOK\r\n"
    assert b.stim(SocketData(0, eff.gen, b"!")) == b""  # still not drained
    assert b.at("AT+QIRD=0") == b"\r\n+QIRD: 8\r\no world!\r\n\r\nOK\r\n"
    assert b.at("AT+QIRD=0") == b"\r\n+QIRD: 0\r\n\r\nOK\r\n"
    assert b.at("AT+QIRD=0,0") == b"\r\n+QIRD: 12,12,0\r\n\r\nOK\r\n"
    assert b.stim(SocketData(0, eff.gen, b"x")) == b'\r\n+QIURC: "recv",0\r\n'  # new transition
    assert b.at("AT+QIRD=0,0") == b"\r\n+QIRD: 13,12,1\r\n\r\nOK\r\n"
    assert b.at("AT+QIRD=5") == b"\r\nERROR\r\n"


def test_urc_while_a_command_runs_is_held_until_its_result():
    b = Bench("bg96")
    eff = _connected(b)
    b.feed(b"AT+QISEND=0\r")
    assert b.out.endswith(b"\r\n> ")
    assert b.stim(SocketData(0, eff.gen, b"in")) == b""
    out = b.feed(b"abc\x1a")
    assert out == b'\r\nSEND OK\r\n\r\n+QIURC: "recv",0\r\n'


def test_qisend_forms_and_totals():
    b = Bench("bg96")
    eff = _connected(b)
    assert b.feed(b"AT+QISEND=0\r") == b"\r\n> "
    assert b.feed(b"test1\x1a") == b"\r\nSEND OK\r\n"
    assert b.last(SendData) == SendData(0, eff.gen, b"test1")
    assert b.feed(b"AT+QISEND=0,4\r") == b"\r\n> "
    assert b.feed(b"t\x1ast") == b"\r\nSEND OK\r\n"  # fixed length is binary-safe
    assert b.at("AT+QISEND=0,0") == b"\r\n+QISEND: 9,0,9\r\n\r\nOK\r\n"
    b.stim(SocketSent(0, eff.gen, 9))
    assert b.at("AT+QISEND=0,0") == b"\r\n+QISEND: 9,9,0\r\n\r\nOK\r\n"
    assert b.at("AT+QISEND=0,1461") == b"\r\nERROR\r\n"
    # ESC cancels: nothing sent, OK, 571 for QIGETERROR
    n = len(b.effects)
    assert b.feed(b"AT+QISEND=0\r") == b"\r\n> "
    assert b.feed(b"nope\x1b") == b"\r\nOK\r\n"
    assert not [e for e in b.effects[n:] if isinstance(e, SendData)]
    assert b"571" in b.at("AT+QIGETERROR")
    # Ctrl+Z mode longer than 1460 bytes: ERROR, port still fine
    b.feed(b"AT+QISEND=0\r")
    assert b.feed(b"x" * 1500 + b"\x1a").endswith(b"\r\nERROR\r\n")
    assert b.at("AT") == b"\r\nOK\r\n"
    assert b.at("AT+QISENDEX=0,\"414243\"") == b"\r\nSEND OK\r\n"
    assert b.last(SendData).data == b"ABC"
    assert b.at("AT+QISENDEX=0,41424") == b"\r\nERROR\r\n"
    assert b.at("AT+QISENDEX=0,zz") == b"\r\nERROR\r\n"


def test_data_longer_than_announced_is_a_new_garbage_line():
    b = Bench("bg96")
    eff = _connected(b)
    b.feed(b"AT+QISEND=0,4\r")
    assert b.feed(b"testEXTRA\r") == b"\r\nSEND OK\r\n\r\nERROR\r\n"
    assert b.last(SendData) == SendData(0, eff.gen, b"test")
    assert b.at("AT") == b"\r\nOK\r\n"


def test_peer_close_then_send_is_error_567():
    b = Bench("bg96")
    eff = _connected(b)
    b.stim(SocketData(0, eff.gen, b"bye"))
    assert b.stim(SocketClosed(0, eff.gen)) == b'\r\n+QIURC: "closed",0\r\n'
    assert b.stim(SocketClosed(0, eff.gen)) == b""  # once
    assert b.at("AT+QISEND=0,3") == b"\r\nERROR\r\n"
    assert b.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 567, socket has been closed\r\n\r\nOK\r\n"
    assert b.at("AT+QIRD=0") == b'\r\n+QIRD: 3\r\nbye\r\n\r\nOK\r\n'  # unread data survives
    assert b",4,1,0,0," in b.at("AT+QISTATE=1,0")
    assert b.at("AT+QICLOSE=0") == b"\r\nOK\r\n"
    assert b.at("AT+QISEND=0,3") == b"\r\nERROR\r\n"


def test_push_mode_text_and_viewmode():
    b = Bench("bg96")
    eff = _connected(b, access=1)
    assert b.stim(SocketData(0, eff.gen, b"test")) == b'\r\n+QIURC: "recv",0,4\r\ntest\r\n'
    assert b.at('AT+QICFG="viewmode",1') == b"\r\nOK\r\n"
    assert b.stim(SocketData(0, eff.gen, b"ab")) == b'\r\n+QIURC: "recv",0,2,ab\r\n'
    assert b.at("AT+QIRD=0,0") == b"\r\n+QIRD: 6,6,0\r\n\r\nOK\r\n"


def test_ec800e_guide_shapes_hex_push_inline_send_close_ok():
    b = Bench("ec800e")
    assert b.at('AT+QICFG="dataformat",1,1') == b"\r\nOK\r\n"
    assert b.at('AT+QICFG="dataformat"') == b'\r\n+QICFG: "dataformat",1,1\r\n\r\nOK\r\n'
    out = b.at('AT+QIOPEN=0,0,"TCP","tcp.ctwing.cn",8996,0,1')  # context 0, as the guide types it
    assert out == b"\r\nOK\r\n"
    eff = b.last(OpenSocket)
    assert eff.modem_ip == "100.101.185.160"
    assert b.stim(SocketOpened(0, eff.gen, 0)) == b"\r\n+QIOPEN: 0,0\r\n"
    assert b.stim(SocketData(0, eff.gen, bytes.fromhex("050000"))) == b'\r\n+QIURC: "recv",0,3,\r\n050000\r\n'
    assert b.at('AT+QISEND=0,14,"02000b68656c6c6f20776f726c64"') == b"\r\nOK\r\n\r\nSEND OK\r\n"
    assert b.last(SendData).data == b"\x02\x00\x0bhello world"
    assert b.at('AT+QISEND=0,15,"02000b68656c6c6f20776f726c64"') == b"\r\nERROR\r\n"
    assert b.at("AT+QICLOSE=0") == b"\r\nOK\r\n\r\nCLOSE OK\r\n"


def test_hex_prompt_takes_two_chars_per_byte_and_rejects_bad_hex():
    b = Bench("ec800e")
    b.at('AT+QICFG="dataformat",1,0')
    eff = _connected(b)
    assert b.feed(b"AT+QISEND=0,2\r") == b"\r\n> "
    assert b.feed(b"4142") == b"\r\nSEND OK\r\n"
    assert b.last(SendData) == SendData(0, eff.gen, b"AB")
    b.feed(b"AT+QISEND=0,2\r")
    assert b.feed(b"41zz") == b"\r\nERROR\r\n"
    b.feed(b"AT+QISEND=0\r")
    assert b.feed(b"414\x1a") == b"\r\nERROR\r\n"
    assert b.at("AT") == b"\r\nOK\r\n"


def test_transparent_mode_guard_time_ato_and_no_carrier():
    b = Bench("bg96")
    eff = b.open(0, access=2)
    assert b.at("AT") == b""  # waits for the open to finish
    assert b.stim(SocketOpened(0, eff.gen, 0)) == b"\r\nCONNECT\r\n"
    # "AT\r" typed while the open was pending waited in the inbox: after CONNECT it is data
    b.advance(0.2)
    assert b.last(SendData).data == b"AT\r"
    assert b.stim(SocketData(0, eff.gen, b"raw\r\nbytes")) == b"raw\r\nbytes"
    assert b.feed(b"hello") == b""  # no echo in data mode
    assert b.advance(0.2) == b""
    assert b.last(SendData).data == b"hello"
    # +++ without the guard before it is data
    assert b.feed(b"x+++") == b""
    b.advance(1.5)
    assert b.last(SendData).data == b"x+++"
    assert b.feed(b"+++") == b""
    assert b.advance(0.9) == b""
    assert b.advance(0.2) == b"\r\nOK\r\n"
    assert b.at("AT") == b"\r\nOK\r\n"
    assert b.stim(SocketData(0, eff.gen, b"late")) == b'\r\n+QIURC: "recv",0\r\n'
    assert b.at("ATO") == b"\r\nCONNECT\r\n"
    assert b.advance(0) == b"late"  # the backlog follows CONNECT
    assert b.stim(SocketClosed(0, eff.gen)) == b"\r\nNO CARRIER\r\n"
    assert b.at("AT") == b"\r\nOK\r\n"
    assert b.at("ATO") == b"\r\nNO CARRIER\r\n"


def test_transparent_open_failure_is_error_and_qiswtmd():
    b = Bench("bg96")
    eff = b.open(0, access=2)
    assert b.stim(SocketOpened(0, eff.gen, 566)) == b"\r\nERROR\r\n"
    eff = _connected(b, conn=1)
    assert b.at("AT+QISWTMD=1,1") == b"\r\nOK\r\n"
    assert b.stim(SocketData(1, eff.gen, b"p")) == b'\r\n+QIURC: "recv",1,1\r\np\r\n'
    assert b.at("AT+QISWTMD=1,2") == b"\r\nCONNECT\r\n"
    assert b.stim(SocketData(1, eff.gen, b"t")) == b"t"
    b.advance(1.1)
    b.feed(b"+++")
    assert b.advance(1.1) == b"\r\nOK\r\n"
    assert b.at("AT+QISWTMD=5,2") == b"\r\nERROR\r\n"


def test_transparent_open_times_out_with_error():
    b = Bench("bg96")
    b.open(0, access=2)
    assert b.advance(151) == b"\r\nERROR\r\n"
    assert b.at("AT") == b"\r\nOK\r\n"


def test_listener_incoming_and_udp_service():
    b = Bench("ec800e")
    eff = b.open(11, service="TCP LISTENER", host="127.0.0.1", port=0, lport=2020)
    assert eff.local_port == 2020
    assert b.stim(SocketOpened(11, eff.gen, 0, local_port=2020, real_port=45555)) == b"\r\n+QIOPEN: 11,0\r\n"
    out = b.stim(SocketIncoming(11, eff.gen, 7, "127.0.0.1", 50000))
    assert out == b'\r\n+QIURC: "incoming",0,11,"127.0.0.1",50000\r\n'
    acc = b.last(AcceptIncoming)
    assert (acc.token, acc.conn_id) == (7, 0)
    state = b.at("AT+QISTATE?")
    assert b'+QISTATE: 0,"TCP INCOMING","127.0.0.1",50000,2020,2,1,11,0' in state
    assert b'+QISTATE: 11,"TCP LISTENER","127.0.0.1",0,2020,3,1,11,0' in state
    assert b.at('AT+QIOPEN=1,1,"UDP SERVICE","127.0.0.1",0,3030,0') == b"\r\nOK\r\n"
    udp = b.last(OpenSocket)
    b.stim(SocketOpened(1, udp.gen, 0, local_port=3030, real_port=40000))
    assert b.stim(SocketData(1, udp.gen, b"dg", "127.0.0.1", 6000)) == b'\r\n+QIURC: "recv",1\r\n'
    assert b.at("AT+QIRD=1") == b'\r\n+QIRD: 2,"127.0.0.1",6000\r\ndg\r\n\r\nOK\r\n'
    assert b.at("AT+QISEND=1,2") == b"\r\nERROR\r\n"  # UDP SERVICE needs the peer
    b.feed(b'AT+QISEND=1,2,"127.0.0.1",6000\r')
    assert b.feed(b"ok") == b"\r\nSEND OK\r\n"
    assert b.last(SendData) == SendData(1, udp.gen, b"ok", "127.0.0.1", 6000)


def test_incoming_connection_is_in_buffer_mode_even_on_a_push_listener():
    # "the <access_mode> will be buffer access mode" (BG96 TCP/IP AN §2.3.4)
    b = Bench("bg96")
    eff = b.open(2, access=1, service="TCP LISTENER", host="127.0.0.1", port=0, lport=2020)
    b.stim(SocketOpened(2, eff.gen, 0, local_port=2020))
    b.stim(SocketIncoming(2, eff.gen, 7, "127.0.0.1", 50000))
    inc = b.last(AcceptIncoming)
    assert b'+QISTATE: 0,"TCP INCOMING","127.0.0.1",50000,2020,2,1,2,0,' in b.at("AT+QISTATE=1,0")
    assert b.stim(SocketData(0, inc.gen, b"hi")) == b'\r\n+QIURC: "recv",0\r\n'
    assert b.at("AT+QIRD=0") == b"\r\n+QIRD: 2\r\nhi\r\n\r\nOK\r\n"
    assert b'+QISTATE: 2,"TCP LISTENER","127.0.0.1",0,2020,3,1,2,1,' in b.at("AT+QISTATE=1,2")


def test_activation_gives_an_address_of_the_configured_type():
    b = Bench("bg96")  # the SKT default context 1 is IPv6
    assert b'+QIACT: 1,1,2,"2001:' in b.at("AT+QIACT?")
    b.at("AT+QIDEACT=1")
    b.at('AT+QICSGP=1,1,"internet","","",0')
    b.at("AT+QIACT=1")
    b.at('AT+QICSGP=2,2,"v6","","",0')
    b.at("AT+QIACT=2")
    assert b.at("AT+QIACT?") == (b'\r\n+QIACT: 1,1,1,"10.1.0.2"\r\n'
                                 b'+QIACT: 2,1,2,"2001:DB8:0:2:0:0:0:2"\r\n\r\nOK\r\n')
    assert b'+CGPADDR: 1,"10.1.0.2"' in b.at("AT+CGPADDR=1")


def test_a_local_port_takes_one_listener():
    b = Bench("bg96")
    eff = b.open(1, service="TCP LISTENER", host="127.0.0.1", port=0, lport=2020)
    b.stim(SocketOpened(1, eff.gen, 0, local_port=2020, real_port=40001))
    n = len(b.effects)
    for conn, service in ((2, "TCP LISTENER"), (3, "UDP SERVICE")):
        out = b.at(f'AT+QIOPEN=1,{conn},"{service}","127.0.0.1",0,2020,0')
        assert out == f"\r\nOK\r\n\r\n+QIOPEN: {conn},574\r\n".encode()  # port busy
    assert len(b.effects) == n  # nothing was bound
    assert b.at("AT+QIGETERROR") == b"\r\n+QIGETERROR: 574, port busy\r\n\r\nOK\r\n"
    assert b.at("AT+QISTATE?").count(b"+QISTATE:") == 1
    assert b.at("AT+QICLOSE=1") == b"\r\nOK\r\n"
    b.open(2, service="UDP SERVICE", host="127.0.0.1", port=0, lport=2020)  # free again


def test_incoming_full_rejects():
    b = Bench("bg96")
    eff = b.open(0, service="TCP LISTENER", host="127.0.0.1", port=0, lport=2020)
    b.stim(SocketOpened(0, eff.gen, 0, local_port=2020))
    for i in range(1, 12):
        b.open(i)
    assert b.stim(SocketIncoming(0, eff.gen, 9, "127.0.0.1", 1)) == b'\r\n+QIURC: "incoming full"\r\n'
    assert b.last(AcceptIncoming) == AcceptIncoming(9, -1, 0)


def test_qicfg_query_and_ranges():
    b = Bench("bg96")
    assert b.at('AT+QICFG="transpktsize"') == b'\r\n+QICFG: "transpktsize",1024\r\n\r\nOK\r\n'
    assert b.at('AT+QICFG="transwaittm",5') == b"\r\nOK\r\n"
    assert b.at('AT+QICFG="transwaittm"') == b'\r\n+QICFG: "transwaittm",5\r\n\r\nOK\r\n'
    assert b.at('AT+QICFG="transwaittm",21') == b"\r\nERROR\r\n"
    assert b.at('AT+QICFG="tcp/retranscfg"') == b'\r\n+QICFG: "tcp/retranscfg",10,600\r\n\r\nOK\r\n'
    assert b.at('AT+QICFG="tcp/retranscfg",5,300') == b"\r\nOK\r\n"
    assert b.at('AT+QICFG="bogus",1') == b"\r\nERROR\r\n"
    assert b.at("AT+QISDE?") == b"\r\n+QISDE: 1\r\n\r\nOK\r\n"


def test_dnsgip_effect_and_urcs():
    b = Bench("ec800e")
    from emulator.modules.handlers.quectel_tcpip_effects import NameResolved
    assert b.at('AT+QIDNSGIP=1,"tcp.ctwing.cn"') == b"\r\nOK\r\n"
    tok = b.last(ResolveName).token
    assert b.stim(NameResolved(tok, ("180.106.148.146",))) == (
        b'\r\n+QIURC: "dnsgip",0,1,600\r\n\r\n+QIURC: "dnsgip","180.106.148.146"\r\n')
    b.at('AT+QIDNSGIP=1,"nowhere.invalid"')
    assert b.stim(NameResolved(b.last(ResolveName).token, ())) == b'\r\n+QIURC: "dnsgip",565\r\n'


def test_detach_reports_pdpdeact_and_stops_sockets():
    b = Bench("bg96")
    eff = _connected(b)
    out = b.stim(NetworkDetach())
    assert b'+QIURC: "pdpdeact",1' in out
    assert b.last(CloseSocket) == CloseSocket(0, eff.gen)
    assert b.at("AT+QISEND=0,1") == b"\r\nERROR\r\n"
    assert b.at("AT+QIDEACT=1") == b"\r\nOK\r\n"


@pytest.mark.parametrize("module", ["bg96", "ec800e"])
def test_both_profiles_have_the_commands(module):
    b = Bench(module)
    assert b.at("AT+QIOPEN=?").startswith(b'\r\n+QIOPEN: (1-16),(0-11),')


def test_qping_on_the_virtual_clock():
    from emulator.modules.handlers.quectel_tcpip_effects import NameResolved
    b = Bench("ec800e")
    assert b.at('AT+QPING=1,"echo.example.com",4,2') == b"\r\nOK\r\n"
    eff = b.last(ResolveName)
    assert eff.ping and eff.host == "echo.example.com"
    assert b.stim(NameResolved(eff.token, ("198.51.100.7",), True)) == b""
    assert b.advance(0.5) == b'\r\n+QPING: 0,"198.51.100.7",32,30,255\r\n'
    assert b.advance(1.0) == (b'\r\n+QPING: 0,"198.51.100.7",32,31,255\r\n'
                              b"\r\n+QPING: 0,2,2,0,30,31,30\r\n")
    b.at('AT+QPING=1,"203.0.113.9",3,1')
    b.stim(NameResolved(b.last(ResolveName).token, ("203.0.113.9",), False))
    assert b.advance(2.9) == b""
    assert b.advance(0.2) == b"\r\n+QPING: 569\r\n\r\n+QPING: 0,1,0,1,0,0,0\r\n"
    b.at('AT+QPING=1,"nowhere.invalid"')
    assert b.stim(NameResolved(b.last(ResolveName).token, ())) == b"\r\n+QPING: 565\r\n"
    assert b.at('AT+QPING=1,"x",0') == b"\r\nERROR\r\n"


def test_lone_pluses_after_a_pause_are_data_and_reboot_forgets_sockets():
    from emulator.core.stimuli import PowerOn
    b = Bench("bg96")
    eff = b.open(0, access=2)
    assert b.stim(SocketOpened(0, eff.gen, 0)) == b"\r\nCONNECT\r\n"
    b.advance(1.5)
    assert b.feed(b"++") == b""
    b.advance(1.1)  # guard over with only two: they were data
    assert b.last(SendData).data == b"++"
    b.modem.power_off()
    b.stim(PowerOn())
    assert b"RDY" in b.out[-200:]
    assert b.last(CloseSocket) == CloseSocket(0, eff.gen)
    b.at("ATE0")
    assert b.at("AT+QISTATE?") == b"\r\nOK\r\n"
    assert b.stim(SocketData(0, eff.gen, b"stale")) == b""
