"""AT+QSSL* byte-exact, sans-IO: every AT+QSSLCFG key and form, the open/send/receive/state/
close cycle in buffer and push mode with the executor's answers fed as stimuli, the certificate
bytes an open hands to the executor, and the errors."""

from __future__ import annotations

import datetime

import pytest

from emulator.modules.handlers.quectel_ssl_effects import (TlsClose, TlsClosed, TlsData, TlsOpen, TlsOpened,
                                                           TlsSend)
from emulator.core.stimuli import NetworkDetach
from emulator.testing.sansio import make_harness

OK = b"\r\nOK\r\n"
ERR = b"\r\nERROR\r\n"


def ok(*lines: str) -> bytes:
    return b"".join(f"\r\n{ln}\r\n".encode() for ln in lines) + OK


@pytest.fixture(params=["bg96", "ec800e"])
def h(request):
    h = make_harness(request.param, testkit=False)
    assert h.send("AT+QIACT=1\r") == OK
    return h


def effects(h, kind):
    found = [e for e in h.other if isinstance(e, kind)]
    h.other.clear()
    return found


DEFAULTS = [("sslversion", "4"), ("ciphersuite", "0XFFFF"), ("cacert", '""'), ("clientcert", '""'),
            ("clientkey", '""'), ("seclevel", "0"), ("sni", "0"), ("checkhost", "0"),
            ("ignorecertchain", "0"), ("ignorelocaltime", "1"), ("negotiatetime", "300")]


@pytest.mark.parametrize("key,value", DEFAULTS)
def test_qsslcfg_defaults_read_back(h, key, value):
    assert h.send(f'AT+QSSLCFG="{key}",5\r') == ok(f'+QSSLCFG: "{key}",5,{value}')


@pytest.mark.parametrize("key,arg,shown", [
    ("sslversion", "3", "3"), ("ciphersuite", "0x0035", "0X0035"), ("ciphersuite", "0XC02F", "0XC02F"),
    ("cacert", '"UFS:ca.pem"', '"UFS:ca.pem"'), ("clientcert", '"c.pem"', '"c.pem"'),
    ("clientkey", '"c.key"', '"c.key"'), ("seclevel", "2", "2"), ("sni", "1", "1"), ("checkhost", "1", "1"),
    ("checkhost", '"api.example.com"', '"api.example.com"'), ("ignorecertchain", "1", "1"),
    ("ignorelocaltime", "0", "0"), ("negotiatetime", "60", "60"),
])
def test_qsslcfg_write_then_read(h, key, arg, shown):
    assert h.send(f'AT+QSSLCFG="{key}",1,{arg}\r') == OK
    assert h.send(f'AT+QSSLCFG="{key}",1\r') == ok(f'+QSSLCFG: "{key}",1,{shown}')
    assert h.send(f'AT+QSSLCFG="{key}",2\r') == ok(f'+QSSLCFG: "{key}",2,{dict(DEFAULTS)[key]}')  # per context


@pytest.mark.parametrize("line", [
    'AT+QSSLCFG="sslversion",6,1', 'AT+QSSLCFG="sslversion",1,5', 'AT+QSSLCFG="ciphersuite",1,0x1234',
    'AT+QSSLCFG="ciphersuite",1,"zz"', 'AT+QSSLCFG="seclevel",1,3', 'AT+QSSLCFG="negotiatetime",1,9',
    'AT+QSSLCFG="negotiatetime",1,301', 'AT+QSSLCFG="nosuchkey",1,1', 'AT+QSSLCFG="sni",1,1,1',
])
def test_qsslcfg_bad_values(h, line):
    assert h.send(line + "\r") == ERR


def test_qsslcfg_test_form(h):
    out = h.send("AT+QSSLCFG=?\r")
    assert out.startswith(b'\r\n+QSSLCFG: "sslversion",(0-5),(0-4)\r\n+QSSLCFG: "ciphersuite",(0-5),(0X0035,')
    assert out.endswith(b'+QSSLCFG: "negotiatetime",(0-5),(10-300)\r\n' + OK)


