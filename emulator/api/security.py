"""ASGI middleware that makes the console API refuse strangers (registered by ``create_app``).

The API listens on loopback only, but a web page in the user's browser can still reach it:
through DNS rebinding (``evil.example`` resolving to 127.0.0.1) or a cross-site "simple" request
(an HTML form POST). So every HTTP request must:

- name the listening address in ``Host`` (``127.0.0.1``, ``localhost`` or ``[::1]``, with the
  listening port) — else 421;
- carry ``Authorization: Bearer <token>`` when a token is configured (``--api-token`` or
  ``MODEMU_API_TOKEN``) — else 401;
- have a body of at most ``MAX_BODY`` bytes — else 413, as soon as the declared length or the
  bytes read so far pass it (the rest is never read).

and a state-changing request (POST, PUT, PATCH, DELETE) must also:

- come from no ``Origin`` or our own (``http://127.0.0.1:PORT`` ...) — else 403;
- for POST/PUT/PATCH: be ``Content-Type: application/json`` (a form or ``text/plain`` is what a
  cross-site page can send without a CORS preflight) — else 415 — with a JSON body whose numbers
  are all finite (``NaN``, ``Infinity``, ``1e400`` are refused: no JSON value is infinite) and
  whose strings are Unicode (no lone surrogate) — else 422. The checked body is handed on
  unchanged.

Must not: know any route or model (range checks live with the request models), log bodies or
tokens, or read more than ``MAX_BODY`` bytes of a request.
"""

from __future__ import annotations

import hmac
import json
import math
from typing import Any, Awaitable, Callable

MAX_BODY = 1024 * 1024  # 1 MiB: the largest legitimate body (a descriptor, a command) is a few KiB
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
WITH_BODY = ("POST", "PUT", "PATCH")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def split_host(value: str, default_port: int = 80) -> tuple[str, int | None]:
    """``host[:port]`` of a Host header or an origin's authority; port None if not a number."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    elif ":" in value:
        return "", None  # an IPv6 literal must be bracketed
    else:
        host, port = value, ""
    if not port:
        return host.lower(), default_port
    canonical = port.isascii() and port.isdigit() and len(port) <= 5 and str(int(port)) == port
    return host.lower(), int(port) if canonical else None  # "08765" is not how a browser says it


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_json(body: bytes) -> None:
    """Raise :class:`Refused` (422) unless ``body`` is one JSON document with finite numbers."""
    if not body.strip():
        raise Refused(422, "a JSON body is required (send {} when there is nothing to say)")
    try:
        value = json.loads(body, parse_float=_finite, parse_constant=_no_constant)
        # a lone surrogate ("\ud800") is valid JSON text but no Unicode string: refused here,
        # else the 422 that echoes it could not be encoded and became a 500
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except RecursionError:
        raise Refused(422, "JSON body nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError/EncodeError, non-finite numbers
        raise Refused(422, f"invalid JSON body: {str(exc)[:200]}") from None


class ApiSecurity:
    """The checks above, as pure ASGI middleware (streaming-safe: no body is read twice)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str | None = None,
                 max_body: int = MAX_BODY) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._check(scope, receive)
        except Refused as exc:
            await _reply(send, exc.status, exc.detail, exc.headers)
            return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        headers: dict[bytes, list[bytes]] = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(key.lower(), []).append(value)
        allowed = self._allowed_hosts(scope)
        server_port = (scope.get("server") or (None, None))[1]
        self._check_host(headers, allowed, server_port)
        if self.token is not None:
            given = _one(headers, b"authorization") or b""
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), self.token):
                raise Refused(401, "missing or wrong bearer token",
                              ((b"www-authenticate", b'Bearer realm="modemu"'),))
        length = _one(headers, b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body):
            raise Refused(413, f"request body over {self.max_body} bytes")
        method = scope.get("method", "GET").upper()
        if method not in STATE_CHANGING:
            return self._capped(receive)
        origin = _one(headers, b"origin")
        if origin is not None:
            self._check_origin(origin, allowed, server_port)
        if method not in WITH_BODY:
            return self._capped(receive)
        ctype = (_one(headers, b"content-type") or b"").split(b";")[0].strip().lower()
        if ctype != b"application/json":
            raise Refused(415, "state-changing requests take a JSON body: Content-Type: application/json")
        body = await self._read_body(receive)
        check_json(body)
        return _replay(body, receive)

    @staticmethod
    def _allowed_hosts(scope: Scope) -> set[str]:
        allowed = set(LOOPBACK_NAMES)
        server = scope.get("server")
        if server and server[0]:
            allowed.add(str(server[0]).lower())  # the bound address itself (an IP, or a test client's name)
        return allowed

    @staticmethod
    def _check_host(headers: dict[bytes, list[bytes]], allowed: set[str], port: int | None) -> None:
        values = headers.get(b"host", [])
        if len(values) != 1:
            raise Refused(421, "exactly one Host header naming this server is required")
        host, given = split_host(values[0].decode("latin-1").strip())
        if host not in allowed or (port is not None and given != port):
            raise Refused(421, "Host must name this server (127.0.0.1, localhost or [::1] with its "
                               "port): DNS-rebinding protection")

    @staticmethod
    def _check_origin(origin: bytes, allowed: set[str], port: int | None) -> None:
        text = origin.decode("latin-1").strip()
        scheme, sep, authority = text.partition("://")
        host, given = split_host(authority, 80) if sep and scheme.lower() == "http" else ("", None)
        if host not in allowed or (port is not None and given != port):
            raise Refused(403, f"cross-origin request refused (Origin: {text[:100]})")

    async def _read_body(self, receive: Receive) -> bytes:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise Refused(400, "client went away before its body was complete")
            body += message.get("body", b"")
            if len(body) > self.max_body:
                raise Refused(413, f"request body over {self.max_body} bytes")
            if not message.get("more_body", False):
                return bytes(body)

    def _capped(self, receive: Receive) -> Receive:
        """A request we do not read ourselves: the app may, but never past the cap."""
        seen = 0

        async def capped() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    return {"type": "http.disconnect"}
            return message
        return capped


def _one(headers: dict[bytes, list[bytes]], name: bytes) -> bytes | None:
    values = headers.get(name)
    return values[-1] if values else None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


async def _reply(send: Send, status: int, detail: str,
                 extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()), *extra]})
    await send({"type": "http.response.body", "body": payload})


def install(app: Any, token: str | None = None) -> None:
    """Register the middleware on a FastAPI/Starlette app (one line in ``create_app``)."""
    app.add_middleware(ApiSecurity, token=token)
