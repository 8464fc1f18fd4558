"""WM-N400MSE (AT+WSOC*) and AMM5918K (AT@SOCK*6, AT@DNSQ6) through REAL ptys: each opens a TCP
socket through the fake internet to a routed local echo server, sends, and reads the echo in the
module's URC, as the WIZnet IoT shield samples and guides do."""

from __future__ import annotations

import importlib.util
import socketserver
import sys
import threading
import time
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_serve_pty_helpers", Path(__file__).with_name("test_serve_pty.py"))
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)  # the pty helpers (start_server, command ...) of test_serve_pty
_link, command, open_port = _helpers._link, _helpers.command, _helpers.open_port
start_server, stop_server = _helpers.start_server, _helpers.stop_server

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            self.request.sendall(data)


@pytest.fixture
def echo_server(tmp_path: Path):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    proc, info, links = start_server(tmp_path, "--module", "wm-n400mse", "--module", "amm5918k",
                                     "--route", f"echo.example.com:7=127.0.0.1:{port}",
                                     "--route", f"203.0.113.7:8000=127.0.0.1:{port}")
    yield info, links
    if proc.poll() is None:
        stop_server(proc)
    srv.shutdown()
    srv.server_close()


def _with_urc(ser, line: str, prefix: str, timeout: float = 5.0) -> list[str]:
    """Send ``line``; the lines up to and including the URC that starts with ``prefix``."""
    ser.write(line.encode() + b"\r")
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
        lines = [ln for ln in buf.decode("latin-1").split("\r\n") if ln]
        if buf.endswith(b"\r\n") and lines and lines[-1].startswith(prefix):
            return lines
    raise AssertionError(f"no {prefix!r} after {line!r}; got {buf!r}")


def test_wm_n400mse_tcp_echo(echo_server) -> None:
    _info, links = echo_server
    with open_port(_link(links, "wm-n400mse")) as ser:
        assert command(ser, "ATE0")[-1] == "OK"
        created = command(ser, "AT+WSOCR=0,echo.example.com,7,1,0")  # resolved first: DNS64 address
        assert created[-1] == "OK" and created[0].startswith("+WSOCR:1,0,64:ff9b::") and created[0].endswith("/7,TCP")
        assert _with_urc(ser, "AT+WSOCO=0", "+WSOCO:0,") == ["+WSOCO:1,0,OPEN_WAIT", "OK", "+WSOCO:0,OPEN_CMPL"]
        assert _with_urc(ser, "AT+WSOWR=0,12,hello, world", "+WSORD:") == [
            "+WSOWR:1,0", "OK", "+WSORD:0,12,hello, world"]
        assert command(ser, "AT+WSOWR=0,5,hello, world") == ["+WSOWR:0,0", "OK"]  # length mismatch
        assert _with_urc(ser, "AT+WSOCL=0", "+WSOCL:0,CLOSE") == ["+WSOCL:1,0,CLOSE_WAIT", "OK", "+WSOCL:0,CLOSE_CMPL"]
        assert command(ser, "AT+WSOWR=0,5,hello") == ["+WSOWR:0,0", "OK"]


def test_amm5918k_tcp_echo_and_dns(echo_server) -> None:
    _info, links = echo_server
    with open_port(_link(links, "amm5918k")) as ser:
        assert command(ser, "ATE0")[-1] == "OK"
        dns = _with_urc(ser, "AT@DNSQ6=echo.example.com", "@DNSQ6:")
        assert dns[0] == "OK" and dns[1].startswith("@DNSQ6:64:ff9b::")  # DNS64 for an IPv4-only name
        assert _with_urc(ser, "AT@DNSQ6=nowhere.invalid", "@DNSQ6:") == ["OK", "@DNSQ6:FAIL"]
        # the guide's way to an IPv4 server on the IPv6-only network: NAT64 (203.0.113.7 = cb00:7107)
        assert _with_urc(ser, "AT@SOCKOPEN6=0,0,0,64:ff9b::cb00:7107,8000", "@SOCKOPEN6:") == ["OK", "@SOCKOPEN6:0,0"]
        # ASCII mode is not hex: the echo of "1234" comes back as "1234"
        assert _with_urc(ser, 'AT@SOCKSND6=0,0,"1234"', "@SOCKRCV6=") == ["OK", "@SOCKSND6:0,4,0",
                                                                          "@SOCKRCV6=0,0,4,1234"]
        assert _with_urc(ser, 'AT@SOCKSND6=0,1,"41424344"', "@SOCKRCV6=") == ["OK", "@SOCKSND6:0,4,0",
                                                                               "@SOCKRCV6=0,0,4,ABCD"]
        stat = command(ser, "AT@SOCKSTAT6")
        assert stat[0] == "@SOCKSTAT6:0,0,3" and stat[-1] == "OK" and len(stat) == 6
        assert _with_urc(ser, "AT@SOCKCLOSE6=0", "@SOCKCLOSE6:") == ["OK", "@SOCKCLOSE6:0,0"]
        assert command(ser, "AT@SOCKSTAT6")[0] == "@SOCKSTAT6:0,0,0"
        assert _with_urc(ser, "AT@SOCKOPEN6=0,0,0,nowhere.invalid,9", "@SOCKOPEN6:") == ["OK", "@SOCKOPEN6:0,1"]
