"""ThingPlug AT texts: error codes and the two response dialects.

Error codes and strings: guide 000 "ThingPlug 에러코드" table (same values as the ThingPlug
Linux SDK ``Define.h``; WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md). Dialects (WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md): BG96/AMM5918K print
``+SKTPCON: 0`` and their fields before ``OK``; Woori-net prints ``+SKTPCON=0`` and ``OK``
before the fields, without a space after colons.

Also the JSON the module prints (``+SKTPCMD`` content) and publishes (the RPC result on /up).

Must not: hold state.
"""

from __future__ import annotations

import json

ERRORS: dict[int, str] = {
    0: "No Error", -1: "Generic Error", -2: "MQTT Persistence Error", -3: "Disconnected",
    -4: "Max Messages Inflight", -5: "Bad UTF8 String", -6: "Null Parameter",
    -7: "MQTT Topic Name Truncated", -8: "MQTT Bad Structure", -9: "MQTT Bad QoS",
    -10: "MQTT No More Message IDs", -11: "MQTT Operation Incomplete",
    -12: "MQTT Max Buffered Messages", -13: "Not Supported", -14: "Invalid Parameter",
    -20: "Connection Timeout", -21: "Unacceptable Protocol Version", -22: "Identifier Rejected",
    -23: "Server Unavailable", -24: "Bad user name or password", -25: "Not Authorized",
}

# Woori-net spells CONNACK refusals out: -25 -> "Connection Refused (CONNECTION_REFUSED_NOT_AUTHORIZED)"
# (WM-N400MSE guide v1.1 §5, Woori-net WM-N400MSE AT Commands Guide v1.1 §5). ASSUMPTION: -21..-24 follow the same pattern with
# the MQTT 3.1.1 return-code names (only -25 is printed in the guide).
WOORI_CONNACK: dict[int, str] = {
    -21: "CONNECTION_REFUSED_UNACCEPTABLE_PROTOCOL_VERSION", -22: "CONNECTION_REFUSED_IDENTIFIER_REJECTED",
    -23: "CONNECTION_REFUSED_SERVER_UNAVAILABLE", -24: "CONNECTION_REFUSED_BAD_USER_NAME_OR_PASSWORD",
    -25: "CONNECTION_REFUSED_NOT_AUTHORIZED",
}

CMD_TYPES = ("tp_user", "tp_remote", "tp_fwupgrade", "tp_reset", "tp_reboot", "tp_clocksync",
             "tp_sigstatusreport", "tp_upload", "tp_download", "tp_install", "tp_reinstall",
             "tp_uninstall", "tp_update")

FORMATS = {0: ("JSON", ""), 1: ("CSV", "/csv"), 2: ("OFFSET", "/offset")}

INITIATED, PENDING, FINISHED = 1, 2, 3


def urc(dialect: str, name: str, value: str) -> str:
    return f"{name}={value}" if dialect == "woori" else f"{name}: {value}"


def connack_error(code: int) -> int:
    """CONNACK refusal 1..5 -> -21..-25; a network failure (-1) -> -20 (connection timeout)."""
    return -20 - code if 1 <= code <= 5 else -20


def masked_token(token: str) -> str:
    return "...." + token[-4:] if token else ""


def compact(value: object) -> str:
    """JSON as the SDKs print it in +SKTPCMD (cJSON_PrintUnformatted: no blanks, UTF-8 kept)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def result_body(cmd_id: int, rpc_id: int, ok: bool, data: str) -> bytes:
    """The /up message for AT+SKTPRES (SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame; TP-LINUX Simple.c tpSimpleResult): the
    host's data as the JSON-RPC result (success) or error message (fail), the SDK defaults
    ``{"status":"SUCCESS"}`` / ``{"code":106,"message":"FAIL"}`` without data."""
    value: object = {"status": "SUCCESS"} if ok else "FAIL"
    if data.strip():
        try:
            value = json.loads(data)
        except ValueError:
            value = data
    rsp: dict = {"jsonrpc": "2.0", "id": rpc_id}
    if ok:
        rsp["result"] = value
    else:
        rsp["error"] = {"code": 106, "message": value if isinstance(value, str) else json.dumps(value)}
    body = {"cmd": "jsonRpc", "cmdId": cmd_id, "result": "success" if ok else "fail", "rpcRsp": rsp}
    return json.dumps(body, separators=(",", ":")).encode()
