"""The host end of a modem that a running ``modemu serve`` owns: ``modemu://HOST:PORT/NAME``.

``HOST:PORT`` is the serve's console API (loopback only). Opening looks the modem up there
(``GET /api/modems/NAME`` -> its ``tcp`` address) and connects to that TCP port (pyserial's
``socket://``), so the line is shared with the serve's platforms and console like its pty.
Signals and time go through the console API: DTR (``POST /api/modems/NAME/dtr``) and
``advance`` (``POST /api/clock/advance``). The bearer token, if the serve has one, is the
URL's ``token`` query value or ``MODEMU_API_TOKEN``.

Must not: start an emulator, interpret bytes, or reach beyond 127.0.0.0/8 / ::1.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

import serial
from serial.serialutil import SerialException

from ..net.internet import is_loopback


class RemoteModem:
    def __init__(self, host: str, port: int, name: str, token: str | None = None) -> None:
        if not is_loopback(host):
            raise SerialException(f"modemu: {host}:{port} is not a loopback address; a modemu:// URL "
                                  "attaches to a serve on this machine only")
        self.base = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        self.name, self.token = name, token or os.environ.get("MODEMU_API_TOKEN") or None
        info = self.api("GET", f"/api/modems/{name}")
        tcp = info.get("tcp")
        if not tcp:
            raise SerialException(f"modemu: modem {name!r} of the serve at {self.base} has no TCP port "
                                  "(started without one)")
        self.line = serial.serial_for_url(f"socket://{tcp}", timeout=1)

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback, checked above
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise SerialException(f"modemu: {method} {self.base}{path}: HTTP {exc.code} {detail}") from None
        except OSError as exc:
            raise SerialException(f"modemu: no modemu serve answers at {self.base} ({exc}); start one "
                                  "with `modemu serve` or check the console API address") from None

    def dtr(self, high: bool) -> None:
        self.api("POST", f"/api/modems/{self.name}/dtr", {"high": high})

    def advance(self, seconds: float) -> int:
        return int(self.api("POST", "/api/clock/advance", {"seconds": seconds}).get("fired", 0))

    def close(self) -> None:
        self.line.close()
