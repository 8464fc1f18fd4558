"""WM-N400MSE AT+WSOC* and AMM5918K AT@SOCK*6 / AT@DNSQ6, sans-IO: every form, its error answer,
and the effects handed to the socket executor (stimuli stand in for the network side)."""

from __future__ import annotations

import pytest

from emulator.modules.handlers.quectel_tcpip_effects import (CloseSocket, NameResolved, OpenSocket, ResolveName,
                                                             SendData, SocketClosed, SocketData, SocketOpened)
from emulator.testing.sansio import make_harness


def _last(h, kind):
    return [e for e in h.other if isinstance(e, kind)][-1]


def test_wsoc_lifecycle_and_errors() -> None:
    h = make_harness("wm-n400mse", testkit=False)
    assert h.send("AT+WSOCO=0\r") == b"\r\n+WSOCO:0,0,OPEN_WAIT\r\n\r\nOK\r\n"  # not created
    assert h.send("AT+WSOCR=9,1.2.3.4,80,1,0\r") == b"\r\nERROR\r\n"
    assert h.send("AT+WSOCR=1,echo.test,7,2,1\r") == b""  # the name is resolved first
    assert h.stim(NameResolved(_last(h, ResolveName).token, ("192.0.2.7",))) == (
        b"\r\n+WSOCR:1,1,64:ff9b::c000:207/7,UDP\r\n\r\nOK\r\n")
    assert h.send("AT+WSOCO=1\r") == b"\r\n+WSOCO:1,1,OPEN_WAIT\r\n\r\nOK\r\n"
    op = _last(h, OpenSocket)
    assert (op.service, op.host, op.port) == ("UDP", "echo.test", 7)
    assert h.send("AT+WSOCR=1,echo.test,7,2,1\r") == b"\r\n+WSOCR:0,1\r\n\r\nOK\r\n"  # in use
    assert h.send("AT+WSOWR=1,2,0102\r") == b"\r\n+WSOWR:0,1\r\n\r\nOK\r\n"  # not open yet
    assert h.stim(SocketOpened(1, op.gen)) == b"\r\n+WSOCO:1,OPEN_CMPL\r\n"
    assert h.send("AT+WSOWR=1,2,0102\r") == b"\r\n+WSOWR:1,1\r\n\r\nOK\r\n"
    assert _last(h, SendData).data == b"\x01\x02"
    assert h.send("AT+WSOWR=1,2,zz\r") == b"\r\n+WSOWR:0,1\r\n\r\nOK\r\n"  # not hex
    assert h.stim(SocketData(1, op.gen, b"\xff\x00")) == b"\r\n+WSORD:1,2,FF00\r\n"
    assert h.stim(SocketClosed(1, op.gen)) == b"\r\n+WSOCL:1,CLOSE_CMPL\r\n"
    assert h.send("AT+WSOCL=1\r") == b"\r\n+WSOCL:0,1,CLOSE_WAIT\r\n\r\nOK\r\n"


