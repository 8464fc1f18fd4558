"""Helpers of the reliability suite (imported by its tests; conftest.py puts this folder on
sys.path because the suite runs with --import-mode=importlib): bounded waits, ``modemu serve`` as
a subprocess, raw-socket HTTP and AT clients, and ``scale`` (``MODEMU_SOAK=1`` makes the floods
and fuzzers longer, ``make soak``).

Must not: sleep for a fixed time to let something happen (waits are bounded polls), or reach
anything off loopback.
"""


from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from emulator.testing.serve import start_serve


REPO = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("MODEMU_SOAK", "") not in ("", "0")
BLACKHOLE = "blackhole.example"  # routed to a loopback listener; a "drop" fault makes it silent


def scale(normal: int, soak: int) -> int:
    return soak if SOAK else normal


async def wait_for(predicate, wall: float = 10.0, what: str = "condition") -> None:
    """Bounded wait for loopback I/O (never a timing assertion: the bound is generous)."""
    deadline = time.monotonic() + wall
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {wall} s")
        await asyncio.sleep(0.005)


# --- modemu serve as a subprocess -----------------------------------------------------------
def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k != "MODEMU_API_TOKEN"}
    return {**base, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra}


class Served:
    def __init__(self, proc: subprocess.Popen, info: dict, links: Path, ready: Path) -> None:
        self.proc, self.info, self.links, self.ready = proc, info, links, ready
        self.api = info["api"].removeprefix("http://")
        self.api_host, _, api_port = self.api.rpartition(":")
        self.api_port = int(api_port)

    def tcp(self, name: str) -> tuple[str, int]:
        addr = next(m["tcp"] for m in self.info["modems"] if m["name"] == name)
        host, _, port = addr.rpartition(":")
        return host, int(port)

    def stop(self, sig: int = signal.SIGTERM, wall: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(wall)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def serve(tmp: Path, *extra: str, environ: dict[str, str] | None = None, links: Path | None = None) -> Served:
    srv = start_serve(tmp, *extra, env=environ or env(), links=links)
    return Served(srv.proc, srv.info, srv.links, srv.ready)


# --- raw clients ----------------------------------------------------------------------------
def http(srv: Served, method: str, path: str, body: bytes | None = None, *,
         headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict]:
    """One request over a fresh connection, every header under our control (http.client would
    add its own Host); returns (status, JSON body or {})."""
    hdrs = {"Host": srv.api, "Connection": "close", **(headers or {})}
    if body is not None and "Content-Length" not in hdrs and "Transfer-Encoding" not in hdrs:
        hdrs["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items() if v is not None)
    with socket.create_connection((srv.api_host, srv.api_port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict]:
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        head, sep, rest = bytes(data).partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), None)
            if length is not None and len(rest) >= length:
                break
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(rest) if rest.strip() else {}
    except ValueError:
        return status, {"raw": rest[:200].decode("latin-1")}


def json_post(srv: Served, path: str, payload: object, **kw) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return http(srv, "POST", path, json.dumps(payload).encode(), headers=headers, **kw)


def at(sock: socket.socket, line: bytes, wall: float = 5.0) -> bytes:
    """Send one AT line on a modem's TCP port and read until its final result."""
    sock.sendall(line + b"\r")
    deadline, buf = time.monotonic() + wall, bytearray()
    while not any(f in buf for f in (b"\r\nOK\r\n", b"\r\nERROR\r\n", b"+CME ERROR")):
        if time.monotonic() > deadline:
            raise AssertionError(f"no final result for {line!r} within {wall} s: {bytes(buf[-200:])!r}")
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError("modem port closed")
        buf += chunk
    return bytes(buf)
