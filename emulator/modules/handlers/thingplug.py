"""SKT ThingPlug AT client (``AT+SKTP*``) on BG96 (SKT firmware), WM-N400MSE and AMM5918K.

Commands (guide 000 §"ThingPlug AT 명령어"; protocols.md §2): ``AT+SKTP`` status,
``AT+SKTPCON`` read / connect (flag 1; Woori-net also 2 = USIM provisioning) / disconnect
(flag 0), ``AT+SKTPDAT`` (telemetry | attribute; JSON 0, CSV 1, OFFSET 2 — the SDK numbering,
the guide prints OFFSET as 1 by mistake; no args = last data), ``AT+SKTPRES`` (RPC result),
``AT+SKTPERR=1|2`` (numeric | string), Woori-net ``AT+SKTPATC`` (auto-reconnect).
URCs: ``+SKTPCON`` (connect result / loss), ``+SKTPCMD`` (RPC status 1 initiated with its
params, 3 finished after the result; ``set_attr`` for attribute changes).

Dialects: BG96 and AMM5918K take quoted arguments and the data after a ``> `` prompt ended by
Ctrl+Z; WM-N400MSE takes unquoted arguments with the data inline (its grammar keeps the JSON
whole) and answers ``OK`` before the status fields. AMM5918K follows BG96 because no public
source documents its ThingPlug dialect.

Data is published with QoS 1 and ``OK`` is only given once the broker acknowledged it, so
whatever the modem acknowledged reaches the platform.

Link loss (broker gone, keepalive, network detach / coverage loss via ``radio_hooks``) prints
``+SKTPCON: -1`` and sets the error to -3 (Disconnected). With Woori-net ``AT+SKTPATC=1`` the
modem reconnects by itself (see ``_schedule_reconnect`` for the assumed timing).

Must not: do I/O (effects in ``thingplug_effects.py``, executor in ``emulator/net``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Feature, Pending, Prompt, Reply
from . import thingplug_text as tx
from . import ts27007
from .thingplug_effects import (TpConnect, TpConnected, TpDisconnect, TpLost, TpMessage, TpPublish,
                                TpPublished)

T = CommandTable("thingplug")
MAX_DATA = 2048  # bytes of one SKTPDAT payload
WOORI_MAX_DATA = 500  # the inline data parameter (WM-N400MSE guide v1.1 §5, protocols.md §2.2)


@dataclass
class TpState:
    status: str = "disconnected"  # disconnected | connecting | connected
    protocol: str = "MQTT"
    host: str = ""
    port: int = 0
    keepalive: int = 0
    clean: int = 1
    api_version: str = "simple_v1"
    token: str = ""
    service: str = ""
    device: str = ""
    client_id: str = ""
    last_error: int = 0
    last_data: tuple[str, str, str] | None = None
    auto_reconnect: bool = False
    resume: bool = False  # auto-reconnect armed: the link was lost, not closed by the host
    auto_attempt: bool = False  # the current connect was started by auto-reconnect
    rpcs: dict[int, str] = field(default_factory=dict)
    next_tag: int = 1
    cmd_id: int = 0


def _dialect(ctx: Context) -> str:
    return ctx.profile.quirks.thingplug_dialect


def _init(ctx: Context) -> None:
    ctx.state.thingplug = TpState()
    hooks = getattr(ctx.state, "radio_hooks", None)
    if hooks is None:
        hooks = ctx.state.radio_hooks = []
    hooks.append(_radio_changed)


def _radio_changed(ctx: Context, event: str) -> None:
    """Detach / coverage loss drops the link at once (``+SKTPCON: -1``, SKTPERR -3); with
    ``AT+SKTPATC=1`` re-attaching brings it back."""
    tp: TpState = ctx.state.thingplug
    if not ctx.state.radio.registered:
        if tp.status != "disconnected":
            ctx.effect(TpDisconnect(graceful=False))
            _on_lost(TpLost("network"), ctx)
    elif tp.resume and tp.status == "disconnected":
        _schedule_reconnect(ctx)


def _fail(ctx: Context, code: int) -> Reply:
    ctx.state.thingplug.last_error = code
    return Reply(final=ERROR)


def _topic(tp: TpState, leaf: str) -> str:
    return f"v1/dev/{tp.service}/{tp.device}/{leaf}"


# --- status -------------------------------------------------------------------------------
def _fields(ctx: Context) -> tuple[str, ...]:
    tp: TpState = ctx.state.thingplug
    if _dialect(ctx) == "woori":
        host = ("ssl://" if tp.protocol == "MQTTS" else "") + tp.host
        return ("version: 1.0.4", f"status: {tp.status}", f"protocol:{tp.protocol}",
                f"thingplug_host:{host}", f"thingplug_port:{tp.port}", f"keep-alive:{tp.keepalive}",
                f"cleansession:{'true' if tp.clean else 'false'}", f"api_version:{tp.api_version}",
                f"device_token:{tx.masked_token(tp.token)}", f"service_id:{tp.service}",
                f"device_id:{tp.device}", f"mqtt_client_id: {tp.client_id}")
    return ("version: 1.0.0", f"status: {tp.status}", f"protocol: {tp.protocol}", f"host: {tp.host}",
            f"port: {tp.port}", f"keep-alive: {tp.keepalive}", f"cleansession: {tp.clean}",
            f"api_version: {tp.api_version}", f"device_token: {tx.masked_token(tp.token)}",
            f"service_id: {tp.service}", f"device_id: {tp.device}", f"client_id: {tp.client_id}")


def _status_reply(ctx: Context, lines: tuple[str, ...]) -> Reply:
    if _dialect(ctx) == "woori":
        return Reply(after=lines)  # OK first, then the fields (WM-N400MSE guide §5)
    return Reply(lines=lines)


@T.exec("+SKTP")
@T.read("+SKTP")
def sktp_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return _status_reply(ctx, _fields(ctx))


@T.exec("+SKTPCON")
@T.read("+SKTPCON")
def sktpcon_exec(cmd: AtCommand, ctx: Context) -> Reply:
    tp: TpState = ctx.state.thingplug
    return _status_reply(ctx, (f"status: {'connected' if tp.status == 'connected' else 'disconnected'}",))


# --- connect / disconnect -----------------------------------------------------------------
@T.set("+SKTPCON")
def sktpcon_set(cmd: AtCommand, ctx: Context) -> Reply:
    tp: TpState = ctx.state.thingplug
    flag = cmd.int(0, lo=0, hi=2 if _dialect(ctx) == "woori" else 1)
    if flag == 0:
        if tp.status == "disconnected" and not tp.resume:
            return _fail(ctx, -3)
        tp.status, tp.resume, tp.auto_attempt = "disconnected", False, False
        return Reply(effects=(TpDisconnect(),), after=(tx.urc(_dialect(ctx), "+SKTPCON", "-1"),))
    if tp.status != "disconnected":
        return _fail(ctx, -14)
    if not ctx.state.radio.registered:
        return _fail(ctx, -3)
    protocol = cmd.str(1, choices=("MQTT", "MQTTS"))
    host = cmd.str(2, max_len=128)
    if host.lower().startswith("ssl://"):
        host = host[6:]
    port = cmd.int(3, lo=1, hi=65535)
    keepalive = cmd.int(4, lo=0, hi=1000)
    clean = cmd.int(5, lo=0, hi=1)
    api = cmd.str(6, max_len=32)
    if api != "simple_v1":
        return _fail(ctx, -13)
    if flag == 2:  # USIM provisioning: the identifiers come from the SIM (config defaults)
        usim = ctx.defaults.get("thingplug_usim") or {}
        token, service, device = usim.get("token", ""), usim.get("service", ""), usim.get("device", "")
        if not (token and service and device):
            return _fail(ctx, -13)
    else:
        token, service, device = cmd.str(7, max_len=128), cmd.str(8, max_len=64), cmd.str(9, max_len=64)
    if not (token and service and device):
        return _fail(ctx, -6)
    tp.protocol, tp.host, tp.port, tp.keepalive, tp.clean = protocol, host, port, keepalive, clean
    tp.token, tp.service, tp.device, tp.api_version = token, service, device, api
    imei = ctx.identity.imei
    tp.client_id = f"{device}_{imei[-4:]}" if _dialect(ctx) == "woori" else f"{imei}_{device}"
    tp.status, tp.resume, tp.auto_attempt = "connecting", False, False
    ts27007.rrc_activity(ctx)
    effect = TpConnect(host, port, protocol == "MQTTS", tp.client_id, token, keepalive, bool(clean),
                       _topic(tp, "down"))
    return Reply(effects=(effect,))


def _on_connected(stim: TpConnected, ctx: Context) -> None:
    tp: TpState = ctx.state.thingplug
    if tp.status != "connecting":
        return
    auto, tp.auto_attempt = tp.auto_attempt, False
    if stim.code == 0:
        tp.status, tp.last_error, tp.resume = "connected", 0, False
    else:
        tp.status, tp.last_error = "disconnected", tx.connack_error(stim.code)
        if auto:  # ASSUMPTION: failed automatic attempts are silent and retried
            _schedule_reconnect(ctx)
            return
    ctx.urc(tx.urc(_dialect(ctx), "+SKTPCON", str(stim.code)))


def _on_lost(stim: TpLost, ctx: Context) -> None:
    tp: TpState = ctx.state.thingplug
    if tp.status == "disconnected":
        return
    was_connecting = tp.status == "connecting"
    auto, tp.auto_attempt = tp.auto_attempt, False
    tp.status, tp.last_error = "disconnected", (-20 if was_connecting else -3)
    if auto:
        _schedule_reconnect(ctx)
        return
    ctx.urc(tx.urc(_dialect(ctx), "+SKTPCON", "-1"))
    if tp.auto_reconnect and not was_connecting:
        tp.resume = True
        _schedule_reconnect(ctx)


def _schedule_reconnect(ctx: Context) -> None:
    """Woori-net ``AT+SKTPATC=1`` (protocols.md §2.2; the guide gives no timing). ASSUMPTIONS:
    a first attempt ``thingplug_reconnect_delay`` (default 5) virtual seconds after the loss,
    then every such delay while registered; nothing is printed until one succeeds
    (``+SKTPCON=0``); while detached it waits for the network to come back."""
    def retry(c: Context) -> None:
        t: TpState = c.state.thingplug
        if t.resume and t.status == "disconnected" and t.auto_reconnect and c.state.radio.registered:
            t.status, t.auto_attempt = "connecting", True
            c.effect(TpConnect(t.host, t.port, t.protocol == "MQTTS", t.client_id, t.token,
                               t.keepalive, bool(t.clean), _topic(t, "down")))
    ctx.later(float(ctx.defaults.get("thingplug_reconnect_delay", 5.0)), retry, "tp-reconnect")


# --- data ---------------------------------------------------------------------------------
def _publish(ctx: Context, topic: str, payload: bytes, result_of: tuple[str, int] | None = None) -> Reply:
    """QoS 1 PUBLISH, final result on the broker's answer. For an RPC result (``result_of``) only a
    PUBACK prints ``+SKTPCMD: ...,3``; on failure the RPC stays open for a retry."""
    tp: TpState = ctx.state.thingplug
    tag = tp.next_tag
    tp.next_tag += 1
    ts27007.rrc_activity(ctx, len(payload))
    key = f"tp-pub-{tag}"

    def timeout(c: Context) -> Reply:
        c.state.thingplug.last_error = -11
        return Reply(final=ERROR)
    ctx.state.thingplug_pending = (tag, key, result_of)
    return Reply(effects=(TpPublish(tag, topic, payload),), pending=Pending(key, 30.0, timeout))


def _on_published(stim: TpPublished, ctx: Context) -> None:
    pending = getattr(ctx.state, "thingplug_pending", None)
    if not pending or pending[0] != stim.tag:
        return
    ctx.state.thingplug_pending = None
    if stim.ok:  # each send sets the error code, 0 on success (TP-LINUX MA.c send_data: set_error(rc))
        ctx.state.thingplug.last_error = 0
        result_of = pending[2]
        if result_of is None:
            ctx.finish(pending[1], Reply())
            return
        method, rpc_id = result_of
        ctx.state.thingplug.rpcs.pop(rpc_id, None)
        ctx.finish(pending[1], Reply(after=(tx.urc(_dialect(ctx), "+SKTPCMD", f"{method},{rpc_id},{tx.FINISHED}"),)))
    else:
        ctx.state.thingplug.last_error = -3
        ctx.finish(pending[1], Reply(final=ERROR))


def _send_data(ctx: Context, kind: str, fmt: int, data: bytes) -> Reply:
    tp: TpState = ctx.state.thingplug
    if not data.strip():
        return _fail(ctx, -6)
    if len(data) > MAX_DATA:
        return _fail(ctx, -14)
    if tp.status != "connected":
        return _fail(ctx, -3)
    text = data.decode("utf-8", "replace")
    if fmt == 0:
        try:
            if not isinstance(json.loads(text), dict):
                raise ValueError("not an object")
        except ValueError:
            return _fail(ctx, -8)
    tp.last_data = (kind, tx.FORMATS[fmt][0], text)
    return _publish(ctx, _topic(tp, kind + tx.FORMATS[fmt][1]), data)


@T.exec("+SKTPDAT")
@T.read("+SKTPDAT")
def sktpdat_exec(cmd: AtCommand, ctx: Context) -> Reply:
    last = ctx.state.thingplug.last_data
    if last is None:
        return _status_reply(ctx, ("thingplug_data_type:", "thingplug_format_type:", "thingplug_data:"))
    return _status_reply(ctx, (f"thingplug_data_type:{last[0]}", f"thingplug_format_type:{last[1]}",
                               f"thingplug_data: {last[2]}"))


@T.set("+SKTPDAT")
def sktpdat_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, lo=1, hi=1)
    kind = cmd.str(1, choices=("telemetry", "attribute"))
    fmt = cmd.int(2, lo=0, hi=2)
    if _dialect(ctx) == "woori":
        if not cmd.has(3):
            return _fail(ctx, -6)
        data = cmd.str(3)
        if len(data) > WOORI_MAX_DATA:  # AT+SKTPERR says why (-14), like the prompt dialect's limit
            return _fail(ctx, -14)
        return _send_data(ctx, kind, fmt, data.encode())
    if ctx.state.thingplug.status != "connected":
        return _fail(ctx, -3)
    return Reply(prompt=Prompt(on_data=lambda data, c: _send_data(c, kind, fmt, data), limit=MAX_DATA,
                               on_too_long=lambda c: _fail(c, -14)))


# --- RPC ----------------------------------------------------------------------------------
def _on_message(stim: TpMessage, ctx: Context) -> None:
    tp: TpState = ctx.state.thingplug
    ts27007.rrc_activity(ctx)
    try:
        msg = json.loads(stim.payload)
        if not isinstance(msg, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        tp.last_error = -8
        return
    dialect = _dialect(ctx)
    if msg.get("cmd") == "setAttribute":
        attrs = tx.compact(msg.get("attribute", {}))
        ctx.urc(tx.urc(dialect, "+SKTPCMD", f"set_attr,{msg.get('cmdId', 0)},{tx.FINISHED},{attrs}"))
        return
    req = msg.get("rpcReq") or {}
    method, rpc_id = req.get("method"), req.get("id")
    if msg.get("cmd") != "jsonRpc" or not isinstance(method, str) or not isinstance(rpc_id, int):
        tp.last_error = -8
        return
    tp.rpcs[rpc_id] = method
    params = tx.compact(req["params"]) if req.get("params") is not None else ""  # null: no content
    tail = f",{params}" if params else ""
    ctx.urc(tx.urc(dialect, "+SKTPCMD", f"{method},{rpc_id},{tx.INITIATED}{tail}"))


def _send_result(ctx: Context, method: str, rpc_id: int, ok: bool, data: bytes) -> Reply:
    tp: TpState = ctx.state.thingplug
    if tp.status != "connected":
        return _fail(ctx, -3)
    if tp.rpcs.get(rpc_id) != method:
        return _fail(ctx, -14)
    tp.cmd_id += 1
    body = tx.result_body(tp.cmd_id, rpc_id, ok, data.decode("utf-8", "replace"))
    return _publish(ctx, _topic(tp, "up"), body, result_of=(method, rpc_id))


@T.set("+SKTPRES")
def sktpres_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, lo=1, hi=1)
    try:
        method = cmd.str(1, choices=tx.CMD_TYPES)
    except ArgError:  # not one of the guide's cmd_type values: AT+SKTPERR says -14
        return _fail(ctx, -14)
    rpc_id = cmd.int(2, lo=0)
    ok = cmd.int(3, lo=0, hi=1) == 0
    tp: TpState = ctx.state.thingplug
    if tp.status != "connected":
        return _fail(ctx, -3)
    if tp.rpcs.get(rpc_id) != method:
        return _fail(ctx, -14)
    if _dialect(ctx) == "woori":
        return _send_result(ctx, method, rpc_id, ok, cmd.str(4, "").encode())
    return Reply(prompt=Prompt(on_data=lambda data, c: _send_result(c, method, rpc_id, ok, data), limit=MAX_DATA,
                               on_too_long=lambda c: _fail(c, -14)))


# --- errors and options -------------------------------------------------------------------
@T.set("+SKTPERR")
def sktperr_set(cmd: AtCommand, ctx: Context) -> Reply:
    form = cmd.int(0, lo=1, hi=2)
    code = ctx.state.thingplug.last_error
    text = str(code) if form == 1 else tx.ERRORS.get(code, "User Defined Error" if -99 <= code <= -30 else "Platform Error")
    if _dialect(ctx) == "woori":
        if form == 2 and code in tx.WOORI_CONNACK:
            text = f"Connection Refused ({tx.WOORI_CONNACK[code]})"
        return Reply(after=(f"+SKTPE={text}" if form == 1 else f"+SKTPE: {text}",))
    return Reply(lines=(f"+SKTPE: {text}",))


@T.set("+SKTPATC")
def sktpatc_set(cmd: AtCommand, ctx: Context) -> Reply:
    tp: TpState = ctx.state.thingplug
    tp.auto_reconnect = bool(cmd.int(0, lo=0, hi=1))
    if not tp.auto_reconnect:
        tp.resume = False
    return Reply()


@T.exec("+SKTPATC")
@T.read("+SKTPATC")
def sktpatc_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+SKTPATC:{'on' if ctx.state.thingplug.auto_reconnect else 'off'}",))


FEATURE = Feature("thingplug", T, init=_init, stimuli={
    TpConnected: _on_connected, TpPublished: _on_published, TpMessage: _on_message, TpLost: _on_lost,
})
# SKTPATC is a Woori-net extra; profiles without it drop those handlers.
BG96_FEATURE = Feature("thingplug", CommandTable("thingplug-bg96").merged(T), init=_init, stimuli=FEATURE.stimuli)
for _kind in list(BG96_FEATURE.commands.handlers):
    if _kind[0] == "+SKTPATC":
        del BG96_FEATURE.commands.handlers[_kind]