def test_settings_do_not_survive_a_reboot(h):
    h.send('AT+QSSLCFG="sni",1,1\r')
    h.send("AT+CFUN=1,1\r")
    h.advance(30)
    h.send("ATE0\r")
    assert h.send('AT+QSSLCFG="sni",1\r') == ok('+QSSLCFG: "sni",1,0')


def _open(h, cid=4, access=0, ctx=1):
    h.other.clear()
    assert h.send(f'AT+QSSLOPEN=1,{ctx},{cid},"tls.example.com",4243,{access}\r') == OK
    (effect,) = effects(h, TlsOpen)
    assert (effect.client_id, effect.host, effect.port) == (cid, "tls.example.com", 4243)
    assert h.stim(TlsOpened(cid, effect.gen, 0)) == f"\r\n+QSSLOPEN: {cid},0\r\n".encode()
    return effect


def test_buffer_mode_cycle(h):
    effect = _open(h)
    assert h.send("AT+QSSLSTATE\r") == ok('+QSSLSTATE: 4,"SSLClient","tls.example.com",4243,0,2,1,4,0,"uart1",1')
    assert h.send("AT+QSSLSTATE=1,4\r") == h.send("AT+QSSLSTATE=4\r")
    assert h.send("AT+QSSLSTATE=3\r") == OK
    assert h.send("AT+QSSLSEND=4,5\r") == b"\r\n> "
    assert h.send(b"h\x1a\x1b\r\n") == b"\r\nSEND OK\r\n"  # fixed length: Ctrl+Z, ESC, CR LF are data
    (sent,) = effects(h, TlsSend)
    assert (sent.client_id, sent.gen, sent.data) == (4, effect.gen, b"h\x1a\x1b\r\n")
    assert h.send("AT+QSSLSEND=4\r") == b"\r\n> "
    assert h.send(b"ctrl-z\x1a") == b"\r\nSEND OK\r\n"
    assert effects(h, TlsSend)[0].data == b"ctrl-z"
    assert h.send("AT+QSSLSEND=4\r") == b"\r\n> "
    assert h.send(b"never\x1b") == OK  # ESC: nothing sent
    assert effects(h, TlsSend) == []
    assert h.stim(TlsData(4, effect.gen, b"abc")) == b'\r\n+QSSLURC: "recv",4\r\n'
    assert h.stim(TlsData(4, effect.gen, b"def")) == b""  # one URC until the buffer is drained
    assert h.send("AT+QSSLRECV=4,0\r") == ok("+QSSLRECV: 6,0,6")
    assert h.send("AT+QSSLRECV=4,4\r") == b"\r\n+QSSLRECV: 4\r\nabcd\r\n" + OK
    assert h.send("AT+QSSLRECV=4\r") == b"\r\n+QSSLRECV: 2\r\nef\r\n" + OK
    assert h.send("AT+QSSLRECV=4,1500\r") == ok("+QSSLRECV: 0")
    assert h.stim(TlsData(4, effect.gen, b"x")) == b'\r\n+QSSLURC: "recv",4\r\n'
    assert h.stim(TlsData(4, effect.gen - 1, b"stale")) == b""
    assert h.stim(TlsClosed(4, effect.gen)) == b'\r\n+QSSLURC: "closed",4\r\n'
    assert h.send("AT+QSSLSEND=4,1\r") == ERR
    assert h.send("AT+QSSLSTATE=4\r") == ok('+QSSLSTATE: 4,"SSLClient","tls.example.com",4243,0,4,1,4,0,"uart1",1')
    assert h.send("AT+QSSLRECV=4,10\r") == b"\r\n+QSSLRECV: 1\r\nx\r\n" + OK
    assert h.send("AT+QSSLCLOSE=4\r") == OK
    assert [e.client_id for e in effects(h, TlsClose)] == [4]
    assert h.send("AT+QSSLSTATE\r") == OK
    assert h.send("AT+QSSLCLOSE=4\r") == OK  # closing a closed client is fine (mbed-os closes 0..11)