def test_wsoc_guide_transcript_tcp_is_1_udp_is_2() -> None:
    """The WIZnet WM01 TCP guide's session (wiznet-iot-shield-arduino-kr, WM-N400MSE TCP guide
    §5-§9): protocol 1 is TCP, 2 UDP, 0 none; AT+WSOCL ends with +WSOCL:<id>,CLOSE_CMPL."""
    h = make_harness("wm-n400mse", testkit=False)
    assert h.send("AT+WSOCR=0,222.98.173.214,8080,0,0\r") == b"\r\nERROR\r\n"
    assert h.send("AT+WSOCR=0,222.98.173.214,8080,1,0\r") == (
        b"\r\n+WSOCR:1,0,64:ff9b::222.98.173.214/8080,TCP\r\n\r\nOK\r\n")
    assert h.send("AT+WSOCO=0\r") == b"\r\n+WSOCO:1,0,OPEN_WAIT\r\n\r\nOK\r\n"
    op = _last(h, OpenSocket)
    assert (op.service, op.host, op.port) == ("TCP", "222.98.173.214", 8080)
    assert h.stim(SocketOpened(0, op.gen)) == b"\r\n+WSOCO:0,OPEN_CMPL\r\n"
    assert h.send("AT+WSOWR=0,12,Hello Cat.M1\r") == b"\r\n+WSOWR:1,0\r\n\r\nOK\r\n"
    assert h.stim(SocketData(0, op.gen, b"Hi Cat.M1")) == b"\r\n+WSORD:0,9,Hi Cat.M1\r\n"
    assert h.send("AT+WSOCL=0\r") == b"\r\n+WSOCL:1,0,CLOSE_WAIT\r\n\r\nOK\r\n\r\n+WSOCL:0,CLOSE_CMPL\r\n"
    assert _last(h, CloseSocket).gen == op.gen
    assert h.send("AT+WSOCR=1,2001:db8::5,5683,2,1\r") == b"\r\n+WSOCR:1,1,2001:db8::5/5683,UDP\r\n\r\nOK\r\n"
    h.send("AT+WSOCO=1\r")
    assert _last(h, OpenSocket).service == "UDP"


def test_wsoc_open_failure_and_timeout() -> None:
    h = make_harness("wm-n400mse", testkit=False)
    h.send("AT+WSOCR=0,nowhere,80,1,0\r")
    assert h.stim(NameResolved(_last(h, ResolveName).token, ())) == b"\r\n+WSOCR:0,0\r\n\r\nOK\r\n"
    h.send("AT+WSOCR=0,192.0.2.9,80,1,0\r")  # nothing answers there
    h.send("AT+WSOCO=0\r")
    assert h.stim(SocketOpened(0, _last(h, OpenSocket).gen, err=566)) == b"\r\n+WSOCO:0,OPEN_FAIL\r\n"
    h.send("AT+WSOCO=0\r")  # created again: a retry opens anew
    gen = _last(h, OpenSocket).gen
    assert h.advance(15.0) == b"\r\n+WSOCO:0,OPEN_FAIL\r\n"
    assert _last(h, CloseSocket).gen == gen
    assert h.stim(SocketOpened(0, gen)) == b""  # too late: closed, nothing printed
    assert _last(h, CloseSocket).gen == gen


def test_sock6_forms_and_errors() -> None:
    h = make_harness("amm5918k", testkit=False)
    assert h.send("AT@SOCKOPEN6=5,0,0,::1,80\r") == b"\r\nERROR\r\n"
    assert h.send('AT@SOCKSND6=0,0,"x"\r') == b"\r\nOK\r\n\r\n@SOCKSND6:0,0,1\r\n"
    assert h.send("AT@SOCKCLOSE6=0\r") == b"\r\nOK\r\n\r\n@SOCKCLOSE6:0,1\r\n"
    assert h.send("AT@SOCKOPEN6=2,1,1,64:ff9b::a00:1,5683,5683\r") == b"\r\nOK\r\n"
    op = _last(h, OpenSocket)
    assert (op.conn_id, op.service, op.host, op.port) == (2, "UDP", "10.0.0.1", 5683)  # NAT64
    assert h.send("AT@SOCKSTAT6\r").split(b"\r\n")[3] == b"@SOCKSTAT6:2,1,2"  # opening
    assert h.stim(SocketOpened(2, op.gen)) == b"\r\n@SOCKOPEN6:2,0\r\n"
    assert h.send("AT@SOCKOPEN6=2,1,1,::1,1\r") == b"\r\nOK\r\n\r\n@SOCKOPEN6:2,1\r\n"  # in use
    assert h.send('AT@SOCKSND6=2,0,"a,b"\r') == b"\r\nOK\r\n\r\n@SOCKSND6:2,0,1\r\n"  # ',' not allowed
    assert h.send('AT@SOCKSND6=2,1,"0A0B"\r') == b"\r\nOK\r\n\r\n@SOCKSND6:2,2,0\r\n"
    assert _last(h, SendData).data == b"\n\x0b"
    assert h.stim(SocketData(2, op.gen, b"abc")) == b"\r\n@SOCKRCV6=2,1,3,616263\r\n"
    assert h.stim(SocketClosed(2, op.gen)) == b"\r\n@SOCKCLOSE6:2,0\r\n"
    assert h.send("AT@SOCKSTAT6\r").split(b"\r\n")[3] == b"@SOCKSTAT6:2,0,0"


