"""CTWing data store: the one place every access protocol writes uplinks, presence and commands to.

Uplinks are kept as raw bytes and shown the way the platform's 数据查看 page shows them, in
base64 (guide 001 §4.1.5.1: "hello world" -> ``aGVsbG8gd29ybGQ=``). Downlink commands
(指令下发, guide 001 §4.1.5.2) live in one :class:`~.models.CommandModel` (``store.commands``):
which command goes out next, when, its ttl and no-response timers and its status moves are
decided there, for the LwM2M, MQTT and TCP servers alike; the store checks the device exists
and keeps the queue_command / mark_* / settle API as thin delegations. Online/offline state
lives on the registry's devices and is changed only through ``set_online``.

Must not: do I/O, import asyncio/socket/time, or decide anything about command delivery (the
model does); the only time source is the injected clock. Listeners are plain callables invoked
synchronously.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, Callable

from .models import (  # noqa: F401 - re-exported: the store's public command API
    DEFAULT_TTL, MAX_PAYLOAD, MAX_TTL, RESPONSE_TIMEOUT, Command, CommandModel, CommandStateError, check_ttl,
)
from .registry import Registry, UnknownDeviceError

if TYPE_CHECKING:  # pragma: no cover
    from ...core.clock import VirtualClock

UPLINK_PROTOCOLS = ("lwm2m", "mqtt", "tcp")

__all__ = ["Command", "CommandStateError", "DEFAULT_TTL", "MAX_PAYLOAD", "MAX_TTL", "RESPONSE_TIMEOUT", "Store",
           "check_ttl"]


class Store:
    def __init__(self, clock: "VirtualClock", registry: Registry | None = None,
                 response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.clock = clock
        self.registry = registry
        self.commands_model = CommandModel(clock, is_online=self.is_online, registry=registry,
                                           response_timeout=response_timeout)
        self._data: dict[str, list[dict[str, Any]]] = {}
        self._online_listeners: list[Callable[[str, bool], None]] = []
        self._uplink_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._online: set[str] = {d.device_id for d in registry.all_devices() if d.online} if registry else set()
        # live events (observe/bus.py): the backend sets its context's publish here
        self.publish: Callable[..., Any] = lambda *_a, **_k: None

    def _status(self, cmd: Command | None) -> Command | None:
        if cmd is not None:
            self.publish("downlink", platform="ctwing", device=cmd.device_id, kind="command", id=cmd.id,
                         status=cmd.status, reason=getattr(cmd, "reason", "") or "")
        return cmd

    # --- listeners -----------------------------------------------------------------------
    def on_command_queued(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after every queue_command (servers deliver if the device is online)."""
        self.commands_model.on_queued(callback)

    def on_command_expired(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after a command failed on its ttl or its response timeout."""
        self.commands_model.on_expired(callback)

    def on_online_changed(self, callback: Callable[[str, bool], None]) -> None:
        self._online_listeners.append(callback)

    def on_uplink(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        self._uplink_listeners.append(callback)

    # --- helpers -------------------------------------------------------------------------
    def _check_device(self, device_id: str) -> str:
        device_id = str(device_id)
        if self.registry is not None and self.registry.device_by_id(device_id) is None:
            raise UnknownDeviceError(device_id)
        return device_id

    # --- uplink data ---------------------------------------------------------------------
    def record_uplink(self, device_id: str, payload: bytes, protocol: str,
                      topic: str | None = None, ts: float | None = None,
                      content_format: int | None = None) -> dict[str, Any]:
        """Store one uplink message (the application bytes; for LwM2M also the CoAP
        Content-Format it came in, ``content_format``); returns the stored record."""
        device_id = self._check_device(device_id)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"uplink payload must be bytes, not {type(payload).__name__}")
        if protocol not in UPLINK_PROTOCOLS:
            raise ValueError(f"protocol {protocol!r} not one of {', '.join(UPLINK_PROTOCOLS)}")
        payload = bytes(payload)
        record: dict[str, Any] = {
            "ts": self.clock.now() if ts is None else float(ts),
            "base64": base64.b64encode(payload).decode(),
            "protocol": protocol,
            "size": len(payload),
        }
        if topic is not None:
            record["topic"] = topic
        if content_format is not None:
            record["content_format"] = int(content_format)
        self._data.setdefault(device_id, []).append(record)
        for listener in list(self._uplink_listeners):
            listener(device_id, dict(record))
        return dict(record)

    def data(self, device_id: str) -> list[dict[str, Any]]:
        """Uplinks of a device, oldest first (copies)."""
        return [dict(r) for r in self._data.get(str(device_id), [])]

    def payloads(self, device_id: str) -> list[bytes]:
        return [base64.b64decode(r["base64"]) for r in self._data.get(str(device_id), [])]

    # --- command queue (delegations to the CommandModel) ---------------------------------
    @property
    def response_timeout(self) -> float:
        return self.commands_model.response_timeout

    def queue_command(self, device_id: str, payload: bytes, ttl: float | None = None) -> Command:
        return self.commands_model.queue(self._check_device(device_id), payload, ttl)

    def next_queued(self, device_id: str) -> Command | None:
        return self.commands_model.next_queued(device_id)

    def mark_sent(self, cmd_id: int) -> Command:
        return self._status(self.commands_model.mark_sent(cmd_id))

    def mark_delivered(self, cmd_id: int) -> Command:
        return self._status(self.commands_model.mark_delivered(cmd_id))

    def mark_failed(self, cmd_id: int, reason: str = "") -> Command:
        return self._status(self.commands_model.mark_failed(cmd_id, reason))

    def settle(self, cmd_id: int, ok: bool, reason: str = "") -> Command | None:
        return self._status(self.commands_model.settle(cmd_id, ok, reason))

    def command(self, cmd_id: int) -> Command:
        return self.commands_model.command(cmd_id)

    def commands(self, device_id: str) -> list[Command]:
        return self.commands_model.commands(device_id)

    # --- presence ------------------------------------------------------------------------
    def set_online(self, device_id: str, online: bool) -> None:
        device_id = self._check_device(device_id)
        online = bool(online)
        if (device_id in self._online) == online:
            return
        (self._online.add if online else self._online.discard)(device_id)
        if self.registry is not None:
            device = self.registry.devices[device_id]
            device.online = online
            if online:
                device.last_online = self.clock.now()
            else:
                device.last_offline = self.clock.now()
        for listener in list(self._online_listeners):
            listener(device_id, online)

    def is_online(self, device_id: str) -> bool:
        return str(device_id) in self._online

    def reset(self) -> None:
        """Forget data and commands (the registry and listeners stay)."""
        self._data.clear()
        self.commands_model.reset()

