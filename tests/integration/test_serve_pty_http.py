"""BG96 HTTP(S) client end to end through a REAL pty: ``modemu serve`` with routes to local HTTP
and HTTPS servers (Python's http.server; the HTTPS one has a certificate from a test CA).
An HTTPS GET of a file, verified with a CA uploaded by AT+QFUPL, lands in ``UFS:`` with
AT+QHTTPREADFILE and reads back with AT+QFDWL; plain HTTP GET + AT+QHTTPREAD, POST, a 404, and
a CA that did not sign the server. Bodies and checksums are computed here, not taken from the
emulator."""

from __future__ import annotations

import http.server
import importlib.util
import ssl
import sys
import threading
import time
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")
pytest.importorskip("cryptography")

_spec = importlib.util.spec_from_file_location("_serve_tls_helpers", Path(__file__).with_name("test_serve_pty_tls.py"))
_tls = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tls)  # certificates and the byte-exact pty Line of the TLS tests

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]
FIRMWARE = bytes((i * 37 + 11) % 256 for i in range(3000))  # binary, with CR LF and Ctrl+Z inside


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/fw.bin":
            self._send(200, FIRMWARE)
        elif self.path.startswith("/hello"):
            self._send(200, f"hello {self.headers.get('Host')} {self.path}".encode(), "text/plain")
        else:
            self._send(404, b"not here", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(200, self.headers.get("Content-Type", "").encode() + b"|" + body, "text/plain")


class _Server:
    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-http")
    ca, other = _tls.make_ca("modemu http CA"), _tls.make_ca("another CA")
    cert, key = _tls.issue(ca, "files.test", server=True)
    (tmp / "srv.pem").write_bytes(_tls.pem(cert))
    (tmp / "srv.key").write_bytes(_tls.key_pem(key))
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(tmp / "srv.pem", tmp / "srv.key")
    plain, secure = _Server(), _Server(sctx)
    srv = start_serve(tmp, "--module", "bg96", "--no-backends",
                      "--route", f"files.test:443=127.0.0.1:{secure.port}",
                      "--route", f"plain.test:8080=127.0.0.1:{plain.port}")
    yield {"links": srv.links, "ca": _tls.pem(ca[0]), "other": _tls.pem(other[0])}
    srv.stop(5)
    plain.close()
    secure.close()


def _line(served):
    return _tls.Line(str(served["links"] / "bg96"))


def _url(line, url: str) -> None:
    cmd = f"AT+QHTTPURL={len(url)},80".encode()
    line.ser.write(cmd + b"\r")
    line.expect(cmd + b"\r\r\nCONNECT\r\n")
    line.ser.write(url.encode())
    line.expect(b"\r\nOK\r\n")


def test_https_get_lands_in_ufs_and_reads_back(served) -> None:
    line = _line(served)
    line.at("AT+CMEE=1")
    line.at('AT+QFDEL="*"')
    ca = served["ca"]
    assert line.upload("http_ca.pem", ca).endswith(f"+QFUPL: {len(ca)},{_tls.qf_checksum(ca)}\r\n\r\nOK\r\n".encode())
    line.at('AT+QSSLCFG="cacert",1,"http_ca.pem"')
    line.at('AT+QSSLCFG="seclevel",1,1')
    line.at('AT+QHTTPCFG="sslctxid",1')
    line.at('AT+QHTTPCFG="sslctxid"', '+QHTTPCFG: "sslctxid",1')
    _url(line, "https://files.test/fw.bin")
    line.at("AT+QHTTPGET=80")
    line.expect(f"\r\n+QHTTPGET: 0,200,{len(FIRMWARE)}\r\n".encode())
    line.at('AT+QHTTPREADFILE="UFS:fw.bin",80')
    line.expect(b"\r\n+QHTTPREADFILE: 0\r\n")
    line.at('AT+QFLST="fw.bin"', f'+QFLST: "fw.bin",{len(FIRMWARE)}')
    line.ser.write(b'AT+QFDWL="fw.bin"\r')
    line.expect(b'AT+QFDWL="fw.bin"\r\r\nCONNECT\r\n' + FIRMWARE
                + f"\r\n+QFDWL: {len(FIRMWARE)},{_tls.qf_checksum(FIRMWARE)}\r\n\r\nOK\r\n".encode())


def test_https_with_a_ca_that_did_not_sign_the_server_fails(served) -> None:
    line = _line(served)
    line.at("AT+CMEE=1")
    line.upload("other_ca.pem", served["other"])
    line.at('AT+QSSLCFG="cacert",2,"other_ca.pem"')
    line.at('AT+QSSLCFG="seclevel",2,1')
    line.at('AT+QHTTPCFG="sslctxid",2')
    _url(line, "https://files.test/fw.bin")
    line.at("AT+QHTTPGET=80")
    line.expect(b"\r\n+QHTTPGET: 716\r\n")
    line.ser.write(b"AT+QHTTPREAD=80\r")
    line.expect(b"AT+QHTTPREAD=80\r\r\n+CME ERROR: 705\r\n")


def test_http_get_read_post_and_404(served) -> None:
    line = _line(served)
    line.at("AT+CMEE=1")
    _url(line, "http://plain.test:8080/hello?x=1")
    line.at("AT+QHTTPGET=80")
    body = b"hello plain.test:8080 /hello?x=1"
    line.expect(f"\r\n+QHTTPGET: 0,200,{len(body)}\r\n".encode())
    line.ser.write(b"AT+QHTTPREAD=80\r")
    line.expect(b"AT+QHTTPREAD=80\r\r\nCONNECT\r\n" + body + b"\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n")
    line.at('AT+QHTTPCFG="contenttype",1')
    _url(line, "http://plain.test:8080/post")
    line.ser.write(b"AT+QHTTPPOST=9,80,80\r")
    line.expect(b"AT+QHTTPPOST=9,80,80\r\r\nCONNECT\r\n")
    line.ser.write(b"temp=21.5")
    answer = b"text/plain|temp=21.5"
    line.expect(f"\r\nOK\r\n\r\n+QHTTPPOST: 0,200,{len(answer)}\r\n".encode())
    line.at('AT+QHTTPCFG="responseheader",1')
    line.ser.write(b"AT+QHTTPREAD\r")
    line.expect(b"AT+QHTTPREAD\r\r\nCONNECT\r\nHTTP/1.1 200 OK\r\n")
    deadline = time.monotonic() + 5
    while not line.buf.endswith(b"+QHTTPREAD: 0\r\n") and time.monotonic() < deadline:
        line.buf += line.ser.read(max(1, line.ser.in_waiting))
    head, _, rest = line.buf.partition(b"\r\n\r\n")
    assert b"Content-Length: %d" % len(answer) in head
    assert rest == answer + b"\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n"
    line.buf = b""
    line.at('AT+QHTTPCFG="responseheader",0')
    _url(line, "http://plain.test:8080/missing")
    line.at("AT+QHTTPGET")
    line.expect(b"\r\n+QHTTPGET: 0,404,8\r\n")
    _url(line, "http://nowhere.test/")
    line.at("AT+QHTTPGET")
    line.expect(b"\r\n+QHTTPGET: 714\r\n")
