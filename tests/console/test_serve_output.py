"""``modemu serve`` prints one line per event, and a stdout nobody reads (a pipe left full by the
program that started it) never stalls the emulator: lines are dropped and counted instead."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from .conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")]


def _serve(tmp, *extra):
    ready = tmp / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                             "--ephemeral-ports", "--api", "127.0.0.1:0", "--link-dir", str(tmp / "links"),
                             "--ready-file", str(ready), *extra], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "serve did not get ready"
        time.sleep(0.02)
    return proc, json.loads(ready.read_text())


def _until(sock: socket.socket, want: bytes, timeout: float = 30.0) -> bytes:
    sock.settimeout(1.0)
    buf, deadline = b"", time.monotonic() + timeout
    while want not in buf and time.monotonic() < deadline:
        try:
            buf += sock.recv(65536)
        except socket.timeout:
            pass
    return buf


def test_unread_stdout_does_not_stall_serve(tmp_path) -> None:
    proc, info = _serve(tmp_path)
    try:
        host, port = info["modems"][0]["tcp"].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"ATE0\r")
            assert _until(sock, b"OK\r\n").endswith(b"OK\r\n")
            # 6000 event lines, far more than a pipe holds; long lines so that no read holds
            # more than the tap's flood threshold (observe/attap.py BURST: a flood's middle is
            # one "<N more lines>" entry)
            sock.sendall((b"AT" + b" " * 600 + b"\r") * 3000)
            sock.sendall(b"AT+CGMI\r")
            got = _until(sock, b"Quectel")
            assert b"Quectel" in got, "serve stalled on its own stdout"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0
    text = out.decode()
    assert "bg96 -> AT" in text and "event lines not printed: stdout was not read" in text


def test_quiet_prints_no_events(tmp_path) -> None:
    proc, info = _serve(tmp_path, "-q")
    try:
        host, port = info["modems"][0]["tcp"].rsplit(":", 1)
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"AT\r")
            assert b"OK" in _until(sock, b"OK\r\n")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert "modemu ready" in out.decode() and "bg96 ->" not in out.decode()


def test_the_boot_urcs_are_printed_after_the_ready_table(tmp_path) -> None:
    """The modems power on before the table is printed; their boot URCs (RDY ...) still show,
    right after it, instead of being lost to the printer that starts with the table."""
    proc, _info = _serve(tmp_path)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    text = out.decode()
    assert "modemu ready" in text
    after = text.split("console API", 1)[1]
    assert "bg96 <- RDY  (urc)" in after and "bg96 <- APP RDY  (urc)" in after, text


def test_stopping_serve_ends_an_open_event_stream_cleanly(tmp_path) -> None:
    """A browser (or ``curl -N``) following ``/api/events`` while serve stops: the stream ends
    like any response (the client sees its end, not a reset) and serve prints no traceback
    (before, uvicorn gave up on it and cancelled it with a 50-line ASGI traceback on stderr)."""
    import httpx
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                             "--ephemeral-ports", "--api", "127.0.0.1:0", "--link-dir", str(tmp_path / "links"),
                             "--ready-file", str(ready), "-q"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not get ready"
            time.sleep(0.02)
        api = json.loads(ready.read_text())["api"]
        lines = []
        with httpx.Client(timeout=httpx.Timeout(5.0, read=30.0)) as client:
            with client.stream("GET", api + "/api/events") as resp:
                it = resp.iter_lines()
                lines.append(next(it))  # the opening comment: the stream runs
                proc.send_signal(signal.SIGTERM)
                lines += list(it)  # raises on a connection reset instead of an end of stream
        assert lines[0].startswith(":")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert "Traceback" not in err.decode(), err.decode()[-2000:]


def test_verbose_adds_the_api_servers_log(tmp_path) -> None:
    """``-v`` adds the libraries' logs, uvicorn's included (its request lines), as the README
    says; uvicorn's own config used to reset its loggers to warnings."""
    import urllib.request
    ready = tmp_path / "ready.json"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--module", "bg96", "--no-backends",
                             "--ephemeral-ports", "--api", "127.0.0.1:0", "--link-dir", str(tmp_path / "links"),
                             "--ready-file", str(ready), "-q", "-v"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not get ready"
            time.sleep(0.02)
        api = json.loads(ready.read_text())["api"]
        with urllib.request.urlopen(api + "/api/clock", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert '"GET /api/clock HTTP/1.1" 200' in err.decode(), err.decode()[-2000:]
