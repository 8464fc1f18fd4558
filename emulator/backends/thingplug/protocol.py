"""ThingPlug 2.0 "simple_v1" wire format: topics and the JSON of downlinks and RPC results.

Facts from SKT's ThingPlug 2.0 device SDKs (SKT-ThingPlug2/device-sdk-linux ``Define.h``/``MA.c``/``Simple.c``, TP-JAVAME,
wpgnss MQTT scripts):

* topics ``v1/dev/{serviceId}/{deviceId}/telemetry`` (+ ``/csv``, ``/offset``), ``.../attribute``
  (+ ``/csv``, ``/offset``), ``.../up`` (device -> platform: RPC results, enlist) and ``.../down``
  (platform -> device, the device's only subscription);
* jsonRpc request on /down: ``{"serviceName","deviceName","cmd":"jsonRpc","cmdId",
  "rpcReq":{"jsonrpc":"2.0","method","params","id"},"rpcMode":"oneway"|"twoway"}``;
* setAttribute on /down: ``{"serviceName","deviceName","cmdId","cmd":"setAttribute","attribute":{...}}``;
* RPC result on /up: ``{"cmd":"jsonRpc","cmdId","result":"success"|"fail",
  "rpcRsp":{"jsonrpc":"2.0","id",("result"|"error")}}``; the ``cmdId`` there is a device-local
  counter, so results are matched on ``rpcRsp.id`` (the id the device saw in ``rpcReq.id``).

Must not: do I/O, keep state, or read the clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

KINDS = ("telemetry", "attribute", "up", "down")
FORMATS = ("json", "csv", "offset")
RPC_MODES = ("oneway", "twoway")
# cmd_type values the SDK/AT layer know (seed 000 "제어 명령(cmd_type) 타입"; TP-LINUX Define.h RPC_*).
RPC_METHODS = (
    "tp_user", "tp_remote", "tp_fwupgrade", "tp_reset", "tp_reboot", "tp_clocksync", "tp_sigstatusreport",
    "tp_upload", "tp_download", "tp_install", "tp_reinstall", "tp_uninstall", "tp_update",
)


class ProtocolError(ValueError):
    """A topic or payload that does not follow simple_v1; the message says what is wrong."""


@dataclass(frozen=True)
class Topic:
    service: str
    device: str
    kind: str  # telemetry | attribute | up | down
    fmt: str = "json"  # json | csv | offset (only telemetry/attribute carry a format)

    def __str__(self) -> str:
        base = f"v1/dev/{self.service}/{self.device}/{self.kind}"
        return base if self.fmt == "json" else f"{base}/{self.fmt}"


def parse_topic(topic: str) -> Topic:
    """Parse a device topic; raise :class:`ProtocolError` for anything else."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "v1" or parts[1] != "dev":
        raise ProtocolError(f"topic {topic!r} is not v1/dev/{{service}}/{{device}}/{{telemetry|attribute|up|down}}")
    _, _, service, device, kind, *rest = parts
    if not service or not device:
        raise ProtocolError(f"topic {topic!r} has an empty service or device level")
    if kind not in KINDS:
        raise ProtocolError(f"topic {topic!r}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not rest:
        return Topic(service, device, kind)
    if len(rest) == 1 and kind in ("telemetry", "attribute") and rest[0] in ("csv", "offset"):
        return Topic(service, device, kind, rest[0])
    raise ProtocolError(f"topic {topic!r}: unexpected suffix {'/'.join(rest)!r}")


def topic_prefix(service: str, device: str) -> str:
    return f"v1/dev/{service}/{device}/"


def down_topic(service: str, device: str) -> str:
    return f"v1/dev/{service}/{device}/down"


def up_topic(service: str, device: str) -> str:
    return f"v1/dev/{service}/{device}/up"


def encode(obj: Any) -> bytes:
    """Compact UTF-8 JSON, the way the SDKs send it."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def build_rpc_request(
    service: str, device: str, cmd_id: int, rpc_id: int, method: str, params: Any, mode: str = "twoway"
) -> dict[str, Any]:
    if mode not in RPC_MODES:
        raise ProtocolError(f"rpcMode {mode!r} must be one of {', '.join(RPC_MODES)}")
    if not isinstance(method, str) or not method:
        raise ProtocolError("rpc method must be a non-empty string (e.g. 'tp_user')")
    return {
        "serviceName": service,
        "deviceName": device,
        "cmd": "jsonRpc",
        "cmdId": cmd_id,
        "rpcReq": {"jsonrpc": "2.0", "method": method, "params": params, "id": rpc_id},
        "rpcMode": mode,
    }


def build_set_attribute(service: str, device: str, cmd_id: int, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"serviceName": service, "deviceName": device, "cmdId": cmd_id, "cmd": "setAttribute", "attribute": attributes}


def build_rpc_result(rpc_id: int, success: bool, result: Any = None, cmd_id: int = 1) -> dict[str, Any]:
    """The device's answer on /up (TP-LINUX Simple.c tpSimpleResult): for the modem side and tests.

    On failure ``result`` is the JSON-RPC error object (default ``{"code":106,"message":"FAIL"}``,
    the SDK's own); on success it defaults to ``{"status":"SUCCESS"}``.
    """
    if success:
        rsp = {"jsonrpc": "2.0", "id": rpc_id, "result": {"status": "SUCCESS"} if result is None else result}
    else:
        rsp = {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": 106, "message": "FAIL"} if result is None else result}
    return {"cmd": "jsonRpc", "cmdId": cmd_id, "result": "success" if success else "fail", "rpcRsp": rsp}


def _json_object(payload: bytes | str, what: str) -> dict[str, Any]:
    try:
        text = payload.decode() if isinstance(payload, (bytes, bytearray)) else payload
        obj = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"{what} is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class RpcResult:
    """A device's answer to a jsonRpc (on /up)."""

    rpc_id: int
    success: bool
    result: Any  # rpcRsp.result on success, rpcRsp.error on failure
    cmd_id: Any = None


@dataclass(frozen=True)
class UpCommand:
    """Any other /up message with a ``cmd`` (enlist/delist...): accepted, not interpreted."""

    cmd: str
    body: dict[str, Any]


UP_COMMANDS = ("enlist", "delist")


def parse_up(payload: bytes | str) -> RpcResult | UpCommand:
    obj = _json_object(payload, "/up payload")
    cmd = obj.get("cmd")
    if cmd in UP_COMMANDS:
        return UpCommand(cmd, obj)
    if cmd != "jsonRpc":
        raise ProtocolError(f"/up payload: unknown cmd {cmd!r}; expected 'jsonRpc' (or {', '.join(UP_COMMANDS)})")
    outcome = obj.get("result")
    if outcome not in ("success", "fail"):
        raise ProtocolError(f"/up jsonRpc: 'result' must be \"success\" or \"fail\", got {outcome!r}")
    rsp = obj.get("rpcRsp")
    if not isinstance(rsp, dict):
        raise ProtocolError("/up jsonRpc: missing 'rpcRsp' object")
    if rsp.get("jsonrpc") != "2.0":
        raise ProtocolError(f"/up jsonRpc: rpcRsp.jsonrpc must be \"2.0\", got {rsp.get('jsonrpc')!r}")
    if not _is_int(rsp.get("id")):
        raise ProtocolError(f"/up jsonRpc: rpcRsp.id must be an integer, got {rsp.get('id')!r}")
    success = outcome == "success"
    result = rsp.get("result") if success else rsp.get("error", rsp.get("result"))
    return RpcResult(rsp["id"], success, result, obj.get("cmdId"))


@dataclass(frozen=True)
class DownRpc:
    rpc_id: int
    method: str
    params: Any
    cmd_id: Any
    mode: str


@dataclass(frozen=True)
class DownSetAttribute:
    attributes: dict[str, Any]
    cmd_id: Any


def parse_down(payload: bytes | str) -> DownRpc | DownSetAttribute:
    """Parse a /down message (an application may publish one itself)."""
    obj = _json_object(payload, "/down payload")
    cmd = obj.get("cmd")
    if cmd == "setAttribute":
        attrs = obj.get("attribute")
        if not isinstance(attrs, dict) or not attrs:
            raise ProtocolError("/down setAttribute: 'attribute' must be a non-empty object")
        return DownSetAttribute(attrs, obj.get("cmdId"))
    if cmd != "jsonRpc":
        raise ProtocolError(f"/down payload: unknown cmd {cmd!r}; expected 'jsonRpc' or 'setAttribute'")
    req = obj.get("rpcReq")
    if not isinstance(req, dict):
        raise ProtocolError("/down jsonRpc: missing 'rpcReq' object")
    if req.get("jsonrpc") != "2.0":
        raise ProtocolError(f"/down jsonRpc: rpcReq.jsonrpc must be \"2.0\", got {req.get('jsonrpc')!r}")
    if not _is_int(req.get("id")):
        raise ProtocolError(f"/down jsonRpc: rpcReq.id must be an integer, got {req.get('id')!r}")
    if not isinstance(req.get("method"), str) or not req["method"]:
        raise ProtocolError("/down jsonRpc: rpcReq.method must be a non-empty string")
    mode = obj.get("rpcMode", "twoway")
    if mode not in RPC_MODES:
        raise ProtocolError(f"/down jsonRpc: rpcMode must be one of {', '.join(RPC_MODES)}, got {mode!r}")
    return DownRpc(req["id"], req["method"], req.get("params"), obj.get("cmdId"), mode)
