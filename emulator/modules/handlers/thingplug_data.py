"""Data path of the SKT ThingPlug AT client: ``AT+SKTPDAT``, ``AT+SKTPRES`` and ``+SKTPCMD``.

``AT+SKTPDAT`` (telemetry | attribute; JSON 0, CSV 1, OFFSET 2; no args = last data) and
``AT+SKTPRES`` (the RPC result) publish with QoS 1, and the final result waits for the
broker's answer (``OK`` on PUBACK, ``ERROR`` with SKTPERR -3 on failure, -11 after 30 s), so
whatever the modem acknowledged reaches the platform. The platform's messages on ``/down``
print ``+SKTPCMD`` (RPC status 1 initiated with its params; 3 finished once the result's
PUBACK came; ``set_attr`` for attribute changes). Formats: WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md; texts in
``thingplug_text.py``. Also the helpers ``thingplug.py`` shares (dialect, ``fail``, the
topic, the dialect's status reply).

Must not: do I/O (effects only) or handle connect / disconnect / link loss (``thingplug.py``).
"""

from __future__ import annotations

import json

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Pending, Prompt, Reply
from . import thingplug_text as tx
from . import ts27007
from .thingplug_effects import TpMessage, TpPublish, TpPublished, TpState

T = CommandTable("thingplug_data")
MAX_DATA = 2048  # bytes of one SKTPDAT payload
WOORI_MAX_DATA = 500  # the inline data parameter (WM-N400MSE guide v1.1 §5, Woori-net WM-N400MSE AT Commands Guide v1.1 §5)


def dialect_of(ctx: Context) -> str:
    return ctx.profile.quirks.thingplug_dialect


def fail(ctx: Context, code: int) -> Reply:
    """ERROR, remembering ``code`` for AT+SKTPERR."""
    ctx.state.thingplug.last_error = code
    return Reply(final=ERROR)


def topic_of(tp: TpState, leaf: str) -> str:
    return f"v1/dev/{tp.service}/{tp.device}/{leaf}"


def status_reply(ctx: Context, lines: tuple[str, ...]) -> Reply:
    if dialect_of(ctx) == "woori":
        return Reply(after=lines)  # OK first, then the fields (WM-N400MSE guide §5)
    return Reply(lines=lines)


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


def on_published(stim: TpPublished, ctx: Context) -> None:
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
        ctx.finish(pending[1], Reply(after=(tx.urc(dialect_of(ctx), "+SKTPCMD", f"{method},{rpc_id},{tx.FINISHED}"),)))
    else:
        ctx.state.thingplug.last_error = -3
        ctx.finish(pending[1], Reply(final=ERROR))


def _send_data(ctx: Context, kind: str, fmt: int, data: bytes) -> Reply:
    tp: TpState = ctx.state.thingplug
    if not data.strip():
        return fail(ctx, -6)
    if len(data) > MAX_DATA:
        return fail(ctx, -14)
    if tp.status != "connected":
        return fail(ctx, -3)
    text = data.decode("utf-8", "replace")
    if fmt == 0:
        try:
            if not isinstance(json.loads(text), dict):
                raise ValueError("not an object")
        except ValueError:
            return fail(ctx, -8)
    tp.last_data = (kind, tx.FORMATS[fmt][0], text)
    return _publish(ctx, topic_of(tp, kind + tx.FORMATS[fmt][1]), data)


@T.exec("+SKTPDAT")
@T.read("+SKTPDAT")
def sktpdat_exec(cmd: AtCommand, ctx: Context) -> Reply:
    last = ctx.state.thingplug.last_data
    if last is None:
        return status_reply(ctx, ("thingplug_data_type:", "thingplug_format_type:", "thingplug_data:"))
    return status_reply(ctx, (f"thingplug_data_type:{last[0]}", f"thingplug_format_type:{last[1]}",
                               f"thingplug_data: {last[2]}"))


@T.set("+SKTPDAT")
def sktpdat_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, lo=1, hi=1)
    kind = cmd.str(1, choices=("telemetry", "attribute"))
    fmt = cmd.int(2, lo=0, hi=2)
    if dialect_of(ctx) == "woori":
        if not cmd.has(3):
            return fail(ctx, -6)
        data = cmd.str(3)
        if len(data) > WOORI_MAX_DATA:  # AT+SKTPERR says why (-14), like the prompt dialect's limit
            return fail(ctx, -14)
        return _send_data(ctx, kind, fmt, data.encode())
    if ctx.state.thingplug.status != "connected":
        return fail(ctx, -3)
    return Reply(prompt=Prompt(on_data=lambda data, c: _send_data(c, kind, fmt, data), limit=MAX_DATA,
                               on_too_long=lambda c: fail(c, -14)))


# --- RPC ----------------------------------------------------------------------------------
def on_message(stim: TpMessage, ctx: Context) -> None:
    tp: TpState = ctx.state.thingplug
    ts27007.rrc_activity(ctx)
    try:
        msg = json.loads(stim.payload)
        if not isinstance(msg, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        tp.last_error = -8
        return
    dialect = dialect_of(ctx)
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
        return fail(ctx, -3)
    if tp.rpcs.get(rpc_id) != method:
        return fail(ctx, -14)
    tp.cmd_id += 1
    body = tx.result_body(tp.cmd_id, rpc_id, ok, data.decode("utf-8", "replace"))
    return _publish(ctx, topic_of(tp, "up"), body, result_of=(method, rpc_id))


@T.set("+SKTPRES")
def sktpres_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.int(0, lo=1, hi=1)
    try:
        method = cmd.str(1, choices=tx.CMD_TYPES)
    except ArgError:  # not one of the guide's cmd_type values: AT+SKTPERR says -14
        return fail(ctx, -14)
    rpc_id = cmd.int(2, lo=0)
    ok = cmd.int(3, lo=0, hi=1) == 0
    tp: TpState = ctx.state.thingplug
    if tp.status != "connected":
        return fail(ctx, -3)
    if tp.rpcs.get(rpc_id) != method:
        return fail(ctx, -14)
    if dialect_of(ctx) == "woori":
        return _send_result(ctx, method, rpc_id, ok, cmd.str(4, "").encode())
    return Reply(prompt=Prompt(on_data=lambda data, c: _send_result(c, method, rpc_id, ok, data), limit=MAX_DATA,
                               on_too_long=lambda c: fail(c, -14)))
