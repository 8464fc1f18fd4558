"""Fixtures for the real-library peers: ``modemu serve`` as a subprocess on real ptys (ephemeral
ports, its own link dir and console API), a loopback TCP echo server, and console API calls.

Must not: talk AT itself (the libraries under test do) or reach beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from emulator.testing.serve import start_serve


class Served:
    """A running ``modemu serve``: pty paths by modem name and the console API."""

    def __init__(self, proc: subprocess.Popen, info: dict, links: Path) -> None:
        self.proc, self.info, self.links = proc, info, links

    def pty(self, name: str) -> str:
        return str(self.links / name)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.info["api"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read() or b"null")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve(tmp: Path, *args: str) -> Served:
    srv = start_serve(tmp, *args)
    return Served(srv.proc, srv.info, srv.links)


@pytest.fixture
def serve_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(*args: str) -> Served:
        s = serve(tmp_path, *args)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


class EchoServer:
    """A loopback TCP server that sends back what it receives (one thread per connection)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    def _echo(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.2)
            while not self._stop:
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                self.received += data
                conn.sendall(data)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def echo_server() -> Iterator[EchoServer]:
    srv = EchoServer()
    yield srv
    srv.close()
