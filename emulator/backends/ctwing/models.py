"""CTWing downlink commands (指令下发, guide 001 §4.1.5.2): the one rule every access server follows.

moto-style model: the commands and their timers live here, the LwM2M, MQTT and TCP servers hold
only their connections and ask this model what to do. The rule, in one place:

- **Which**: per device, the oldest ``queued`` command (ids ascend with insertion), one at a
  time: while a command is ``sent`` and waits for the device's answer, no other goes out
  (:meth:`CommandModel.take_next` answers None).
- **When** (:meth:`CommandModel.should_deliver`): only to a reachable device (the server knows:
  a logged-in TCP session, a connected MQTT client, a live LwM2M registration); and for an LwM2M
  product whose power-saving mode (省电模式, guide 001 §4.1.1) is PSM, not when the command is
  queued but at the device's next contact (Register, Update, an uplink: §4.1.3.1 "send data or
  Update to trigger downlink", §4.1.5.2).
- **How long**: each command has a time-to-live (指令缓存时长, AEP CreateCommand ``ttl``: seconds,
  0-864000, default 7200, 0 = do not cache): still ``queued`` when it runs out -> ``failed``
  "ttl expired" (ttl 0: failed at once unless the device is online). A ``sent`` command the
  device never answers fails "no response" after ``response_timeout`` (default CoAP
  EXCHANGE_LIFETIME, 247 s, RFC 7252 §4.8.2); ``on_expired`` listeners let the server move on
  to the next command. Both timers run on the VirtualClock; a late answer changes nothing.
- **Status**: ``queued -> sent -> delivered | failed`` and ``queued -> failed``; anything else
  raises :class:`CommandStateError`.

Must not: do I/O, import asyncio/socket/time, or know a protocol's framing; the only time source
is the injected clock (``clock.now()`` and its timers). Listeners are plain callables invoked
synchronously (servers hop to their loop themselves).
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ...errors import EmulatorError

if TYPE_CHECKING:  # pragma: no cover
    from ...core.clock import VirtualClock
    from .registry import Registry

MAX_PAYLOAD = 64 * 1024
DEFAULT_TTL = 7200.0  # AEP CreateCommand: "ttl ... 不携带则默认值：7200", range 0-864000 s
MAX_TTL = 864000.0
RESPONSE_TIMEOUT = 247.0  # RFC 7252 §4.8.2 EXCHANGE_LIFETIME: no answer to a request after this

# Why a server asks should_deliver: a command was queued (or the one in flight was given up),
# the device made contact (login, registration, update, uplink), or it subscribed the downlink
# topic (MQTT).
TRIGGERS = ("queued", "abandoned", "contact", "subscribed")

# status -> statuses it may move to
TRANSITIONS = {
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


def check_ttl(ttl: Any) -> float:
    """The ``ttl`` of a command in seconds (None: the AEP default); ValueError when out of range."""
    if ttl is None:
        return DEFAULT_TTL
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 <= ttl <= MAX_TTL:
        raise ValueError(f"ttl {ttl!r} must be a number of seconds from 0 to {int(MAX_TTL)}")
    return float(ttl)


class CommandModel:
    """Every device's downlink commands, their timers and the delivery rule (module docstring).

    ``is_online(device_id)`` answers whether the platform shows the device online (ttl 0);
    ``registry`` (optional) gives the product of a device for the PSM hold.
    """

    def __init__(self, clock: "VirtualClock", *, is_online: Callable[[str], bool] = lambda _d: False,
                 registry: "Registry | None" = None, response_timeout: float = RESPONSE_TIMEOUT) -> None:
        self.clock = clock
        self.registry = registry
        self.is_online = is_online
        self.response_timeout = float(response_timeout)
        self._commands: dict[int, Command] = {}
        self._timers: dict[int, Any] = {}  # command id -> its pending ttl / response timer
        self._ids = itertools.count(1)
        self._queued_listeners: list[Callable[[Command], None]] = []
        self._expired_listeners: list[Callable[[Command], None]] = []

    # --- listeners -----------------------------------------------------------------------
    def on_queued(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after every queue (servers deliver if the device is reachable)."""
        self._queued_listeners.append(callback)

    def on_expired(self, callback: Callable[[Command], None]) -> None:
        """``callback(cmd)`` after a command failed on its ttl or its response timeout."""
        self._expired_listeners.append(callback)

    # --- the queue -----------------------------------------------------------------------
    def queue(self, device_id: str, payload: bytes, ttl: float | None = None) -> Command:
        """A new command for ``device_id`` (checked by the caller), ``queued`` with its ttl timer."""
        if not isinstance(payload, (bytes, bytearray)):
            raise TypeError(f"command payload must be bytes, not {type(payload).__name__}")
        if len(payload) > MAX_PAYLOAD:
            raise ValueError(f"command payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
        ttl = check_ttl(ttl)
        cmd = Command(next(self._ids), str(device_id), bytes(payload), created=self.clock.now(), ttl=ttl)
        self._commands[cmd.id] = cmd
        if ttl == 0 and not self.is_online(cmd.device_id):
            return self.mark_failed(cmd.id, "ttl expired")  # 0 = not cached
        if ttl > 0:
            self._arm(cmd, ttl, "queued", "ttl expired")
        for listener in list(self._queued_listeners):
            listener(cmd)
        return cmd

    def next_queued(self, device_id: str) -> Command | None:
        """The oldest ``queued`` command of the device (whatever is in flight)."""
        for cmd in self._commands.values():  # ids ascend with insertion: oldest first
            if cmd.device_id == str(device_id) and cmd.status == "queued":
                return cmd
        return None

    def in_flight(self, device_id: str) -> Command | None:
        """The device's ``sent`` command still waiting for its answer, if any."""
        for cmd in self._commands.values():
            if cmd.device_id == str(device_id) and cmd.status == "sent":
                return cmd
        return None

    # --- the delivery rule ---------------------------------------------------------------
    def holds_until_contact(self, device_id: str) -> bool:
        """True for a device of an LwM2M product in PSM: a queued command waits for its next
        contact (guide 001 §4.1.1 省电模式; §4.1.3.1, §4.1.5.2)."""
        if self.registry is None:
            return False
        device = self.registry.device_by_id(device_id)
        if device is None:
            return False
        product = self.registry.product_of(device)
        return product.protocol == "lwm2m" and product.power_saving == "PSM"

    def should_deliver(self, device_id: str, trigger: str, reachable: bool) -> bool:
        """Whether a server should start delivering to ``device_id`` now (module docstring)."""
        if trigger not in TRIGGERS:
            raise ValueError(f"trigger {trigger!r} not one of {', '.join(TRIGGERS)}")
        if not reachable:
            return False
        if trigger in ("queued", "abandoned") and self.holds_until_contact(device_id):
            return False
        return True

    def take_next(self, device_id: str) -> Command | None:
        """The command to send now, already moved to ``sent`` (its response timer armed); None
        when nothing is queued or one is still in flight."""
        if self.in_flight(device_id) is not None:
            return None
        cmd = self.next_queued(device_id)
        if cmd is None:
            return None
        return self.mark_sent(cmd.id)

    def written(self, cmd_id: int) -> Command:
        """A transport without an application answer (the CTWing TCP protocol has no downlink
        acknowledgement, guide 001 §4.3.3) wrote the command: delivered."""
        return self.mark_delivered(cmd_id)

    def settle(self, cmd_id: int, ok: bool, reason: str = "") -> Command | None:
        """The device's answer to a sent command: delivered or failed. A late answer (the
        command already failed on its response timeout) changes nothing and returns None."""
        if self.command(cmd_id).status != "sent":
            return None
        return self.mark_delivered(cmd_id) if ok else self.mark_failed(cmd_id, reason)

    # --- status moves --------------------------------------------------------------------
    def _move(self, cmd_id: int, status: str) -> Command:
        cmd = self.command(cmd_id)
        if status not in TRANSITIONS[cmd.status]:
            raise CommandStateError(f"command {cmd.id} is {cmd.status}; cannot become {status}")
        cmd.status = status
        return cmd

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

    # --- timers --------------------------------------------------------------------------
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

    # --- questions -----------------------------------------------------------------------
    def command(self, cmd_id: int) -> Command:
        try:
            return self._commands[int(cmd_id)]
        except (KeyError, ValueError):
            raise CommandStateError(f"unknown command id {cmd_id!r}") from None

    def commands(self, device_id: str) -> list[Command]:
        return [c for c in self._commands.values() if c.device_id == str(device_id)]

    def reset(self) -> None:
        """Forget every command and cancel its timer (listeners stay)."""
        self._commands.clear()
        for cmd_id in list(self._timers):
            self._disarm(cmd_id)
