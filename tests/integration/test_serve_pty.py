"""End to end through REAL ptys: ``python -m emulator serve`` as a subprocess, driven with pyserial.

One server (all four modules, no backends, ephemeral ports) is shared by the module's tests;
the shutdown test starts its own. Boot URCs sit in the pty until a host opens it, so each test
flushes its input first. No test here binds a default port (7001.., 8765): they would collide
with a running ``make run``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from emulator.testing.serve import start_serve

serial = pytest.importorskip("serial")

pytestmark = [pytest.mark.pty, pytest.mark.skipif(sys.platform == "win32", reason="POSIX ptys")]

REPO = Path(__file__).resolve().parents[2]
FINALS = ("OK", "ERROR", "+CME ERROR")
MODULES = ["bg96", "ec800e", "wm-n400mse", "amm5918k"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def start_server(tmp: Path, *extra: str) -> tuple[subprocess.Popen, dict, Path]:
    srv = start_serve(tmp, "--no-backends", *extra, env=_env(), stdout=subprocess.PIPE, wall=20)
    return srv.proc, srv.info, srv.links


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, info, links = start_server(tmp_path_factory.mktemp("serve"))
    yield info, links
    if proc.poll() is None:
        stop_server(proc)


def open_port(url_or_path: str) -> "serial.Serial":
    if url_or_path.startswith("socket://"):
        ser = serial.serial_for_url(url_or_path, timeout=0.2)
    else:
        ser = serial.Serial(url_or_path, 115200, timeout=0.2)
        time.sleep(0.05)
        ser.reset_input_buffer()
    return ser


def command(ser: "serial.Serial", line: str | bytes, timeout: float = 5.0) -> list[str]:
    """Send one command line; return its non-empty response lines (echo first) up to the final."""
    ser.write((line.encode() if isinstance(line, str) else line) + b"\r")
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf += ser.read(ser.in_waiting or 1)
        lines = [ln.strip() for ln in buf.decode("utf-8", "replace").split("\r\n") if ln.strip()]
        if lines and lines[-1].startswith(FINALS) and buf.endswith(b"\r\n"):
            return lines
    raise AssertionError(f"no final result for {line!r}; got {buf!r}")


def raw_command(ser: "serial.Serial", data: bytes, final: bytes = b"\r\nOK\r\n", timeout: float = 5.0) -> bytes:
    """Write ``data``; return every byte the port sent up to and including ``final``."""
    ser.write(data)
    buf, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and not buf.endswith(final):
        buf += ser.read(ser.in_waiting or 1)
    return buf


def _link(links: Path, name: str) -> str:
    path = links / name
    assert path.is_symlink(), f"no link {path}"
    return str(path)


IDENTITY = {"bg96": "BG96", "ec800e": "EC800E", "wm-n400mse": "Model: WM-N400MSE", "amm5918k": "AMM5918K"}


@pytest.mark.parametrize("module", MODULES)
def test_each_module_through_its_pty(server, module: str) -> None:
    info, links = server
    with open_port(_link(links, module)) as ser:
        assert command(ser, "AT") == ["AT", "OK"]
        ati = command(ser, "ATI")
        assert ati[0] == "ATI" and IDENTITY[module] in ati and ati[-1] == "OK"
        assert command(ser, "AT+CEREG?") == ["AT+CEREG?", "+CEREG: 0,1", "OK"]
        csq = command(ser, "AT+CSQ")
        assert csq[1].startswith("+CSQ: ") and csq[-1] == "OK"
        assert command(ser, "AT+NOSUCH") == ["AT+NOSUCH", "ERROR"]
        assert command(ser, b"\x01garbage\x7f") [-1] == "ERROR"
        assert command(ser, "AT+CGSN")[-1] == "OK"
        assert command(ser, "ATE0") == ["ATE0", "OK"]
        assert command(ser, "AT") == ["OK"]
        assert command(ser, "ATE1") == ["OK"]


ATI_BYTES = {  # one information block: lines joined by one CRLF (real BG96: ATI\r\r\nQuectel\r\nBG96\r\n...)
    "bg96": b"ATI\r\r\nQuectel\r\nBG96\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n",
    "ec800e": b"ATI\r\r\nQuectel\r\nEC800E\r\nRevision: EC800ECNLCR01A21M08\r\n\r\nOK\r\n",
    "wm-n400mse": b"ATI\r\r\nManufacturer: WOORINET\r\nModel: WM-N400MSE\r\nRevision: S1A0N400MSE.000\r\n\r\nOK\r\n",
    "amm5918k": b"ATI\r\r\nAM Telecom\r\nAMM5918K\r\nRevision: AMM5918K_V1.0.3\r\n\r\nOK\r\n",
}


@pytest.mark.parametrize("module", MODULES)
def test_multi_line_answers_are_one_block_byte_exact(server, module: str) -> None:
    info, links = server
    with open_port(_link(links, module)) as ser:
        assert raw_command(ser, b"ATI\r") == ATI_BYTES[module]
        if module == "ec800e":  # guide 001 §6.1 prints the four +QLWCFG lines with no blank lines between
            assert raw_command(ser, b"AT+QLWCFG\r") == (
                b'AT+QLWCFG\r\r\n+QLWCFG: "retransmit",2,4\r\n+QLWCFG: "auto_ack",0\r\n'
                b'+QLWCFG: "lifetime_enable",1\r\n+QLWCFG: "dtls_mode",0\r\n\r\nOK\r\n')


GUIDE_001_6_1 = [  # guide 001 §6.1, as the guide prints it (echo on)
    ('AT+QCFG="urc/port","uart1"', []),
    ("AT+CSCON=1", []),
    ("AT+CPIN?", ["+CPIN: READY"]),
    ("AT+CGSN", ["868543060974334"]),
    ("AT+CIMI", ["460115472446714"]),
    ("AT+QCCID", ["+QCCID: 89860320845515190439"]),
    ("AT+CEREG?", ["+CEREG: 0,1"]),
    ("AT+CGPADDR", ['+CGPADDR: 1,"100.101.185.160"']),
    ('AT+QENG="SERVINGCELL"', ['+QENG: "servingcell","NOCONN","LTE","FDD",460,11,5A2890B,475,1650,3,5,5,DF5C,-102,-9,-73,16,19']),
]


def test_guide_001_network_check_on_ec800e(server) -> None:
    info, links = server
    # the guide's user types well after boot, once the attach's RRC connection was released
    # (NOCONN, no +CSCON URC): push the virtual clock instead of waiting on the wall clock
    req = urllib.request.Request(info["api"] + "/api/clock/advance", data=b'{"seconds": 60}',
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
    with open_port(_link(links, "ec800e")) as ser:
        for line, answer in GUIDE_001_6_1:
            assert command(ser, line) == [line, *answer, "OK"]


def test_tcp_port_with_pyserial_socket_url(server) -> None:
    info, _links = server
    tcp = next(m["tcp"] for m in info["modems"] if m["name"] == "bg96")
    with open_port(f"socket://{tcp}") as ser:
        assert command(ser, "AT+CGMM") == ["AT+CGMM", "BG96", "OK"]
        assert command(ser, "AT+CSQ;+CEREG?") == ["AT+CSQ;+CEREG?", "+CSQ: 20,99", "+CEREG: 0,1", "OK"]


def test_console_api_lists_modems(server) -> None:
    info, _links = server
    with urllib.request.urlopen(info["api"] + "/api/modems", timeout=5) as resp:
        assert resp.status == 200
        modems = json.loads(resp.read())
    assert [m["name"] for m in modems] == MODULES
    ec = next(m for m in modems if m["name"] == "ec800e")
    assert ec["imei"] == "868543060974334" and ec["registered"] is True and ec["powered"] is True
    assert ec["link"].endswith("/ec800e") and ec["tcp"].startswith("127.0.0.1:")


def test_sigterm_exits_zero_and_removes_links(tmp_path: Path) -> None:
    proc, info, links = start_server(tmp_path, "--module", "ec800e")
    assert [m["name"] for m in info["modems"]] == ["ec800e"]
    assert (links / "ec800e").is_symlink()
    with open_port(str(links / "ec800e")) as ser:
        assert command(ser, "AT") == ["AT", "OK"]
    started = time.monotonic()
    assert stop_server(proc) == 0
    assert time.monotonic() - started < 5
    assert not (links / "ec800e").exists() and not (links / "ec800e").is_symlink()
    assert not (tmp_path / "ready.json").exists()


def test_unknown_module_exits_2_with_valid_names(tmp_path: Path) -> None:
    exe = shutil.which("modemu")
    cmd = [exe] if exe else [sys.executable, "-m", "emulator"]
    res = subprocess.run([*cmd, "serve", "--module", "bg69", "--ephemeral-ports", "--no-backends",
                          "--api", "127.0.0.1:0", "--link-dir", str(tmp_path)], cwd=tmp_path, env=_env(), capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2
    assert "bg69" in res.stderr
    for name in MODULES:
        assert name in res.stderr


@pytest.mark.slow
def test_wheel_ships_grammars_and_module_data(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                          "-q", "-w", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    [wheel] = tmp_path.glob("modemu-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "emulator/grammars/v250.lark" in names
    assert "emulator/grammars/wm_n400mse.lark" in names
    assert "emulator/modules/data/bg96.yaml" in names
    assert "emulator/examples/quickstart.yaml" in names and "emulator/LICENSE" in names  # `modemu examples`
    assert {"emulator/api/static/index.html", "emulator/api/static/console.js"} <= names  # the web console


def _serve_fails(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                           "--link-dir", str(tmp_path / "links"), *args], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=30)


def test_api_must_be_loopback(tmp_path: Path) -> None:
    res = _serve_fails(tmp_path, "--api", "0.0.0.0:0")
    assert res.returncode == 2 and "--api 0.0.0.0:0" in res.stderr and "loopback" in res.stderr
    assert not any((tmp_path / "links").glob("*"))


def test_api_port_in_use_exits_2_and_cleans_up(tmp_path: Path) -> None:
    """The console API is bound before any modem or platform listens, so this run (default modem
    TCP ports, no --ephemeral-ports) fails on the busy API port and never binds 7001 (no collision
    with a running ``make run``)."""
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = _serve_fails(tmp_path, "--api", f"127.0.0.1:{port}", "--ready-file", str(tmp_path / "r.json"))
    assert res.returncode == 2 and f"port {port} (console API) is in use" in res.stderr  # preflight.py
    assert "Traceback" not in res.stderr
    assert not any((tmp_path / "links").glob("*")) and not (tmp_path / "r.json").exists()


def test_ready_file_directory_is_created_and_bad_path_is_reported(tmp_path: Path) -> None:
    proc, info, links = start_server(tmp_path, "--module", "bg96")  # ready file at tmp/ready.json
    assert stop_server(proc) == 0
    nested = tmp_path / "new" / "dir" / "ready.json"
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                             "--ephemeral-ports", "--api", "127.0.0.1:0", "--link-dir", str(links),
                             "--ready-file", str(nested)], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not nested.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert nested.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no ready file"
    assert stop_server(proc) == 0
    (tmp_path / "afile").write_text("")
    res = _serve_fails(tmp_path, "--ephemeral-ports", "--api", "127.0.0.1:0",
                       "--ready-file", str(tmp_path / "afile" / "r.json"))
    assert res.returncode == 2 and "--ready-file" in res.stderr and "Traceback" not in res.stderr
    assert not any((tmp_path / "links").glob("*"))
