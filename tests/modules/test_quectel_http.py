"""AT+QHTTP*, sans-IO: configuration forms, the URL data phase (any split of the bytes), its
errors (711 URL, 726 input timeout), the request effect the module builds, the result URCs,
READ/READFILE framing and the busy / no-request / deactivated answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.modules.handlers.quectel_http_effects import HttpCancel, HttpRequest, HttpResult
from emulator.testing.sansio import make_harness


def _h(module: str = "bg96"):
    h = make_harness(module, testkit=False)
    assert h.send("AT+CMEE=1\r") == b"\r\nOK\r\n"
    return h


def _url(h, url: bytes) -> bytes:
    assert h.send(b"AT+QHTTPURL=%d,10\r" % len(url)) == b"\r\nCONNECT\r\n"
    return h.send(url)


def _req(h) -> HttpRequest:
    return [e for e in h.other if isinstance(e, HttpRequest)][-1]


def test_cfg_read_set_test_and_errors() -> None:
    h = _h()
    assert h.send('AT+QHTTPCFG="contextid"\r') == b'\r\n+QHTTPCFG: "contextid",1\r\n\r\nOK\r\n'
    assert h.send('AT+QHTTPCFG="responseheader",1\r') == b"\r\nOK\r\n"
    assert h.send('AT+QHTTPCFG="responseheader"\r') == b'\r\n+QHTTPCFG: "responseheader",1\r\n\r\nOK\r\n'
    assert h.send('AT+QHTTPCFG="sslctxid",6\r') == b"\r\n+CME ERROR: 730\r\n"
    assert h.send('AT+QHTTPCFG="nosuch",1\r') == b"\r\n+CME ERROR: 730\r\n"
    assert h.send("AT+QHTTPURL=?\r") == b"\r\n+QHTTPURL: (1-700),(1-65535)\r\n\r\nOK\r\n"
    assert h.send("AT+QHTTPGET=?\r") == b"\r\n+QHTTPGET: (1-65535),(1-2048),(1-65535)\r\n\r\nOK\r\n"
    assert h.send("AT+QHTTPREAD=?\r") == b"\r\n+QHTTPREAD: (1-65535)\r\n\r\nOK\r\n"


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_url_bytes_split_anywhere(data) -> None:
    h = _h()
    url = b"https://files.example.com:8443/a/b.bin?x=1&y=2"
    cuts = sorted(data.draw(st.lists(st.integers(1, len(url) - 1), max_size=4, unique=True)))
    assert h.send(b"AT+QHTTPURL=%d\r" % len(url)) == b"\r\nCONNECT\r\n"
    out = b""
    for a, b in zip([0, *cuts], [*cuts, len(url)]):
        out += h.send(url[a:b])
    assert out == b"\r\nOK\r\n"  # no echo of the URL bytes, one final result
    assert h.send("AT+QHTTPGET=5\r") == b"\r\nOK\r\n"
    req = _req(h)
    assert (req.host, req.port, req.target, req.tls is not None) == ("files.example.com", 8443, "/a/b.bin?x=1&y=2", True)


def test_url_errors_and_input_timeout() -> None:
    h = _h()
    assert _url(h, b"ftp://x.example.com/") == b"\r\n+CME ERROR: 711\r\n"
    assert h.send("AT+QHTTPGET\r") == b"\r\n+CME ERROR: 712\r\n"  # no URL yet
    assert h.send(b"AT+QHTTPURL=20,3\r") == b"\r\nCONNECT\r\n"
    h.send(b"http://x")
    assert h.advance(3.0) == b"\r\n+CME ERROR: 726\r\n"
    assert h.send("AT\r") == b"\r\nOK\r\n"  # the port works and the partial URL is gone
    assert h.send("AT+QHTTPURL?\r") == b"\r\nOK\r\n"


def test_get_builds_the_request_and_reports_the_result() -> None:
    h = _h("ec800e")
    _url(h, b"http://dev.example.com/cfg")
    assert h.send("AT+QHTTPGET=20\r") == b"\r\nOK\r\n"
    req = _req(h)
    assert (req.method, req.host, req.port, req.target, req.tls) == ("GET", "dev.example.com", 80, "/cfg", None)
    assert dict(req.headers)["Host"] == "dev.example.com"
    assert h.send("AT+QHTTPGET=20\r") == b"\r\n+CME ERROR: 703\r\n"
    assert h.send("AT+QHTTPREAD\r") == b"\r\n+CME ERROR: 703\r\n"
    assert h.stim(HttpResult(req.token + 99, 0, 200)) == b""  # not ours
    assert h.stim(HttpResult(req.token, 0, 200, "OK", (("Server", "x"),), b"{}", "1.1", None)) == b"\r\n+QHTTPGET: 0,200\r\n"
    assert h.send("AT+QHTTPREAD\r") == b"\r\nCONNECT\r\n{}\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n"
    assert h.send("AT+QHTTPREAD\r") == b"\r\n+CME ERROR: 705\r\n"


def test_post_and_timeout_and_stop() -> None:
    h = _h()
    assert h.send('AT+QHTTPCFG="contenttype",2\r') == b"\r\nOK\r\n"
    _url(h, b"http://dev.example.com/up")
    assert h.send("AT+QHTTPPOST=4,5,7\r") == b"\r\nCONNECT\r\n"
    assert h.send(b"\x00\x1a\r\n") == b"\r\nOK\r\n"
    req = _req(h)
    assert req.method == "POST" and req.body == b"\x00\x1a\r\n"
    assert dict(req.headers)["Content-Type"] == "application/octet-stream"
    assert dict(req.headers)["Content-Length"] == "4"
    assert h.advance(7.0) == b"\r\n+QHTTPPOST: 702\r\n"
    assert [e for e in h.other if isinstance(e, HttpCancel)][-1].token == req.token
    assert h.stim(HttpResult(req.token, 0, 200)) == b""  # too late
    assert h.send("AT+QHTTPGET\r") == b"\r\nOK\r\n"
    assert h.send("AT+QHTTPSTOP\r") == b"\r\nOK\r\n"
    assert h.advance(120.0) == b""


def test_readfile_into_ufs_and_postfile() -> None:
    h = _h()
    _url(h, b"http://dev.example.com/fw")
    h.send("AT+QHTTPGET\r")
    body = bytes(range(256)) * 4
    h.stim(HttpResult(_req(h).token, 0, 200, "OK", (), body, "1.1", len(body)))
    assert h.send('AT+QHTTPREADFILE="bad/name"\r') == b"\r\n+CME ERROR: 406\r\n"
    assert h.send('AT+QHTTPREADFILE="UFS:fw.bin"\r') == b"\r\nOK\r\n\r\n+QHTTPREADFILE: 0\r\n"
    assert h.send('AT+QFLST="fw.bin"\r') == b'\r\n+QFLST: "fw.bin",1024\r\n\r\nOK\r\n'
    assert h.send('AT+QHTTPPOSTFILE="nosuch.bin"\r') == b"\r\n+CME ERROR: 405\r\n"
    assert h.send('AT+QHTTPPOSTFILE="fw.bin",30\r') == b"\r\nOK\r\n"
    req = _req(h)
    assert req.method == "POST" and req.body == body
    assert h.stim(HttpResult(req.token, 0, 204, "No Content", (("Content-Length", "0"),), b"", "1.1", 0)) == (
        b"\r\n+QHTTPPOSTFILE: 0,204,0\r\n")
    # a file open by AT+QFOPEN is not replaced under its handle (426, as AT+QFDEL); the body stays readable
    h.send("AT+QHTTPGET\r")
    h.stim(HttpResult(_req(h).token, 0, 200, "OK", (), b"new", "1.1", 3))
    assert h.send('AT+QFOPEN="fw.bin",2\r') == b"\r\n+QFOPEN: 1\r\n\r\nOK\r\n"
    assert h.send('AT+QHTTPREADFILE="fw.bin"\r') == b"\r\nOK\r\n\r\n+QHTTPREADFILE: 426\r\n"
    assert h.send('AT+QFLST="fw.bin"\r') == b'\r\n+QFLST: "fw.bin",1024\r\n\r\nOK\r\n'
    assert h.send("AT+QFCLOSE=1\r") == b"\r\nOK\r\n"
    assert h.send('AT+QHTTPREADFILE="fw.bin"\r') == b"\r\nOK\r\n\r\n+QHTTPREADFILE: 0\r\n"
    assert h.send('AT+QFLST="fw.bin"\r') == b'\r\n+QFLST: "fw.bin",3\r\n\r\nOK\r\n'


def test_inactive_context_is_709() -> None:
    h = _h()
    assert h.send('AT+QHTTPCFG="contextid",3\r') == b"\r\nOK\r\n"
    _url(h, b"http://dev.example.com/")
    assert h.send("AT+QHTTPGET\r") == b"\r\nOK\r\n\r\n+QHTTPGET: 709\r\n"


def test_a_request_is_uplink_traffic() -> None:
    h = _h()
    _url(h, b"http://dev.example.com/")
    assert h.send("AT+CSCON=1\r") == b"\r\nOK\r\n"
    h.advance(60.0)  # the attach's RRC connection was released long ago
    assert h.modem.state.radio.rrc == 0
    out = h.send("AT+QHTTPGET\r")
    assert out == b"\r\nOK\r\n\r\n+CSCON: 1\r\n" and h.modem.state.radio.rrc == 1
