"""The CTWing LwM2M server on loopback: aiocoap resources for /rd and the platform's requests.

Device -> platform: ``POST /rd?ep=&lt=&b=&lwm2m=`` Register (2.01, Location-Path rd/<n>),
``POST /rd/<n>`` Update (2.04), ``DELETE /rd/<n>`` De-register (2.02). Platform -> device, out
of the listener the device talks to and to the address it registered from: ``GET /19/0/0``
Observe=0 (with the hooks' Accept, if any) after registration when 19/0 is announced, each
notification (NON or CON; aiocoap ACKs CON) reported as an uplink: its application bytes
(``payload_codec``) and Content-Format; a Write for each queued downlink (``PUT /19/1/0`` opaque
42 by default, or TLV / SenML CBOR on /19/1/0/0 per the hooks' ``downlink_format``; a device that
did not register 19/1 gets none, the command fails at once), right after Register/Update or an uplink (seed 001 §4.1.3.1: "send data or Update to
trigger downlink"; guide 001 §4.1, docs/guides.md), or on :meth:`Lwm2mServer.kick` while reachable (a
queue-mode registration: within ``queue_awake`` s of its last message). 2.04 ->
delivered, anything else or no answer -> failed; when the platform stops waiting for the
answer (the command timed out, :meth:`Lwm2mServer.abandon_downlink`), the device's next command
goes out.

Everything about devices and commands lives behind :class:`Lwm2mPlatformHooks` (the CTWing
backend implements it). Timers: lifetimes run on the VirtualClock (models); CoAP retransmission
of the platform's own CON requests is aiocoap's and runs on the wall clock (``ack_timeout``,
``max_retransmit`` tune it).

Must not: store device/command data (hooks do), or touch aiocoap internals (the adapters do).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import aiocoap
from aiocoap import CON, Code
from aiocoap import error as coap_error
from aiocoap.numbers.constants import TransportTuning
from aiocoap.resource import Resource

from . import coap_adapter, dtls_adapter, payload_codec
from .models import (
    DOWNLINK_PATH, UPLINK_PATH, FORBIDDEN, Lwm2mError, Registration, Registry,
    imei_of_endpoint, parse_object_links, parse_register_query, parse_update_query,
)

log = logging.getLogger("modemu.lwm2m")
_CODES = {"4.00": Code.BAD_REQUEST, "4.03": Code.FORBIDDEN, "4.04": Code.NOT_FOUND}
EVENTS_KEPT = 200
# Queue mode (LwM2M 1.1 Core §6.5.1, 1.0 §8.3): the client listens for MAX_TRANSMIT_WAIT (93 s,
# RFC 7252 §4.8.2) after each message it sends; Leshan's default "awake time" is the same 93 s.
QUEUE_AWAKE = 93.0


def _segments(path: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(str(p) for p in path)


class Lwm2mPlatformHooks(Protocol):
    """What the CTWing backend provides (device registry, uplink store, command queue)."""

    def authorize(self, endpoint: str, dtls_identity: str | None) -> str | None: ...
    def psk_for(self, identity: str) -> bytes | None: ...
    def on_registered(self, device_id: str, reg: Registration) -> None: ...
    def on_deregistered(self, device_id: str, reason: str) -> None: ...
    # ``payload`` = the application bytes (payload_codec.application_bytes); ``content_format``
    # = the notification's Content-Format (None: the device sent none)
    def on_uplink(self, device_id: str, payload: bytes, confirmable: bool,
                  content_format: int | None = None) -> None: ...
    def next_downlink(self, device_id: str) -> tuple[int, bytes] | None: ...
    def downlink_result(self, device_id: str, command_id: int, ok: bool, reason: str) -> None: ...
    # optional: False = the platform does not observe 19/0/0 by itself (auto-subscribe "no")
    def auto_observe(self, device_id: str) -> bool: ...
    # optional: whether to start writing queued downlinks now; ``trigger`` is "queued",
    # "abandoned" (the write in flight was given up) or "contact" (Register / Update / uplink).
    # Without it: whenever the device is reachable.
    def should_deliver(self, device_id: str, trigger: str, reachable: bool) -> bool: ...
    # optional: the Accept of the platform's Observe of 19/0/0 (a payload_codec.ACCEPT_FORMATS
    # name or a number; None: no Accept option)
    def observe_accept(self, device_id: str) -> str | int | None: ...
    # optional: how commands are written ("opaque", "tlv", "senml-cbor"; payload_codec)
    def downlink_format(self, device_id: str) -> str: ...


class _RdSite(Resource):
    """The whole site: /rd and /rd/<n>; anything else is 4.04."""

    def __init__(self, server: "Lwm2mServer") -> None:
        super().__init__()
        self.server = server

    async def render(self, request: aiocoap.Message) -> aiocoap.Message:
        path = tuple(request.opt.uri_path)
        try:
            if path == ("rd",) and request.code == Code.POST:
                return self.server._register(request)
            if len(path) == 2 and path[0] == "rd" and request.code in (Code.POST, Code.DELETE):
                location = "/rd/" + path[1]
                if request.code == Code.POST:
                    return self.server._update(location, request)
                return self.server._deregister(location, request)
        except Lwm2mError as exc:
            log.info("%s %s from %s: %s %s", request.code, "/".join(path), request.remote, exc.code, exc.message)
            return aiocoap.Message(code=_CODES[exc.code], payload=exc.message.encode())
        if path[:1] == ("rd",):
            return aiocoap.Message(code=Code.METHOD_NOT_ALLOWED)
        return aiocoap.Message(code=Code.NOT_FOUND)


class Lwm2mServer:
    def __init__(self, hooks: Lwm2mPlatformHooks, clock: Any, *, host: str = "127.0.0.1", port: int = 0,
                 dtls_port: int | None = 0, ack_timeout: float = 2.0, max_retransmit: int = 4,
                 reachable_for: float | None = None, dtls_ciphers: tuple[str, ...] | None = None,
                 queue_awake: float | None = QUEUE_AWAKE) -> None:
        self.hooks = hooks
        self.clock = clock
        self.host, self.port, self.dtls_port = host, port, dtls_port
        self.reachable_for = reachable_for  # None: a registered device is always reachable (DRX)
        self.queue_awake = queue_awake  # queue-mode devices: reachable this long after a message
        self.registrations = Registry(clock, self._expired)
        self.dtls_status = "disabled" if dtls_port is None else "not started"
        self.dtls_ciphers = dtls_ciphers or dtls_adapter.PSK_SUITES  # LwM2M 1.0 TS §7.1.7 both suites
        self.dtls: Any = None  # the listener's DtlsServerEngine once started
        self.endpoints: dict[str, tuple[str, int]] = {}
        self._tuning = type("PlatformTuning", (TransportTuning,), {
            "ACK_TIMEOUT": float(ack_timeout), "MAX_RETRANSMIT": int(max_retransmit), "reliability": True})()
        self._ctx: aiocoap.Context | None = None
        self._remotes: dict[str, Any] = {}  # location -> aiocoap remote (plain address or DTLS session)
        self._observers: dict[str, asyncio.Task] = {}
        self._delivering: dict[str, asyncio.Task] = {}
        # security events (failed DTLS handshakes) for the console's event stream: the newest
        # EVENTS_KEPT in ``events``, each also passed to ``on_event`` when set
        self.events: list[dict[str, Any]] = []
        self.on_event: Any = None

    # lifecycle -----------------------------------------------------------------------------

    async def start(self, sockets: dict[str, Any] | None = None) -> dict[str, tuple[str, int]]:
        """Listen (``sockets``: UDP sockets bound before for ``plain`` / ``dtls``, else the ports)."""
        sockets = sockets or {}
        self._ctx = coap_adapter.new_context(_RdSite(self), "modemu.lwm2m.coap")
        self.endpoints["ctwing_lwm2m"] = await coap_adapter.add_plain_listener(
            self._ctx, self.host, self.port, sockets.get("plain"))
        if self.dtls_port is not None:
            if dtls_adapter.DTLS_AVAILABLE:
                self.dtls = await dtls_adapter.add_dtls_listener(
                    self._ctx, self.host, self.dtls_port, self.hooks.psk_for, self._dtls_failed, self.dtls_ciphers,
                    sock=sockets.get("dtls"))
                self.endpoints["ctwing_lwm2m_dtls"] = self.dtls.bound
                self.dtls_status = "listening"
            else:
                self.dtls_status = "unavailable: " + dtls_adapter.DTLS_MISSING_REASON
                if sockets.get("dtls") is not None:
                    sockets["dtls"].close()
                log.warning("LwM2M DTLS listener not started: %s", self.dtls_status)
        return dict(self.endpoints)

    def _dtls_failed(self, failure: Any) -> None:
        event = {"type": "dtls_handshake_failed", "at": self.clock.now(), "peer": list(failure.peer),
                 "identity": failure.identity, "reason": failure.reason, "alert": failure.alert}
        self.events.append(event)
        del self.events[:-EVENTS_KEPT]
        if self.on_event is not None:
            self.on_event(event)

    async def stop(self) -> None:
        for task in [*self._observers.values(), *self._delivering.values()]:
            task.cancel()
        self._observers.clear()
        self._delivering.clear()
        if self._ctx is not None:
            await self._ctx.shutdown()
            self._ctx = None

    def reset(self) -> None:
        for location in list(self._observers):
            self._stop_observing(location)
        for task in self._delivering.values():
            task.cancel()
        self._delivering.clear()
        self.registrations.clear()
        self._remotes.clear()

    def kick(self, device_id: str, trigger: str = "queued") -> None:
        """A downlink was queued: deliver now if the device is reachable and the hooks agree,
        else on next contact (``_after_contact``)."""
        reachable = self.registrations.reachable(device_id, self.reachable_for, self.queue_awake)
        ask = getattr(self.hooks, "should_deliver", None)
        if ask(device_id, trigger, reachable) if ask is not None else reachable:
            self._schedule_delivery(device_id)

    def abandon_downlink(self, device_id: str) -> None:
        """The platform stopped waiting for the answer to the Write in flight (its command timed
        out): drop that exchange and go on with the device's next command as ``kick`` would."""
        self._stop_delivering(device_id)
        self.kick(device_id, "abandoned")

    # device -> platform (called by _RdSite.render) ------------------------------------------

    def _register(self, request: aiocoap.Message) -> aiocoap.Message:
        params = parse_register_query(request.opt.uri_query)
        _root, objects = parse_object_links(request.payload)
        identity = dtls_adapter.dtls_identity(request.remote)
        if identity is not None and identity != imei_of_endpoint(params.endpoint):
            # seed 001 §4.1.3.2: PSK identity = IMEI of the endpoint
            raise Lwm2mError(FORBIDDEN, f"DTLS identity {identity!r} does not match endpoint {params.endpoint!r}")
        device_id = self.hooks.authorize(params.endpoint, identity)
        if device_id is None:
            # CTWing forbids unknown endpoints; the module prints +QLWREG: -9 (seed 001 §7)
            raise Lwm2mError(FORBIDDEN, f"unknown endpoint {params.endpoint!r}")
        reg, old = self.registrations.register(params, objects, device_id, self._address(request.remote), identity)
        if old is not None:
            self._stop_observing(old.location)
            self._stop_delivering(old.device_id)
            self._remotes.pop(old.location, None)
        self._remotes[reg.location] = request.remote
        # Observe first, then queued downlinks (seed 001 §4.1.3.1), if the device auto-subscribes
        self._after_contact(reg, observe=self._auto_observe(device_id))
        self.hooks.on_registered(device_id, reg)
        return aiocoap.Message(code=Code.CREATED, location_path=tuple(reg.location.strip("/").split("/")))

    def _update(self, location: str, request: aiocoap.Message) -> aiocoap.Message:
        params = parse_update_query(request.opt.uri_query)
        reg = self._check_owner(location, request)
        objects = parse_object_links(request.payload)[1] if request.payload else None
        moved = self._address(request.remote) != reg.remote
        self.registrations.update(location, params, self._address(request.remote), objects)
        self._remotes[location] = request.remote
        # re-observe only if the device moved (new source port) or no observation is running
        self._after_contact(reg, observe=(moved or location not in self._observers)
                            and self._auto_observe(reg.device_id))
        return aiocoap.Message(code=Code.CHANGED)

    def _auto_observe(self, device_id: str) -> bool:
        ask = getattr(self.hooks, "auto_observe", None)
        return True if ask is None else bool(ask(device_id))

    def _deregister(self, location: str, request: aiocoap.Message) -> aiocoap.Message:
        self._check_owner(location, request)
        reg = self.registrations.deregister(location)
        self._stop_observing(location)
        self._stop_delivering(reg.device_id)
        self._remotes.pop(location, None)
        self.hooks.on_deregistered(reg.device_id, "deregistered")
        return aiocoap.Message(code=Code.DELETED)

    def _check_owner(self, location: str, request: aiocoap.Message) -> Registration:
        reg = self.registrations.get(location)
        if dtls_adapter.dtls_identity(request.remote) != reg.dtls_identity:
            raise Lwm2mError(FORBIDDEN, f"{location} belongs to another (D)TLS identity")
        return reg

    def _expired(self, reg: Registration, reason: str) -> None:
        self._stop_observing(reg.location)
        self._stop_delivering(reg.device_id)
        self._remotes.pop(reg.location, None)
        self.hooks.on_deregistered(reg.device_id, reason)

    @staticmethod
    def _address(remote: Any) -> tuple[str, int]:
        return (coap_adapter.plain_remote_address(remote) or dtls_adapter.dtls_remote_address(remote)
                or ("?", 0))

    # platform -> device --------------------------------------------------------------------

    def _after_contact(self, reg: Registration, *, observe: bool) -> None:
        """Runs inside render: the tasks start after the response went out."""
        if observe and reg.lists(UPLINK_PATH):
            self._stop_observing(reg.location)
            self._observers[reg.location] = asyncio.get_running_loop().create_task(
                self._observe(reg.location, reg.device_id), name=f"lwm2m observe {reg.endpoint}")
        self._contact(reg.device_id)

    def _contact(self, device_id: str) -> None:
        """The device just talked to the platform: reachable now; write what the hooks allow."""
        ask = getattr(self.hooks, "should_deliver", None)
        if ask is None or ask(device_id, "contact", True):
            self._schedule_delivery(device_id)

    def _stop_observing(self, location: str) -> None:
        task = self._observers.pop(location, None)
        if task is not None:
            task.cancel()
        self.registrations.forget_observation(location, UPLINK_PATH)

    def _request(self, location: str, **kwargs: Any) -> aiocoap.protocol.Request:
        msg = aiocoap.Message(transport_tuning=self._tuning, **kwargs)
        msg.remote = self._remotes[location]
        return self._ctx.request(msg, handle_blockwise=False)

    async def _observe(self, location: str, device_id: str) -> None:
        ask_accept = getattr(self.hooks, "observe_accept", None)
        accept = ask_accept(device_id) if ask_accept is not None else None
        accept = payload_codec.ACCEPT_FORMATS.get(accept, accept)  # a name or a number
        extra = {} if accept is None else {"accept": accept}
        req = self._request(location, code=Code.GET, uri_path=_segments(UPLINK_PATH), observe=0, **extra)
        try:
            first = await req.response
            if not first.code.is_successful() or first.opt.observe is None:
                log.info("device %s refused observe of 19/0/0: %s", device_id, first.code)
                return
            self.registrations.observe(location, UPLINK_PATH, first.token, first.opt.observe)
            async for note in req.observation:
                if location not in self._remotes:
                    break
                self.registrations.notified(location, UPLINK_PATH, note.opt.observe)
                self._uplink(device_id, note)
                self._contact(device_id)
        except asyncio.CancelledError:
            raise
        except coap_error.Error as exc:  # network error, RST, observation ended by the device
            log.info("observation of %s 19/0/0 ended: %r", device_id, exc)
        except Exception:  # a bug in the hooks must not vanish silently
            log.exception("observation of %s 19/0/0 failed", device_id)
        finally:
            coap_adapter.end_observation(req)  # later notifications are answered RST, not ACKed
            if self._observers.get(location) is asyncio.current_task():
                del self._observers[location]
                self.registrations.forget_observation(location, UPLINK_PATH)

    def _uplink(self, device_id: str, note: aiocoap.Message) -> None:
        """Store the application bytes of a notification (payload_codec) with its format; a
        payload that does not decode as its format says is kept whole, with one log line."""
        fmt = note.opt.content_format
        fmt = None if fmt is None else int(fmt)
        try:
            data = payload_codec.application_bytes(fmt, note.payload, UPLINK_PATH)
        except payload_codec.PayloadError as exc:
            log.warning("device %s: notification in Content-Format %s kept as sent: %s", device_id, fmt, exc)
            data = note.payload
        self.hooks.on_uplink(device_id, data, note.mtype == CON, content_format=fmt)

    def _write_for(self, reg: Registration, payload: bytes) -> tuple[tuple[int, ...], int, bytes] | str:
        """The Write for one command, or why it cannot be sent (LwM2M 1.0 §5.4.3: a Write to an
        object the client did not register would only earn 4.04)."""
        if not reg.lists(DOWNLINK_PATH):
            return (f"the device did not register object /{DOWNLINK_PATH[0]} instance {DOWNLINK_PATH[1]} "
                    f"(registered: {reg.links_text() or 'nothing'}): command not sent")
        ask = getattr(self.hooks, "downlink_format", None)
        fmt = ask(reg.device_id) if ask is not None else "opaque"
        try:
            return payload_codec.write_request(fmt, payload, DOWNLINK_PATH)
        except payload_codec.PayloadError as exc:
            return str(exc)

    def _stop_delivering(self, device_id: str) -> None:
        """The registration ended: a write still waiting for the device's answer is failed
        (in ``_deliver``) and no longer holds back the device's later commands."""
        task = self._delivering.pop(device_id, None)
        if task is not None:
            task.cancel()

    def _schedule_delivery(self, device_id: str) -> None:
        if device_id in self._delivering:
            return  # the running loop asks next_downlink again after each write
        self._delivering[device_id] = asyncio.get_running_loop().create_task(
            self._deliver(device_id), name=f"lwm2m downlink {device_id}")

    async def _deliver(self, device_id: str) -> None:
        try:
            while True:
                reg = self.registrations.by_device(device_id)
                item = self.hooks.next_downlink(device_id) if reg is not None else None
                if item is None:
                    return
                command_id, payload = item
                write = self._write_for(reg, bytes(payload))
                if isinstance(write, str):
                    self.hooks.downlink_result(device_id, command_id, False, write)
                    continue
                path, fmt, body = write
                try:
                    resp = await self._request(reg.location, code=Code.PUT, uri_path=_segments(path),
                                               payload=body, content_format=fmt).response
                except asyncio.CancelledError:
                    self.hooks.downlink_result(device_id, command_id, False,
                                               "no answer: the registration ended (or the platform stopped)")
                    raise
                except Exception as exc:  # ConRetransmitsExceeded, RST, shutdown
                    self.hooks.downlink_result(device_id, command_id, False, f"no response: {exc}")
                    return  # the device is unreachable: keep the rest queued for the next contact
                ok = resp.code == Code.CHANGED
                self.hooks.downlink_result(device_id, command_id, ok, str(resp.code))
        finally:
            if self._delivering.get(device_id) is asyncio.current_task():
                del self._delivering[device_id]
