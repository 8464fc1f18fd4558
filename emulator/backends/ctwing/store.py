"""CTWing data store and command queue: the one place every access protocol writes to.

Uplinks are kept as raw bytes and shown the way the platform's 数据查看 page shows them, in
base64 (guide 001 §4.1.5.1: "hello world" -> ``aGVsbG8gd29ybGQ=``). Downlink commands
(指令下发, guide 001 §4.1.5.2) queue per device and move ``queued -> sent -> delivered | failed``;
access servers register ``on_command_queued`` listeners to push them to connected devices.
Each command has a time-to-live (指令缓存时长, the AEP CreateCommand ``ttl``: seconds, 0-864000,
default 7200, 0 = do not cache): still ``queued`` when it runs out -> ``failed`` with reason
"ttl expired" (ttl 0: failed at once unless the device is online). A ``sent`` command the device
never answers (an LwM2M Write with no AT+QLWWRRSP, an MQTT PUBLISH never acknowledged) fails
with "no response" after ``response_timeout`` (default: CoAP EXCHANGE_LIFETIME, 247 s, RFC 7252
§4.8.2); ``on_command_expired`` listeners then let the access server move on to the next
command. Both timers run on the VirtualClock; a late answer to an expired command is ignored.
Online/offline state lives on the registry's devices and is changed only through ``set_online``.

Must not: do I/O, import asyncio/socket/time; the only time source is the injected clock
(``clock.now()`` and its timers). Listeners are plain callables invoked synchronously.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ...errors import EmulatorError
from .registry import Registry, UnknownDeviceError

if TYPE_CHECKING:  # pragma: no cover
    from ...core.clock import VirtualClock

UPLINK_PROTOCOLS = ("lwm2m", "mqtt", "tcp")
MAX_PAYLOAD = 64 * 1024
DEFAULT_TTL = 7200.0  # AEP CreateCommand: "ttl ... 不携带则默认值：7200", range 0-864000 s
MAX_TTL = 864000.0
RESPONSE_TIMEOUT = 247.0  # RFC 7252 §4.8.2 EXCHANGE_LIFETIME: no answer to a request after this

# status -> statuses it may move to
_TRANSITIONS = {
    "queued": ("sent", "failed"),
    "sent": ("delivered", "failed"),
    "delivered": (),
    "failed": (),
}


class CommandStateError(EmulatorError, ValueError):
    """A command status change that the queue_command life cycle does not allow."""


@dataclass
class Command:
    id: int
    device_id: str
    payload: bytes
    status: str = "queued"
    created: float = 0.0
    sent_at: float | None = None
    delivered_at: float | None = None
    failed_at: float | None = None
    reason: str | None = None
    ttl: float = DEFAULT_TTL

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "status": self.status,
            "payload_hex": self.payload.hex(),
            "base64": base64.b64encode(self.payload).decode(),
            "size": len(self.payload),
            "created": self.created,
            "sent_at": self.sent_at,
            "delivered_at": self.delivered_at,
            "failed_at": self.failed_at,
            "reason": self.reason,
            "ttl": self.ttl,
        }


class Store:
    def __init__(self, clock: "VirtualClock", registry: Registry | None = None,
                 response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.clock = clock
        self.response_timeout = float(response_timeout)
        self._timers: dict[int, Any] = {}  # command id -> its pending ttl / response timer
        self._expired_listeners: list[Callable[[Command], None]] = []
        self.registry = registry
        self._data: dict[str, list[dict[str, Any]]] = {}
        self._commands: dict[int, Command] = {}
        self._ids = itertools.count(1)
        self._queued_listeners: list[Callable[[Command], None]] = []
        self._online_listeners: list[Callable[[str, bool], None]] = []
        self._uplink_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._online: set[str] = {d.device_id for d in registry.all_devices() if d.online} if registry else set()

    # --- listeners -----------------------------------------------------------------------
    def on_command_queued(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after every queue_command (servers deliver if the device is online)."""
        self._queued_listeners.append(callback)

    def on_command_expired(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after a command failed on its ttl or its response timeout."""
        self._expired_listeners.append(callback)

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

    def _cmd(self, cmd_id: int) -> Command:
        try:
            return self._commands[int(cmd_id)]
        except (KeyError, ValueError):
            raise CommandStateError(f"unknown command id {cmd_id!r}") from None

    def _move(self, cmd_id: int, status: str) -> Command:
        cmd = self._cmd(cmd_id)
        if status not in _TRANSITIONS[cmd.status]:
            raise CommandStateError(f"command {cmd.id} is {cmd.status}; cannot become {status}")
        cmd.status = status
        return cmd

    # --- uplink data ---------------------------------------------------------------------
    def record_uplink(self, device_id: str, payload: bytes, protocol: str,
                      topic: str | None = None, ts: float | None = None) -> dict[str, Any]:
        """Store one uplink message; returns the stored record."""
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
        self._data.setdefault(device_id, []).append(record)
        for listener in list(self._uplink_listeners):
            listener(device_id, dict(record))
        return dict(record)

    def data(self, device_id: str) -> list[dict[str, Any]]:
        """Uplinks of a device, oldest first (copies)."""
        return [dict(r) for r in self._data.get(str(device_id), [])]

    def payloads(self, device_id: str) -> list[bytes]:
        return [base64.b64decode(r["base64"]) for r in self._data.get(str(device_id), [])]

    # --- command queue -------------------------------------------------------------------
    def queue_command(self, device_id: str, payload: bytes, ttl: float | None = None) -> Command:
        device_id = self._check_device(device_id)
        if not isinstance(payload, (bytes, bytearray)):
            raise TypeError(f"command payload must be bytes, not {type(payload).__name__}")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"command payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
        ttl = check_ttl(ttl)
        cmd = Command(next(self._ids), device_id, bytes(payload), created=self.clock.now(), ttl=ttl)
        self._commands[cmd.id] = cmd
        if ttl == 0 and not self.is_online(device_id):
            return self.mark_failed(cmd.id, "ttl expired")  # 0 = not cached
        if ttl > 0:
            self._arm(cmd, ttl, "queued", "ttl expired")
        for listener in list(self._queued_listeners):
            listener(cmd)
        return cmd

    def next_queued(self, device_id: str) -> Command | None:
        for cmd in self._commands.values():  # ids ascend with insertion: oldest first
            if cmd.device_id == str(device_id) and cmd.status == "queued":
                return cmd
        return None

    def mark_sent(self, cmd_id: int) -> Command:
        cmd = self._move(cmd_id, "sent")
        cmd.sent_at = self.clock.now()
        self._arm(cmd, self.response_timeout, "sent", "no response")
        return cmd

    def mark_delivered(self, cmd_id: int) -> Command:
        cmd = self._move(cmd_id, "delivered")
        cmd.delivered_at = self.clock.now()
        self._disarm(cmd.id)
        return cmd

    def mark_failed(self, cmd_id: int, reason: str = "") -> Command:
        cmd = self._move(cmd_id, "failed")
        cmd.failed_at = self.clock.now()
        cmd.reason = reason or "failed"
        self._disarm(cmd.id)
        return cmd

    def settle(self, cmd_id: int, ok: bool, reason: str = "") -> Command | None:
        """The device's answer to a sent command: delivered or failed. A late answer (the
        command already failed on its response timeout) changes nothing and returns None."""
        if self.command(cmd_id).status != "sent":
            return None
        return self.mark_delivered(cmd_id) if ok else self.mark_failed(cmd_id, reason)

    def _arm(self, cmd: Command, delay: float, status: str, reason: str) -> None:
        self._disarm(cmd.id)

        def expire() -> None:
            if self._commands.get(cmd.id) is not cmd or cmd.status != status:
                return
            self._timers.pop(cmd.id, None)
            self.mark_failed(cmd.id, reason)
            for listener in list(self._expired_listeners):
                listener(cmd)
        self._timers[cmd.id] = self.clock.call_later(delay, expire, name=f"ctwing command {cmd.id} {status}")

    def _disarm(self, cmd_id: int) -> None:
        timer = self._timers.pop(cmd_id, None)
        if timer is not None:
            timer.cancel()

    def command(self, cmd_id: int) -> Command:
        return self._cmd(cmd_id)

    def commands(self, device_id: str) -> list[Command]:
        return [c for c in self._commands.values() if c.device_id == str(device_id)]

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
        self._commands.clear()
        for cmd_id in list(self._timers):
            self._disarm(cmd_id)


def check_ttl(ttl: Any) -> float:
    """The ``ttl`` of a command in seconds (None: the AEP default); ValueError when out of range."""
    if ttl is None:
        return DEFAULT_TTL
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl {ttl!r} must be a number of seconds from 0 to {int(MAX_TTL)}")
    return float(ttl)
