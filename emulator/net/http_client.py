"""Executor of the Quectel HTTP(S) client effects (``AT+QHTTP*``): one HTTP/1.1 exchange with h11.

``HttpRequest`` dials ``host:port`` through the FakeInternet with ``dial.py`` (its routes and
faults; TLS with the SSL context's client context from ``tls_context.py`` for https), sends the
request with an h11 client connection and reads the whole response. A host-built request
(``"requestheader",1``) is first parsed with an h11 *server* connection, so it goes out as
h11 re-frames it and a malformed one fails with 720 (data encode error) instead of confusing
the server. Outcomes: the response (status, reason, headers, body, Content-Length) or an error
code: 714 DNS, 716 connect / TLS handshake failed, 717 read error, 718 write error, 719 closed
before the response was complete, 721 response not parsable. The module's own ``<rsptime>``
timer (virtual clock) decides a timeout and cancels the exchange (``HttpCancel``).

Must not: dial anything ``FakeInternet.connect_target`` does not return, hold protocol state,
or decide what the host sees.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import h11

from ..modules.handlers.quectel_http_effects import (DECODE_ERROR, DNS_ERROR, ENCODE_ERROR, SOCKET_CLOSED,
                                                     SOCKET_CONNECT, SOCKET_READ, SOCKET_WRITE, HttpCancel,
                                                     HttpRequest, HttpResult)
from .context import NetContext
from .dial import dial
from .executors import executor
from .tls_context import client_context, server_hostname

log = logging.getLogger("modemu.http")
READ_CHUNK = 65536
MAX_BODY = 16 * 1024 * 1024  # a response larger than this is cut off (721): a module's RAM is smaller


class HttpSessions:
    """The modem's exchanges in flight (``net.resources["http"]``), cancelled at power-off."""

    def __init__(self) -> None:
        self.tasks: dict[int, asyncio.Task] = {}

    def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()


def _sessions(net: NetContext) -> HttpSessions:
    sessions = net.resources.get("http")
    if sessions is None:
        sessions = net.resources["http"] = HttpSessions()
    return sessions


class _Fail(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _events(effect: HttpRequest) -> list:
    """The h11 events of the request (from the host's bytes with ``requestheader`` 1)."""
    if effect.raw is None:
        body = [h11.Data(data=effect.body)] if effect.body else []
        return [h11.Request(method=effect.method, target=effect.target, headers=list(effect.headers)),
                *body, h11.EndOfMessage()]
    parser = h11.Connection(h11.SERVER)
    parser.receive_data(effect.raw)
    parser.receive_data(b"")  # the request ends where the host's bytes end
    out: list = []
    try:
        while True:
            event = parser.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                break
            out.append(event)
            if isinstance(event, h11.EndOfMessage):
                break
    except h11.RemoteProtocolError:
        raise _Fail(ENCODE_ERROR) from None
    if not out or not isinstance(out[0], h11.Request) or not isinstance(out[-1], h11.EndOfMessage):
        raise _Fail(ENCODE_ERROR)
    return out


async def _exchange(effect: HttpRequest, net: NetContext) -> HttpResult:
    events = _events(effect)
    context = None
    hostname = None
    if effect.tls is not None:
        try:
            context = client_context(effect.tls)
        except (ssl.SSLError, ValueError, OSError) as exc:
            log.info("%s: https %s: unusable TLS settings: %s", net.name, effect.host, exc)
            raise _Fail(SOCKET_CONNECT) from None
        hostname = server_hostname(effect.tls, effect.host)
    dialled = await dial(net.clock, net.internet, effect.host, effect.port, ssl_context=context,
                         server_hostname=hostname, timeout=effect.timeout, name=f"{net.name}/http")
    if dialled.outcome != "ok":
        raise _Fail(DNS_ERROR if dialled.outcome == "dns" else SOCKET_CONNECT)
    reader, writer = dialled.reader, dialled.writer
    assert reader is not None and writer is not None
    conn = h11.Connection(h11.CLIENT)
    try:
        try:
            for event in events:
                writer.write(conn.send(event) or b"")
            await writer.drain()
        except h11.LocalProtocolError:
            raise _Fail(ENCODE_ERROR) from None
        except (ConnectionError, OSError):
            raise _Fail(SOCKET_WRITE) from None
        response: h11.Response | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                raise _Fail(DECODE_ERROR) from None
            if event is h11.NEED_DATA:
                try:
                    chunk = await reader.read(READ_CHUNK)
                except (ConnectionError, OSError, ssl.SSLError):
                    raise _Fail(SOCKET_READ) from None
                conn.receive_data(chunk)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    raise _Fail(DECODE_ERROR)
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                raise _Fail(SOCKET_CLOSED)
    finally:
        writer.close()
    assert response is not None
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw_items())  # as sent
    length = next((v for k, v in headers if k.lower() == "content-length"), None)
    return HttpResult(effect.token, 0, response.status_code, response.reason.decode("latin-1"), headers,
                      bytes(body), response.http_version.decode("ascii"),
                      int(length) if length is not None and length.isdigit() else None)


@executor(HttpRequest)
def http_request(effect: HttpRequest, net: NetContext) -> None:
    sessions = _sessions(net)

    async def run() -> None:
        try:
            result = await _exchange(effect, net)
        except _Fail as exc:
            result = HttpResult(effect.token, exc.code)
        except asyncio.CancelledError:
            return
        finally:
            sessions.tasks.pop(effect.token, None)
        net.stimulus(result)

    sessions.tasks[effect.token] = net.spawn(run())


@executor(HttpCancel)
def http_cancel(effect: HttpCancel, net: NetContext) -> None:
    task = _sessions(net).tasks.pop(effect.token, None)
    if task is not None:
        task.cancel()
