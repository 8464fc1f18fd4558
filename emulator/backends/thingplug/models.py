"""The ThingPlug platform's business rules, on top of the registry and the store.

One call per protocol operation, used by the broker adaptor and the console API alike:
``authenticate(user name)``, ``may_publish``/``may_subscribe(token, topic)``, ``relay_refusal``
(whether a PUBLISH may reach other subscribers),
``publish(token, topic, payload)`` (every PUBLISH a client sends: stored, or rejected with an
error entry), ``send_rpc``/``set_attribute`` (build the /down message), ``rpc_delivered``.

Rules (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame): the MQTT user name is the device token; a token may publish only under
its own ``v1/dev/{service}/{device}/`` prefix and subscribe only inside its own service;
payloads above :data:`MAX_PAYLOAD` bytes are rejected (an emulator limit: ThingPlug's own is not
public; the WM-N400MSE caps AT data at 500 bytes); telemetry/attribute payloads must match the
descriptor (see ``store.decode_data``).

RPC ids are what the device sees in ``rpcReq.id`` and in ``+SKTPCMD``; they look like the real
service's (``1815296803`` in the BG96 transcript, WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md) but count up
deterministically from :data:`FIRST_RPC_ID`. ``cmdId`` counts from 1.

Must not: do I/O, import asyncio, or read the clock except through the ``now`` callable.
"""

from __future__ import annotations

import base64

from dataclasses import dataclass
from typing import Any, Callable

from . import protocol
from .protocol import ProtocolError, Topic
from .registry import Device, InvalidError, Registry
from .store import FAILED, FINISHED, PENDING, PayloadError, Rpc, Store, decode_data

MAX_PAYLOAD = 2048
FIRST_RPC_ID = 1815296803


@dataclass(frozen=True)
class Outcome:
    """What became of one PUBLISH: ``accepted`` False means an error entry was recorded."""

    accepted: bool
    reason: str = ""


@dataclass(frozen=True)
class Downlink:
    """A message for ``topic`` the adaptor must publish (``rpc`` set for jsonRpc)."""

    topic: str
    payload: bytes
    message: dict[str, Any]
    rpc: Rpc | None = None