def test_push_mode_data_in_the_urc(h):
    effect = _open(h, cid=2, access=1, ctx=0)
    assert h.stim(TlsData(2, effect.gen, b"\r\nraw\x00")) == b'\r\n+QSSLURC: "recv",2,6\r\n\r\nraw\x00\r\n'
    assert h.send("AT+QSSLRECV=2,10\r") == ok("+QSSLRECV: 0")


def test_open_failures(h):
    assert h.send('AT+QSSLOPEN=1,1,12,"tls.example.com",443\r') == ERR
    assert h.send('AT+QSSLOPEN=1,6,0,"tls.example.com",443\r') == ERR
    assert h.send('AT+QSSLOPEN=1,1,0,"",443\r') == ERR
    assert h.send('AT+QSSLOPEN=2,1,0,"tls.example.com",443\r') == OK + b"\r\n+QSSLOPEN: 0,561\r\n"  # PDP 2 inactive
    h.send('AT+QSSLCFG="seclevel",1,1\r')
    assert h.send('AT+QSSLOPEN=1,1,0,"tls.example.com",443\r') == OK + b"\r\n+QSSLOPEN: 0,566\r\n"  # no CA file
    h.send('AT+QSSLCFG="seclevel",1,0\r')
    h.other.clear()
    assert h.send('AT+QSSLOPEN=1,1,0,"tls.example.com",443\r') == OK
    gen = effects(h, TlsOpen)[0].gen
    assert h.send('AT+QSSLOPEN=1,1,0,"tls.example.com",443\r') == OK + b"\r\n+QSSLOPEN: 0,563\r\n"
    assert h.stim(TlsOpened(0, gen, 566)) == b"\r\n+QSSLOPEN: 0,566\r\n"
    assert h.send("AT+QSSLSTATE\r") == OK  # a failed open frees the clientID


def test_open_hands_the_uploaded_files_to_the_executor(h):
    for name, data in (("ca.pem", b"CA-PEM"), ("c.pem", b"CERT"), ("c.key", b"KEY")):
        assert h.send(f'AT+QFUPL="{name}",{len(data)}\r') == b"\r\nCONNECT\r\n"
        h.send(data)
    h.send('AT+QSSLCFG="cacert",3,"UFS:ca.pem";+QSSLCFG="clientcert",3,"c.pem";'
           '+QSSLCFG="clientkey",3,"c.key";+QSSLCFG="seclevel",3,2;+QSSLCFG="sni",3,1\r')
    h.other.clear()
    assert h.send('AT+QSSLOPEN=1,3,1,"tls.example.com",443\r') == OK
    (effect,) = effects(h, TlsOpen)
    s = effect.settings
    assert (s.cacert, s.clientcert, s.clientkey, s.seclevel, s.sni, s.missing) == (
        b"CA-PEM", b"CERT", b"KEY", 2, True, "")
    h.send('AT+QFDEL="c.key"\r')
    assert h.send('AT+QSSLOPEN=1,3,2,"tls.example.com",443\r') == OK + b"\r\n+QSSLOPEN: 2,566\r\n"


def test_transparent_mode_connect_escape_ato_and_no_carrier(h):
    h.other.clear()
    assert h.send('AT+QSSLOPEN=1,1,3,"tls.example.com",443,2\r') == b""  # no OK: CONNECT or ERROR
    (effect,) = effects(h, TlsOpen)
    assert h.stim(TlsOpened(3, effect.gen, 0)) == b"\r\nCONNECT\r\n"
    assert h.send(b"AT+QSSLSTATE\r\x1a\x1b") == b""  # the line is the TLS stream now
    assert h.advance(0.5) == b""
    assert b"".join(e.data for e in effects(h, TlsSend)) == b"AT+QSSLSTATE\r\x1a\x1b"
    assert h.stim(TlsData(3, effect.gen, b"\r\nOK\r\n")) == b"\r\nOK\r\n"  # raw, as it came
    assert h.advance(1.5) + h.send(b"+++") + h.advance(1.0) == OK  # the escape: OK, buffer mode
    assert effects(h, TlsSend) == []
    assert h.send("AT+QSSLSTATE=3\r") == ok('+QSSLSTATE: 3,"SSLClient","tls.example.com",443,0,2,1,3,0,"uart1",1')
    assert h.stim(TlsData(3, effect.gen, b"while away")) == b'\r\n+QSSLURC: "recv",3\r\n'
    assert h.send("ATO\r") == b"\r\nCONNECT\r\n"
    assert h.advance(0.1) == b"while away"  # what came meanwhile follows CONNECT
    assert h.stim(TlsClosed(3, effect.gen)) == b"\r\nNO CARRIER\r\n"
    assert h.send("AT+QSSLSTATE\r") == OK  # nothing left to AT+QSSLCLOSE
    assert h.send("ATO\r") == b"\r\nNO CARRIER\r\n"


