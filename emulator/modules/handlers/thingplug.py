"""SKT ThingPlug AT client (``AT+SKTP*``) on BG96 (SKT firmware), WM-N400MSE and AMM5918K.

Commands (guide 000 §"ThingPlug AT 명령어"; WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md): ``AT+SKTP`` status,
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

This file holds status, connect / disconnect, link loss, errors and options, and the Feature
that merges its table with the data path's (``thingplug_data.py``: ``AT+SKTPDAT``,
``AT+SKTPRES``, ``+SKTPCMD``; data is published with QoS 1 and ``OK`` is only given once the
broker acknowledged it, so whatever the modem acknowledged reaches the platform).

Link loss (broker gone, keepalive, network detach / coverage loss via ``radio_hooks``) prints
``+SKTPCON: -1`` and sets the error to -3 (Disconnected). With Woori-net ``AT+SKTPATC=1`` the
modem reconnects by itself (see ``_schedule_reconnect`` for the assumed timing).

Must not: do I/O (effects in ``thingplug_effects.py``, executor in ``emulator/net``).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ..profile import CommandTable, Feature, Reply
from . import thingplug_data as data
from . import thingplug_text as tx
from . import ts27007
from .thingplug_data import dialect_of, fail, status_reply, topic_of
from .thingplug_effects import TpConnect, TpConnected, TpDisconnect, TpLost, TpMessage, TpPublished, TpState

T = CommandTable("thingplug")


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


# --- status -------------------------------------------------------------------------------
def _fields(ctx: Context) -> tuple[str, ...]:
    tp: TpState = ctx.state.thingplug
    if dialect_of(ctx) == "woori":
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


@T.exec("+SKTP")
@T.read("+SKTP")
def sktp_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return status_reply(ctx, _fields(ctx))


@T.exec("+SKTPCON")
@T.read("+SKTPCON")
def sktpcon_exec(cmd: AtCommand, ctx: Context) -> Reply:
    tp: TpState = ctx.state.thingplug
    return status_reply(ctx, (f"status: {'connected' if tp.status == 'connected' else 'disconnected'}",))


# --- connect / disconnect -----------------------------------------------------------------
@T.set("+SKTPCON")
def sktpcon_set(cmd: AtCommand, ctx: Context) -> Reply:
    tp: TpState = ctx.state.thingplug
    flag = cmd.int(0, lo=0, hi=2 if dialect_of(ctx) == "woori" else 1)
    if flag == 0:
        if tp.status == "disconnected" and not tp.resume:
            return fail(ctx, -3)
        tp.status, tp.resume, tp.auto_attempt = "disconnected", False, False
        return Reply(effects=(TpDisconnect(),), after=(tx.urc(dialect_of(ctx), "+SKTPCON", "-1"),))
    if tp.status != "disconnected":
        return fail(ctx, -14)
    if not ctx.state.radio.registered:
        return fail(ctx, -3)
    protocol = cmd.str(1, choices=("MQTT", "MQTTS"))
    host = cmd.str(2, max_len=128)
    if host.lower().startswith("ssl://"):
        host = host[6:]
    port = cmd.int(3, lo=1, hi=65535)
    keepalive = cmd.int(4, lo=0, hi=1000)
    clean = cmd.int(5, lo=0, hi=1)
    api = cmd.str(6, max_len=32)
    if api != "simple_v1":
        return fail(ctx, -13)
    if flag == 2:  # USIM provisioning: the identifiers come from the SIM (config defaults)
        usim = ctx.defaults.get("thingplug_usim") or {}
        token, service, device = usim.get("token", ""), usim.get("service", ""), usim.get("device", "")
        if not (token and service and device):
            return fail(ctx, -13)
    else:
        token, service, device = cmd.str(7, max_len=128), cmd.str(8, max_len=64), cmd.str(9, max_len=64)
    if not (token and service and device):
        return fail(ctx, -6)
    tp.protocol, tp.host, tp.port, tp.keepalive, tp.clean = protocol, host, port, keepalive, clean
    tp.token, tp.service, tp.device, tp.api_version = token, service, device, api
    imei = ctx.identity.imei
    tp.client_id = f"{device}_{imei[-4:]}" if dialect_of(ctx) == "woori" else f"{imei}_{device}"
    tp.status, tp.resume, tp.auto_attempt = "connecting", False, False
    ts27007.rrc_activity(ctx)
    effect = TpConnect(host, port, protocol == "MQTTS", tp.client_id, token, keepalive, bool(clean),
                       topic_of(tp, "down"))
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
    ctx.urc(tx.urc(dialect_of(ctx), "+SKTPCON", str(stim.code)))


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
    ctx.urc(tx.urc(dialect_of(ctx), "+SKTPCON", "-1"))
    if tp.auto_reconnect and not was_connecting:
        tp.resume = True
        _schedule_reconnect(ctx)


def _schedule_reconnect(ctx: Context) -> None:
    """Woori-net ``AT+SKTPATC=1`` (Woori-net WM-N400MSE AT Commands Guide v1.1 §5; the guide gives no timing). ASSUMPTIONS:
    a first attempt ``thingplug_reconnect_delay`` (default 5) virtual seconds after the loss,
    then every such delay while registered; nothing is printed until one succeeds
    (``+SKTPCON=0``); while detached it waits for the network to come back."""
    def retry(c: Context) -> None:
        t: TpState = c.state.thingplug
        if t.resume and t.status == "disconnected" and t.auto_reconnect and c.state.radio.registered:
            t.status, t.auto_attempt = "connecting", True
            c.effect(TpConnect(t.host, t.port, t.protocol == "MQTTS", t.client_id, t.token,
                               t.keepalive, bool(t.clean), topic_of(t, "down")))
    ctx.later(float(ctx.defaults.get("thingplug_reconnect_delay", 5.0)), retry, "tp-reconnect")


# --- errors and options -------------------------------------------------------------------
@T.set("+SKTPERR")
def sktperr_set(cmd: AtCommand, ctx: Context) -> Reply:
    form = cmd.int(0, lo=1, hi=2)
    code = ctx.state.thingplug.last_error
    text = str(code) if form == 1 else tx.ERRORS.get(code, "User Defined Error" if -99 <= code <= -30 else "Platform Error")
    if dialect_of(ctx) == "woori":
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


FEATURE = Feature("thingplug", T.merged(data.T), init=_init, stimuli={
    TpConnected: _on_connected, TpPublished: data.on_published, TpMessage: data.on_message, TpLost: _on_lost,
})
# SKTPATC is a Woori-net extra; profiles without it drop those handlers.
BG96_FEATURE = Feature("thingplug", CommandTable("thingplug-bg96").merged(FEATURE.commands), init=_init,
                       stimuli=FEATURE.stimuli)
for _kind in list(BG96_FEATURE.commands.handlers):
    if _kind[0] == "+SKTPATC":
        del BG96_FEATURE.commands.handlers[_kind]