class ThingPlugModel:
    def __init__(self, registry: Registry, now: Callable[[], float], store: Store | None = None) -> None:
        self.registry = registry
        self.store = store or Store()
        self.now = now
        self._next_rpc_id = FIRST_RPC_ID
        self._next_cmd_id = 1
        # live events (observe/bus.py; the backend sets its context's publish here)
        self.events: Callable[..., Any] = lambda *_a, **_k: None

    def reset(self) -> None:
        self.store.reset()
        self._next_rpc_id = FIRST_RPC_ID
        self._next_cmd_id = 1

    # --- connection / ACL ---------------------------------------------------------------------
    def authenticate(self, username: str | None) -> Device | None:
        """CONNECT: the user name must be a known device token; password and client id are free."""
        return self.registry.device_by_token(username)

    def may_publish(self, token: str | None, topic: str) -> bool:
        device = self.registry.device_by_token(token)
        return device is not None and topic.startswith(protocol.topic_prefix(device.service, device.name))

    def may_subscribe(self, token: str | None, topic_filter: str) -> bool:
        return self.subscription_refusal(token, topic_filter) is None

    def subscription_refusal(self, token: str | None, topic_filter: str) -> str | None:
        """Why a SUBSCRIBE is refused, or None. Allowed: filters inside the token's own service
        (``v1/dev/<svc>/<dev|+>/...``, ``v1/dev/<svc>/#``: an application may log in with any
        device token), except another device's own ``/down`` topic by name: that is a device
        logging in with a token that is not its own (AT+SKTPCON with a mismatched device id),
        which would otherwise look connected while the ACL drops everything it publishes."""
        device = self.registry.device_by_token(token)
        if device is None:
            return "unknown token"
        levels = topic_filter.split("/")
        if levels[:3] != ["v1", "dev", device.service] or len(levels) < 4 or (len(levels) == 4 and levels[3] != "#"):
            return f"outside service {device.service!r}"
        if len(levels) == 5 and levels[4] == "down" and levels[3] not in ("+", device.name):
            return f"the token belongs to device {device.name!r}, not {levels[3]!r}"
        return None

    # --- uplink -------------------------------------------------------------------------------
    def publish(self, token: str | None, topic: str, payload: bytes) -> Outcome:
        """Handle one PUBLISH from a connected client (store it or record why not)."""
        device = self.registry.device_by_token(token)
        if device is None:  # cannot happen after CONNECT auth, unless the device was deleted since
            return Outcome(False, "unknown token")
        if not self.may_publish(token, topic):
            return self._reject(
                device, topic, payload,
                f"token of {device.service}/{device.name} may not publish to {topic!r} (only its own v1/dev topics)",
            )
        if len(payload) > MAX_PAYLOAD:
            return self._reject(device, topic, payload, f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD} bytes")
        try:
            parsed = protocol.parse_topic(topic)
        except ProtocolError as exc:
            return self._reject(device, topic, payload, str(exc))
        try:
            if parsed.kind in ("telemetry", "attribute"):
                self._ingest_data(device, parsed, payload)
            elif parsed.kind == "up":
                return self._ingest_up(device, topic, payload)
            else:
                self._observe_down(device, payload)
        except (PayloadError, ProtocolError) as exc:
            return self._reject(device, topic, payload, str(exc))
        return Outcome(True)

    def relay_refusal(self, token: str | None, topic: str, payload: bytes) -> str | None:
        """Why a client's PUBLISH (already past the topic ACL) must not reach subscribers, or None.
        Side-effect free twin of :meth:`publish`'s checks: too big, not simple_v1, data that does
        not match the descriptor, malformed /up or /down JSON. (Whether an /up result names a
        known RPC depends on the store and is only judged by ``publish``.)"""
        device = self.registry.device_by_token(token)
        if device is None:
            return "unknown token"
        if len(payload) > MAX_PAYLOAD:
            return f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD} bytes"
        try:
            parsed = protocol.parse_topic(topic)
            if parsed.kind in ("telemetry", "attribute"):
                decode_data(parsed.kind, parsed.fmt, payload, self.registry.get_service(device.service).descriptor)
            elif parsed.kind == "up":
                protocol.parse_up(payload)
            else:
                protocol.parse_down(payload)
        except (PayloadError, ProtocolError) as exc:
            return str(exc)
        return None

    def _reject(self, device: Device, topic: str, payload: bytes, reason: str) -> Outcome:
        self.store.add_error(device.service, device.name, self.now(), reason, topic, payload)
        self.events("refused", platform="thingplug", device=f"{device.service}/{device.name}", reason=reason, topic=topic)
        return Outcome(False, reason)

    def _ingest_data(self, device: Device, topic: Topic, payload: bytes) -> None:
        descriptor = self.registry.get_service(device.service).descriptor
        data, ts = decode_data(topic.kind, topic.fmt, payload, descriptor)
        if topic.kind == "telemetry":
            self.store.add_telemetry(device.service, device.name, data, self.now() if ts is None else ts)
        else:
            self.store.update_attributes(device.service, device.name, data)
        self.events("uplink", platform="thingplug", device=f"{device.service}/{device.name}", kind=topic.kind,
                     data=data, base64=base64.b64encode(payload).decode())

    def _ingest_up(self, device: Device, topic: str, payload: bytes) -> Outcome:
        message = protocol.parse_up(payload)
        if isinstance(message, protocol.UpCommand):
            return Outcome(True)  # enlist/delist: accepted; the emulator has no app subscriptions model
        if not self.store.has_rpc(message.rpc_id):
            return self._reject(device, topic, payload, f"RPC result for unknown rpc id {message.rpc_id}")
        rpc = self.store.get_rpc(message.rpc_id)
        if (rpc.service, rpc.device) != (device.service, device.name):
            return self._reject(device, topic, payload, f"rpc id {message.rpc_id} was sent to {rpc.service}/{rpc.device}")
        try:
            rpc = self.store.rpc_result(message.rpc_id, message.success, message.result, self.now())
            self.events("downlink", platform="thingplug", device=f"{device.service}/{device.name}", kind="rpc",
                         id=rpc.id, status=rpc.status, result=rpc.result)
        except ValueError as exc:
            return self._reject(device, topic, payload, str(exc))
        return Outcome(True)

    def _observe_down(self, device: Device, payload: bytes) -> None:
        """An application published on /down itself: track its jsonRpc so the result can finish it."""
        message = protocol.parse_down(payload)
        if isinstance(message, protocol.DownSetAttribute):
            self.store.add_command(device.service, device.name, {
                "cmd": "setAttribute", "cmdId": message.cmd_id, "attribute": message.attributes, "source": "mqtt"})
            return
        if self.store.has_rpc(message.rpc_id):
            old = self.store.get_rpc(message.rpc_id)
            if old.status not in (FINISHED, FAILED):
                return  # the platform's own request, or a repeat of one still open
            # else: an application reusing an id whose RPC is over (its counter restarted): a new RPC
        rpc = Rpc(message.rpc_id, device.service, device.name, message.method, message.params, message.mode,
                  message.cmd_id, self.now(), source="mqtt", status=PENDING)
        self.store.add_rpc(rpc)

    # --- downlink -----------------------------------------------------------------------------
    def send_rpc(self, service: str, device: str, method: str, params: Any = None, mode: str = "twoway") -> Downlink:
        self.registry.get_device(service, device)
        if method not in protocol.RPC_METHODS:  # a module can answer (AT+SKTPRES) only these
            raise InvalidError(f"rpc 'method' must be one of the ThingPlug cmd types {', '.join(protocol.RPC_METHODS)}; "
                               f"got {method!r}")
        if mode not in protocol.RPC_MODES:
            raise InvalidError(f"rpcMode must be one of {', '.join(protocol.RPC_MODES)}")
        rpc_id = self._next_rpc_id
        while self.store.has_rpc(rpc_id):
            rpc_id += 1
        self._next_rpc_id = rpc_id + 1
        cmd_id = self._cmd_id()
        message = protocol.build_rpc_request(service, device, cmd_id, rpc_id, method, params, mode)
        rpc = self.store.add_rpc(Rpc(rpc_id, service, device, method, params, mode, cmd_id, self.now()))
        self.events("downlink", platform="thingplug", device=f"{service}/{device}", kind="rpc", id=rpc.id,
                     status=rpc.status, method=method)
        return Downlink(protocol.down_topic(service, device), protocol.encode(message), message, rpc)

    def rpc_delivered(self, rpc_id: int) -> Rpc:
        rpc = self.store.rpc_pending(rpc_id, self.now())
        self.events("downlink", platform="thingplug", device=f"{rpc.service}/{rpc.device}", kind="rpc", id=rpc.id,
                     status=rpc.status)
        return rpc

    def set_attribute(self, service: str, device: str, attributes: dict[str, Any]) -> Downlink:
        self.registry.get_device(service, device)
        if not isinstance(attributes, dict) or not attributes:
            raise InvalidError("setAttribute needs a non-empty object of attribute values")
        descriptor = self.registry.get_service(service).descriptor
        for name, value in attributes.items():
            attr = descriptor.attribute(name)
            if attr is None:
                raise InvalidError(f"unknown attribute {name!r}; the descriptor has {descriptor.columns('attribute')}")
            if not attr.commandable:
                raise InvalidError(f"attribute {name!r} is not commandable")
            try:
                decode_data("attribute", "json", protocol.encode({name: value}), descriptor)
            except PayloadError as exc:
                raise InvalidError(str(exc)) from None
        message = protocol.build_set_attribute(service, device, self._cmd_id(), dict(attributes))
        self.store.add_command(service, device, message)
        return Downlink(protocol.down_topic(service, device), protocol.encode(message), message)

    def queued_rpcs(self, service: str, device: str) -> list[Downlink]:
        """Platform RPCs still ``initiated`` (the device was not subscribed when they were sent)."""
        out = []
        for rpc in self.store.rpcs(service, device, "initiated"):
            message = protocol.build_rpc_request(service, device, rpc.cmd_id, rpc.id, rpc.method, rpc.params, rpc.mode)
            out.append(Downlink(protocol.down_topic(service, device), protocol.encode(message), message, rpc))
        return out

    def _cmd_id(self) -> int:
        cmd_id, self._next_cmd_id = self._next_cmd_id, self._next_cmd_id + 1
        return cmd_id