def test_transparent_open_failures_answer_error(h):
    h.other.clear()
    assert h.send('AT+QSSLOPEN=1,1,3,"tls.example.com",443,2\r') == b""
    (effect,) = effects(h, TlsOpen)
    assert h.stim(TlsOpened(3, effect.gen, 566)) == ERR
    assert h.send('AT+QSSLOPEN=2,1,3,"tls.example.com",443,2\r') == ERR  # PDP 2 inactive
    h.send('AT+QSSLCFG="seclevel",1,1\r')
    assert h.send('AT+QSSLOPEN=1,1,3,"tls.example.com",443,2\r') == ERR  # no CA file
    h.send('AT+QSSLCFG="seclevel",1,0;+QSSLCFG="negotiatetime",1,10\r')
    h.other.clear()
    assert h.send('AT+QSSLOPEN=1,1,3,"tls.example.com",443,2\r') == b""
    assert h.advance(14.9) == b""
    assert h.advance(0.2) == ERR  # no answer at all: the module gives up (safety net)
    assert [e.client_id for e in effects(h, TlsClose)] == [3]
    assert h.send("AT+QSSLSTATE\r") == OK


def test_coverage_loss_ends_the_connections(h):
    _open(h, cid=1)
    effect = _open(h, cid=2, access=0)
    h.other.clear()
    h.send('AT+QSSLOPEN=1,1,3,"tls.example.com",443,2\r')
    (raw,) = effects(h, TlsOpen)
    assert h.stim(TlsOpened(3, raw.gen, 0)) == b"\r\nCONNECT\r\n"
    out = h.stim(NetworkDetach())
    assert out.startswith(b"\r\nNO CARRIER\r\n") and b'+QIURC: "pdpdeact",1' in out
    assert sorted(e.client_id for e in effects(h, TlsClose)) == [1, 2, 3]
    assert h.send("AT+QSSLSTATE=2\r") == ok('+QSSLSTATE: 2,"SSLClient","tls.example.com",4243,0,4,1,2,0,"uart1",1')
    assert h.stim(TlsData(2, effect.gen, b"late")) == b""
    assert h.send("AT+QSSLCLOSE=1;+QSSLCLOSE=2\r") == OK
    assert h.send("AT+QSSLSTATE\r") == OK


def test_reboot_closes_open_clients(h):
    _open(h, cid=7)
    h.send("AT+CFUN=1,1\r")
    h.advance(30)
    assert [e.client_id for e in effects(h, TlsClose)] == [7]
    h.send("ATE0\r")
    assert h.send("AT+QSSLSTATE\r") == OK


def test_open_carries_the_module_clock_for_the_certificate_dates(h):
    # "ignorelocaltime" 0 checks dates against the module's RTC (AT+CCLK moves it), not the host's
    assert h.send('AT+CCLK="30/06/01,12:00:00+00"\r') == OK
    h.advance(60)
    effect = _open(h)
    when = datetime.datetime.fromtimestamp(effect.settings.local_time, tz=datetime.timezone.utc)
    assert when.replace(microsecond=0) == datetime.datetime(2030, 6, 1, 12, 1, tzinfo=datetime.timezone.utc)
