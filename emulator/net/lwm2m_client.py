"""A real LwM2M client over CoAP / DTLS-PSK (aiocoap) for the emulated modems' AT+QLW* commands.

One :class:`Lwm2mClient` is one module-side LwM2M session: it registers from a socket that is
also a CoAP server, so the platform's Observe (GET Observe=0), Read (GET), Write (PUT) and
Execute (POST) on the announced object instances reach it (LwM2M 1.0 §5.3/§5.4; CTWing 19/0/0
uplink, 19/1/0 downlink, guide 001 §4.1, docs/guides.md). Plain CoAP uses one UDP socket bound on loopback; with
``psk_identity``/``psk`` it opens a DTLS-PSK session (``dtls_client.py``, python-mbedtls, the same
library as the platform's listener) and serves the platform's requests that arrive over it.

The AT layer answers platform requests asynchronously (``+QLWURC: "observe",<msgid>,...`` then
``AT+QLWOBSRSP=<msgid>,...``; seed 001 §4.1.3.1), so each callback ``on_observe(mid, path,
cancel)``, ``on_read(mid, path)``, ``on_write(mid, path, payload)``, ``on_execute(mid, path,
args)`` may return the answer (bytes for observe/read, a CoAP code for write/execute; or an
awaitable of it) or None, in which case the request waits for :meth:`observe_response` /
:meth:`read_response` / :meth:`write_response` / :meth:`execute_response` with
that ``mid`` (the CoAP message ID the module prints as ``<msgid>``).

Timing, honestly: CON retransmission (``ack_timeout``/``max_retransmit``, the module's
``AT+QLWCFG="retransmit",<ack_timeout>,<max_retx>``, default 2,4) and the empty-ACK delay are
aiocoap's own ``loop.call_later`` timers on the *wall clock*; they cannot follow the
VirtualClock. A runner with a scaled clock should pass an ack_timeout scaled the same way.
Lifetime updates are not automatic here: the modem layer calls :meth:`update` on its clock.

Route faults: with ``gate`` (a ``faultgate.RouteGate``), every datagram in and out of the
session passes ``gate.datagram`` (a standing ``drop`` loses it, ``delay`` sends it later): the
socket's transport and datagram callback are wrapped (plain CoAP and DTLS alike, at once, so the
handshake's datagrams pass the gate too).

Must not: know AT syntax or modem state, or touch aiocoap internals itself: those (the message
manager's exchange bookkeeping, to learn when a CON notification is ACKed; simplesocketserver's
socket and address type; the route-gate wrapping of transports) are contained in
``aiocoap_hooks.py`` and pinned to aiocoap 0.4.17.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import aiocoap
from aiocoap import CON, NON, Code
from aiocoap.numbers.constants import TransportTuning
from aiocoap.resource import Resource, Site

from .aiocoap_hooks import Exchanges, local_sockname, open_plain_transport
from .dtls_client import open_dtls_transport

Path = tuple[int, int, int]
LINK_FORMAT, OCTET_STREAM = 40, 42


class Lwm2mClientError(Exception):
    """A client operation that cannot be done in the current state (not registered, not observed)."""


@dataclass
class RequestResult:
    """Outcome of Register/Update/De-register: ``ok`` on 2.xx, ``code`` like "2.01", ``mid`` the
    CoAP message ID of the request (what ``+QLWUPDATE: 0,<msgid>`` prints)."""

    ok: bool
    code: str
    mid: int | None = None
    location: str | None = None
    error: str | None = None


@dataclass
class Notification:
    """A sent notification: ``mid`` at once; ``result`` resolves to "ack" (CON acknowledged),
    "sent" (NON), "rst" or "timeout"."""

    mid: int
    confirmable: bool
    seq: int
    result: asyncio.Future = field(repr=False)


class _InstanceResource(Resource):
    """One announced resource (e.g. /19/0/0): answers GET / GET+Observe / PUT via the client."""

    def __init__(self, client: "Lwm2mClient", path: Path) -> None:
        super().__init__()
        self.client, self.path = client, path

    async def render_to_pipe(self, pipe) -> None:
        await self.client._serve(self.path, pipe)


class Lwm2mClient:
    def __init__(self, server_host: str, server_port: int, endpoint: str, lifetime: int = 86400, *,
                 binding: str = "U", version: str = "1.0", psk_identity: str | None = None,
                 psk: bytes | None = None,
                 objects: Iterable[tuple[int, int, Iterable[int]]] = ((19, 0, [0]), (19, 1, [0])),
                 on_observe: Callable[..., Any] | None = None, on_write: Callable[..., Any] | None = None,
                 on_read: Callable[..., Any] | None = None, on_execute: Callable[..., Any] | None = None,
                 ack_timeout: float = 2.0,
                 max_retransmit: int = 4, local_host: str = "127.0.0.1", gate: Any = None) -> None:
        if (psk_identity is None) != (psk is None):
            raise ValueError("DTLS needs both psk_identity and psk")
        self.server_host, self.server_port = server_host, server_port
        self.endpoint, self.lifetime, self.binding, self.version = endpoint, lifetime, binding, version
        self.psk_identity, self.psk = psk_identity, psk
        self.objects = [(o, i, tuple(rs)) for o, i, rs in objects]
        self.on_observe, self.on_write, self.on_read = on_observe, on_write, on_read
        self.on_execute = on_execute
        self.local_host = local_host
        self.gate = gate
        self.location: str | None = None
        self.set_retransmit(ack_timeout, max_retransmit)
        self._ctx: aiocoap.Context | None = None
        self._remote: Any = None
        self._exchanges = Exchanges()
        self._pending: dict[tuple[str, int], asyncio.Future] = {}  # (kind, mid) -> answer
        self._observations: dict[Path, tuple[Any, int, asyncio.Future]] = {}  # path -> (pipe, seq, done)

    # configuration -----------------------------------------------------------------------

    def set_retransmit(self, ack_timeout: float, max_retransmit: int) -> None:
        """``AT+QLWCFG="retransmit",<ack_timeout>,<max_retx>``; applies to messages sent afterwards."""
        self._tuning = {
            rel: type("ModuleTuning", (TransportTuning,), {
                "ACK_TIMEOUT": float(ack_timeout), "MAX_RETRANSMIT": int(max_retransmit), "reliability": rel})()
            for rel in (True, False)}

    @property
    def secure(self) -> bool:
        return self.psk_identity is not None

    def links(self) -> str:
        return '</>;rt="oma.lwm2m",' + ",".join(f"</{o}/{i}>" for o, i, _ in self.objects)

    @property
    def observed(self) -> list[Path]:
        return list(self._observations)

    # lifecycle -----------------------------------------------------------------------------

    async def _ensure_context(self) -> None:
        if self._ctx is not None and self.secure and self._remote.session.ended is not None:
            await self._ctx.shutdown()  # the DTLS session ended (alert, close_notify): start a new one
            self._ctx = None
        if self._ctx is not None:
            return
        site = Site()
        for obj, inst, resources in self.objects:
            for res in resources:
                site.add_resource([str(obj), str(inst), str(res)], _InstanceResource(self, (obj, inst, res)))
        loop = asyncio.get_running_loop()
        ctx = aiocoap.Context(loop=loop, serversite=site, loggername="modemu.lwm2m.client")
        server = (self.server_host, self.server_port)
        if self.secure:  # platform requests over our DTLS session are served by ``site`` too
            self._remote = await open_dtls_transport(ctx, self.local_host, server, self.psk_identity,
                                                     bytes(self.psk), self.gate)
        else:
            self._remote = await open_plain_transport(ctx, self.local_host, server, self.gate)
        self._exchanges.attach_context(ctx)
        self._ctx = ctx

    def _hostport(self) -> str:
        host = f"[{self.server_host}]" if ":" in self.server_host else self.server_host
        return f"{host}:{self.server_port}"

    @property
    def local_address(self) -> tuple[str, int] | None:
        if self._remote is None:
            return None
        return local_sockname(self._remote)

    async def close(self) -> None:
        for _pipe, _seq, done in self._observations.values():
            if not done.done():
                done.set_result(None)
        self._observations.clear()
        for fut in self._pending.values():
            fut.cancel()
        self._pending.clear()
        if self._ctx is not None:
            await self._ctx.shutdown()
            self._ctx = None
        self.location = None

    # device -> platform ------------------------------------------------------------------

    async def _send(self, code: Code, path: str, query: list[str], payload: bytes = b"",
                    content_format: int | None = None) -> tuple[RequestResult, aiocoap.Message | None]:
        await self._ensure_context()
        msg = aiocoap.Message(code=code, payload=payload, transport_tuning=self._tuning[True])
        if content_format is not None:
            msg.opt.content_format = content_format
        msg.remote = self._remote
        msg.opt.uri_path = tuple(path.split("/"))
        msg.opt.uri_query = tuple(query)
        try:
            resp = await self._ctx.request(msg, handle_blockwise=False).response
        except Exception as exc:  # ConRetransmitsExceeded, handshake failure, RST ...
            return RequestResult(False, "timeout" if "etransmi" in str(exc) else "error", msg.mid,
                                 error=f"{type(exc).__name__}: {exc}"), None
        return RequestResult(resp.code.is_successful(), resp.code.dotted, msg.mid), resp

    async def register(self) -> RequestResult:
        query = [f"ep={self.endpoint}", f"lt={self.lifetime}", f"lwm2m={self.version}", f"b={self.binding}"]
        result, resp = await self._send(Code.POST, "rd", query, self.links().encode(), LINK_FORMAT)
        if resp is not None and resp.code == Code.CREATED:
            self.location = "/" + "/".join(resp.opt.location_path)
            result.location = self.location
        elif result.ok:
            result.ok, result.error = False, f"unexpected {resp.code} (no 2.01 Created)"
        return result

    async def update(self, lifetime: int | None = None, binding: str | None = None) -> RequestResult:
        if self.location is None:
            raise Lwm2mClientError("not registered")
        query = ([f"lt={lifetime}"] if lifetime is not None else []) + ([f"b={binding}"] if binding else [])
        result, _ = await self._send(Code.POST, self.location.lstrip("/"), query)
        if result.ok and lifetime is not None:
            self.lifetime = lifetime
        return result

    async def deregister(self) -> RequestResult:
        if self.location is None:
            raise Lwm2mClientError("not registered")
        result, _ = await self._send(Code.DELETE, self.location.lstrip("/"), [])
        if result.ok:
            self.location = None
            for _pipe, _seq, done in self._observations.values():
                done.set_result(None)
            self._observations.clear()
        return result

    def notify(self, path: Path, payload: bytes, confirmable: bool = False) -> Notification:
        """Send a notification on an observed resource now; ``.result`` says how it ended."""
        entry = self._observations.get(tuple(path))
        if entry is None:
            raise Lwm2mClientError(f"/{'/'.join(map(str, path))} is not observed by the platform")
        pipe, seq, done = entry
        seq = (seq + 1) % (1 << 24)
        msg = aiocoap.Message(code=Code.CONTENT, payload=bytes(payload), observe=seq,
                              content_format=OCTET_STREAM, transport_tuning=self._tuning[confirmable])
        msg.mtype = CON if confirmable else NON
        pipe.add_response(msg, is_last=False)  # synchronous down to the socket: mid is set now
        self._observations[tuple(path)] = (pipe, seq, done)
        if confirmable:
            result = self._exchanges.watch(msg.remote, msg.mid)
        else:
            result = asyncio.get_running_loop().create_future()
            result.set_result("sent")
        return Notification(msg.mid, confirmable, seq, result)

    # platform -> device ------------------------------------------------------------------

    def observe_response(self, mid: int, payload: bytes, code: Code = Code.CONTENT) -> bool:
        return self._answer("observe", mid, (code, payload))

    def read_response(self, mid: int, payload: bytes, code: Code = Code.CONTENT) -> bool:
        return self._answer("read", mid, (code, payload))

    def write_response(self, mid: int, code: Code = Code.CHANGED) -> bool:
        return self._answer("write", mid, (code, b""))

    def execute_response(self, mid: int, code: Code = Code.CHANGED) -> bool:
        return self._answer("execute", mid, (code, b""))

    def _answer(self, kind: str, mid: int, value: tuple[Code, bytes]) -> bool:
        fut = self._pending.get((kind, mid))
        if fut is None or fut.done():
            return False  # no such request waiting (the module answers ERROR)
        fut.set_result(value)
        return True

    async def _ask(self, kind: str, mid: int, callback: Callable | None, args: tuple,
                   default: tuple[Code, bytes]) -> tuple[Code, bytes]:
        answer = callback(mid, *args) if callback is not None else default
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:  # the AT layer answers later with *_response(mid, ...)
            fut = self._pending[(kind, mid)] = asyncio.get_running_loop().create_future()
            try:
                return await fut
            finally:
                self._pending.pop((kind, mid), None)
        if isinstance(answer, tuple):
            return answer
        if kind in ("write", "execute"):
            return Code(answer), b""
        return Code.CONTENT, bytes(answer)

    async def _serve(self, path: Path, pipe) -> None:
        req = pipe.request
        if req.code == Code.GET and req.opt.observe == 0:
            code, payload = await self._ask("observe", req.mid, self.on_observe, (path, False), (Code.CONTENT, b""))
            ok = code.is_successful()
            resp = aiocoap.Message(code=code, payload=payload, content_format=OCTET_STREAM if ok else None)
            if not ok:
                pipe.add_response(resp, is_last=True)
                return
            old = self._observations.pop(path, None)
            if old is not None and not old[2].done():
                old[2].set_result(None)
            done = asyncio.get_running_loop().create_future()
            resp.opt.observe = 0
            self._observations[path] = (pipe, 0, done)
            pipe.add_response(resp, is_last=False)
            pipe.on_interest_end(lambda: (not done.done()) and done.set_result(None))
            try:
                await done  # the observation lives as long as this render does
            finally:
                if self._observations.get(path, (None, 0, None))[2] is done:
                    del self._observations[path]
            return
        if req.code == Code.GET:
            cancel = req.opt.observe == 1
            if cancel:
                entry = self._observations.pop(path, None)
                if entry is not None and not entry[2].done():
                    entry[2].set_result(None)
                code, payload = await self._ask("observe", req.mid, self.on_observe, (path, True), (Code.CONTENT, b""))
            else:
                code, payload = await self._ask("read", req.mid, self.on_read, (path,), (Code.CONTENT, b""))
            pipe.add_response(aiocoap.Message(code=code, payload=payload), is_last=True)
        elif req.code == Code.PUT:
            code, _ = await self._ask("write", req.mid, self.on_write, (path, req.payload), (Code.CHANGED, b""))
            pipe.add_response(aiocoap.Message(code=code), is_last=True)
        elif req.code == Code.POST:  # Execute (LwM2M 1.0 §5.4.5): +QLWURC: "execute", AT+QLWEXERSP
            code, _ = await self._ask("execute", req.mid, self.on_execute, (path, req.payload),
                                      (Code.METHOD_NOT_ALLOWED, b""))
            pipe.add_response(aiocoap.Message(code=code), is_last=True)
        else:
            pipe.add_response(aiocoap.Message(code=Code.METHOD_NOT_ALLOWED), is_last=True)


