"""One readable line per live event, as ``modemu serve`` prints them (``-q``: none).

``bg96 -> AT+CGSN``, ``bg96 <- OK``, ``bg96 <- +CEREG: 1 (urc)``, ``ctwing 1503...: uplink 5 bytes
"hello" (tcp)``, ``thingplug svc/dev: login refused: <reason>``, ``clock +60s (3 timers)``.
The virtual time comes first (HH:MM:SS.mmm, UTC).

Must not: print (the caller does) or hold state.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import time
from typing import Any

_SKIP = {"type", "ts", "seq", "modem", "device", "platform", "dir", "line", "urc"}


def _stamp(ts: float) -> str:
    return _hms(math.floor(ts)) + f".{int(ts * 1000) % 1000:03d}"


@functools.lru_cache(maxsize=64)
def _hms(second: int) -> str:
    """HH:MM:SS of a whole second (memoised: a busy line prints many events per second)."""
    return time.strftime("%H:%M:%S", time.gmtime(second))


def _text(b64: str) -> str:
    raw = base64.b64decode(b64)
    text = raw.decode("utf-8", "replace")
    return json.dumps(text, ensure_ascii=False) if text.isprintable() else raw.hex()


def render(event: dict[str, Any]) -> str:
    kind, ts = event.get("type", "?"), _stamp(float(event.get("ts", 0.0)))
    if kind == "at":
        arrow = "->" if event.get("dir") == "in" else "<-"
        return f"{ts} {event.get('modem')} {arrow} {event.get('line')}{'  (urc)' if event.get('urc') else ''}"
    if kind == "clock":
        return f"{ts} clock +{event.get('advanced', 0):g}s ({event.get('fired', 0)} timers)"
    if kind == "registration":
        return f"{ts} {event.get('modem')} registration: {event.get('state')} ({event.get('cause')})"
    if kind == "power":
        return f"{ts} {event.get('modem')} power {'on' if event.get('on') else 'off'}"
    who = " ".join(str(x) for x in (event.get("platform"), event.get("device") or event.get("modem")) if x)
    if kind == "uplink":
        body = _text(event["base64"]) if "base64" in event and event.get("platform") == "ctwing" \
            else json.dumps(event.get("data"), ensure_ascii=False)
        via = event.get("protocol") or event.get("kind") or ""
        return f"{ts} {who}: uplink {body} ({via})"
    if kind == "online":
        return f"{ts} {who}: {'online' if event.get('online') else 'offline'}"
    if kind == "login":
        return f"{ts} {who}: login ({event.get('protocol', 'mqtt')})"
    if kind == "login_refused":
        if not event.get("device") and event.get("client_id"):  # no device matched: name the client
            who = f"{event.get('platform') or ''} client {event['client_id']}".strip()
        return f"{ts} {who}: login refused: {event.get('reason')}"
    rest = " ".join(f"{k}={v}" for k, v in event.items() if k not in _SKIP and v not in (None, ""))
    return f"{ts} {who + ': ' if who else ''}{kind.replace('_', ' ')} {rest}".rstrip()
