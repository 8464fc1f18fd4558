"""ThingPlug data store: telemetry series, last attribute values, RPCs, and rejected input.

What ThingPlug keeps (seed 000 "디바이스 명세 작성"): every telemetry value over time, only the
last value of each attribute. Telemetry points are ``{"ts": epoch_s, "data": {...}}`` oldest first;
a ``"ts"`` inside a JSON telemetry payload (SKT-ThingPlug2/device-sdk-javame SampleApp) wins over the
arrival time. RPCs move ``initiated`` (created by the platform) -> ``pending`` (published to a
subscribed device) -> ``finished`` | ``failed`` (the device's result on /up).

Payload decoding against the descriptor's column order (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame; SDK DATA_FORMAT
JSON=0, CSV=1, OFFSET=2):

* JSON: a flat object whose keys are telemetry names (telemetry) or attribute names (attribute);
  values are scalars (number, string, bool). Telemetry may add ``"ts"`` (epoch seconds; a value
  above 1e11 is taken as milliseconds).
* CSV: comma-separated values in descriptor order, exactly one cell per column; an empty cell
  means "no value"; cells that look like numbers become numbers. Telemetry may carry one more
  value first: the epoch ``ts``, as SKT's SDK samples send it (TP-LINUX MA.c, TP-JAVAME).
* OFFSET: there is no public spec of SKT's "offset" format. ASSUMPTION made here: the payload is a
  hex string, each column a big-endian signed 32-bit integer (8 hex digits) in descriptor order.

Anything else raises :class:`PayloadError` and is not stored; the caller records an error entry.

Must not: do I/O, read the clock (callers pass ``now``), or know about MQTT.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .registry import Descriptor, NotFoundError

INITIATED, PENDING, FINISHED, FAILED = "initiated", "pending", "finished", "failed"
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INT = re.compile(r"^[+-]?\d+$")
_CSV_TS_MIN = 1_000_000_000  # a leading CSV telemetry value at least this big is the epoch "ts"
_PAYLOAD_SHOWN = 200  # characters of a rejected payload kept in the error entry


class PayloadError(ValueError):
    """Telemetry/attribute payload that does not match the device descriptor."""


def _scalar(name: str, value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, (int, str)):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise PayloadError(f"value of {name!r} must be a number, string or boolean, got {json.dumps(value)}")


def _cell(text: str) -> Any:
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if _NUMBER.match(text):
        return float(text)
    return text


def _timestamp(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise PayloadError(f"'ts' must be a non-negative number of epoch seconds, got {json.dumps(value)}")
    return value / 1000 if value > 1e11 else value


def decode_data(kind: str, fmt: str, payload: bytes, descriptor: Descriptor) -> tuple[dict[str, Any], float | None]:
    """Decode a telemetry/attribute payload; returns ``(data, ts or None)``."""
    columns = descriptor.columns(kind)
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("payload is not UTF-8 text") from None
    ts = None
    if fmt == "json":
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise PayloadError(f"payload is not JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise PayloadError(f"payload must be a JSON object, got {type(obj).__name__}")
        if kind == "telemetry" and "ts" in obj:
            ts = _timestamp(obj.pop("ts"))
        unknown = [k for k in obj if k not in columns]
        if unknown:
            raise PayloadError(f"unknown {kind} keys {unknown}; the descriptor has {columns}")
        data = {k: _scalar(k, v) for k, v in obj.items()}
    elif fmt == "csv":
        cells = text.strip().split(",")
        first = _cell(cells[0]) if kind == "telemetry" and len(cells) == len(columns) + 1 else None
        if isinstance(first, (int, float)) and first >= _CSV_TS_MIN:
            # SKT's own samples send CSV telemetry as "<ts>,<values...>" (the JSON "ts", first):
            # TP-LINUX MA.c make_telemetry, TP-JAVAME SampleApp telemetry(). Only a plausible epoch
            # (seconds or ms since 2001) is taken as one; anything else is a column count error.
            ts = _timestamp(first)
            cells = cells[1:]
        if len(cells) != len(columns):
            raise PayloadError(f"CSV has {len(cells)} values but the descriptor has {len(columns)} {kind} columns {columns}")
        data = {name: _cell(c) for name, c in zip(columns, cells) if c.strip()}
    elif fmt == "offset":
        hexdigits = "".join(text.split())
        if len(hexdigits) != 8 * len(columns):
            raise PayloadError(
                f"OFFSET payload has {len(hexdigits)} hex digits; expected {8 * len(columns)} "
                f"(8 per {kind} column {columns}, big-endian int32 - an emulator assumption)"
            )
        try:
            raw = bytes.fromhex(hexdigits)
        except ValueError:
            raise PayloadError("OFFSET payload is not a hex string") from None
        data = {name: int.from_bytes(raw[4 * i : 4 * i + 4], "big", signed=True) for i, name in enumerate(columns)}
    else:
        raise PayloadError(f"unknown format {fmt!r}")
    if not data:
        raise PayloadError(f"payload carries no {kind} values")
    return data, ts


@dataclass
class Rpc:
    id: int
    service: str
    device: str
    method: str
    params: Any
    mode: str
    cmd_id: Any
    created: float
    source: str = "api"  # api | mqtt (an application published the request itself)
    status: str = INITIATED
    result: Any = None
    updated: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "service": self.service, "device": self.device, "method": self.method,
            "params": self.params, "rpcMode": self.mode, "cmdId": self.cmd_id, "source": self.source,
            "status": self.status, "result": self.result, "created": self.created, "updated": self.updated,
        }


@dataclass
class _DeviceData:
    telemetry: list[dict[str, Any]] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)


class Store:
    def __init__(self) -> None:
        self._devices: dict[tuple[str, str], _DeviceData] = {}
        self._rpcs: dict[int, Rpc] = {}

    def reset(self) -> None:
        self._devices.clear()
        self._rpcs.clear()

    def _dev(self, service: str, device: str) -> _DeviceData:
        return self._devices.setdefault((service, device), _DeviceData())

    # --- telemetry / attributes -------------------------------------------------------------
    def add_telemetry(self, service: str, device: str, data: dict[str, Any], ts: float) -> dict[str, Any]:
        point = {"ts": ts, "data": dict(data)}
        self._dev(service, device).telemetry.append(point)
        return point

    def telemetry(self, service: str, device: str) -> list[dict[str, Any]]:
        """All points, oldest first (a device-supplied ``ts`` decides the order)."""
        points = self._devices.get((service, device), _DeviceData()).telemetry
        return copy.deepcopy(sorted(points, key=lambda p: p["ts"]))

    def update_attributes(self, service: str, device: str, data: dict[str, Any]) -> None:
        self._dev(service, device).attributes.update(data)

    def attributes(self, service: str, device: str) -> dict[str, Any]:
        return dict(self._devices.get((service, device), _DeviceData()).attributes)

    # --- rejected input ---------------------------------------------------------------------
    def add_error(self, service: str, device: str, ts: float, reason: str, topic: str = "", payload: bytes = b"") -> None:
        shown = bytes(payload)[: _PAYLOAD_SHOWN * 4].decode("utf-8", "replace")[:_PAYLOAD_SHOWN]
        entry = {"ts": ts, "topic": topic, "reason": reason, "payload": shown, "payload_len": len(payload)}
        self._dev(service, device).errors.append(entry)

    def errors(self, service: str, device: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._devices.get((service, device), _DeviceData()).errors)

    # --- downlink commands --------------------------------------------------------------------
    def add_command(self, service: str, device: str, message: dict[str, Any]) -> None:
        self._dev(service, device).commands.append(copy.deepcopy(message))

    def commands(self, service: str, device: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self._devices.get((service, device), _DeviceData()).commands)

    # --- RPCs ----------------------------------------------------------------------------------
    def add_rpc(self, rpc: Rpc) -> Rpc:
        self._rpcs[rpc.id] = rpc
        return rpc

    def has_rpc(self, rpc_id: int) -> bool:
        return rpc_id in self._rpcs

    def get_rpc(self, rpc_id: int, service: str | None = None, device: str | None = None) -> Rpc:
        rpc = self._rpcs.get(rpc_id)
        if rpc is None or (service is not None and (rpc.service, rpc.device) != (service, device)):
            where = f" for {service}/{device}" if service is not None else ""
            raise NotFoundError(f"unknown rpc id {rpc_id}{where}")
        return rpc

    def rpcs(self, service: str, device: str, status: str | None = None) -> list[Rpc]:
        return [
            r for r in self._rpcs.values()
            if (r.service, r.device) == (service, device) and (status is None or r.status == status)
        ]

    def rpc_pending(self, rpc_id: int, now: float) -> Rpc:
        rpc = self.get_rpc(rpc_id)
        if rpc.status == INITIATED:
            rpc.status, rpc.updated = PENDING, now
        return rpc

    def rpc_result(self, rpc_id: int, success: bool, result: Any, now: float) -> Rpc:
        """Record the device's answer; raises ValueError if the RPC already has one."""
        rpc = self.get_rpc(rpc_id)
        if rpc.status in (FINISHED, FAILED):
            raise ValueError(f"rpc {rpc_id} already {rpc.status}")
        rpc.status = FINISHED if success else FAILED
        rpc.result, rpc.updated = copy.deepcopy(result), now
        return rpc