def test_dnsq6_prefers_ipv6_and_synthesises_dns64() -> None:
    h = make_harness("amm5918k", testkit=False)
    assert h.send("AT@DNSQ6=www.example.com\r") == b"\r\nOK\r\n"
    assert h.stim(NameResolved(1, ("192.0.2.1", "2001:db8::1"))) == b"\r\n@DNSQ6:2001:db8::1\r\n"
    # RFC 6052 §2.2: 192.0.2.33 in 64:ff9b::/96 is 64:ff9b::c000:221
    assert h.stim(NameResolved(2, ("192.0.2.33",))) == b"\r\n@DNSQ6:64:ff9b::c000:221\r\n"
    assert h.stim(NameResolved(3, ())) == b"\r\n@DNSQ6:FAIL\r\n"
    h.send("AT@SOCKOPEN6=1,0,0,64:ff9b::c000:221,80\r")
    assert [e for e in h.other if isinstance(e, OpenSocket)][-1].host == "192.0.2.33"  # NAT64


def test_vendor_socket_data_is_radio_traffic() -> None:
    h = make_harness("amm5918k", testkit=False)
    h.send("AT+CSCON=1\r")
    h.send("AT@SOCKOPEN6=0,0,0,::1,7\r")
    h.stim(SocketOpened(0, _last(h, OpenSocket).gen))
    h.advance(60.0)
    assert h.modem.state.radio.rrc == 0
    assert h.send('AT@SOCKSND6=0,0,"hi"\r') == b"\r\nOK\r\n\r\n@SOCKSND6:0,2,0\r\n\r\n+CSCON: 1\r\n"


# per dialect: the module, the lines that open socket 1 and close it, the open and data URCs
DIALECTS = {
    "amm5918k": (("AT@SOCKOPEN6=1,0,0,::1,80",), ("AT@SOCKCLOSE6=1",), b"@SOCKOPEN6:1,0", b"@SOCKRCV6=1,0,1,y"),
    "wm-n400mse": (("AT+WSOCR=1,1.2.3.4,80,1,0", "AT+WSOCO=1"), ("AT+WSOCL=1",), b"+WSOCO:1,OPEN_CMPL",
                   b"+WSORD:1,1,y"),
}


@pytest.mark.parametrize("module", DIALECTS)
def test_a_stale_generation_is_ignored_by_both_dialects(module: str) -> None:
    """A socket closed and opened again under the same id: the old connection's late stimuli
    print nothing (a late successful open is closed again), the new one's go through (the shared
    socket table's ``live`` and ``opening``)."""
    open_lines, close_lines, opened, received = DIALECTS[module]
    h = make_harness(module, testkit=False)
    for line in open_lines:
        h.send(line + "\r")
    old = _last(h, OpenSocket).gen
    h.stim(SocketOpened(1, old))
    for line in (*close_lines, *open_lines):
        h.send(line + "\r")
    new = _last(h, OpenSocket).gen
    closes = len([e for e in h.other if isinstance(e, CloseSocket)])
    assert new != old and h.stim(SocketOpened(1, old)) == b""
    assert [e.gen for e in h.other if isinstance(e, CloseSocket)][closes:] == [old]
    assert h.stim(SocketOpened(1, new)) == b"\r\n" + opened + b"\r\n"
    assert h.stim(SocketData(1, old, b"x")) == b"" and h.stim(SocketClosed(1, old)) == b""
    assert h.stim(SocketData(1, new, b"y")) == b"\r\n" + received + b"\r\n"
