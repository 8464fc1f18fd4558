"""Quectel LwM2M AT commands, Family A (``AT+QLW*``) as on the EC800E (guide 001 §4.1, §6.1).

+QLWCFG, +QLWCONFIG, +QLWADDOBJ, +QLWDELOBJ, +QLWREG, +QLWUPDATE, +QLWDEREG, +QLWOBSRSP,
+QLWRDRSP, +QLWWRRSP, +QLWEXERSP, +QLWNOTIFY, +QLWRD, +QLWSTATUS (Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c). Commands
answer OK at once and emit effects (``quectel_lwm2m_effects.py``); results come back later as
URCs from the stimulus handlers in ``quectel_lwm2m_urc.py``.

Errors (the emulator's choice where the manuals are silent):
* malformed input -> ``ERROR``: wrong arity, out-of-range numbers, ``<len>`` not matching the
  value (type 2 opaque: len = bytes = hex chars / 2), odd or non-hex hex, unknown msgid in a
  ``*RSP``, unknown ``QLWCFG`` key, unsupported security mode, empty ``AT+QLWRD`` buffer;
* right syntax in the wrong state -> ``+CME ERROR: 3`` (operation not allowed): notify before
  the platform observed the path or while not registered, register twice, update/deregister
  when not registered, reconfigure while registered; ``+CME ERROR: 30`` when the radio is not
  attached at ``AT+QLWREG``.

Must not: do I/O or read the wall clock (executors in ``emulator/net/lwm2m_exec.py`` do).
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import ERROR, CmeError
from ..profile import CommandTable, Feature, Reply
from . import ts27007
from .quectel_lwm2m_effects import (
    AT_RESULT_TO_COAP, RESULT_TIMEOUT, Lwm2mClose, Lwm2mDeregister, Lwm2mExecuteResponse,
    Lwm2mNotify, Lwm2mObserveResponse, Lwm2mReadResponse, Lwm2mRegister, Lwm2mWriteResponse)
from .quectel_lwm2m_urc import (
    CFG_DEFAULTS, CFG_RANGES, CFG_SHOWN, DEREGISTERING, IDLE, REGISTERED, REGISTERING,
    STIMULI, ServerConfig, dereg_timeout, init, lw, on_boot, on_shutdown, send_update, start_exchange,
    start_report)

T = CommandTable("quectel_lwm2m")
MAX_VALUE_BYTES = 1024  # per AT+QLWNOTIFY / *RSP value [?]
NOT_ALLOWED = CmeError(3)


def _cfg_line(key: str, values: tuple[int, ...]) -> str:
    return f'+QLWCFG: "{key}",' + ",".join(str(v) for v in values)


def parse_hex(text: str) -> bytes:
    if len(text) % 2:
        raise ArgError("odd number of hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ArgError("not a hex string") from None


def parse_value(cmd: AtCommand, ctx: Context, i: int) -> tuple[int, bytes]:
    """``<value_type>,<len>,<value>`` at argument ``i`` -> (type, payload bytes).

    1 string (len = characters), 2 opaque (hex string, len = bytes; raw text when
    ``"dataformat"`` send = 0), 3 integer, 4 float, 5 boolean (as text, len = characters).
    """
    vtype = cmd.int(i, lo=1, hi=5)
    length = cmd.int(i + 1, lo=0, hi=MAX_VALUE_BYTES)
    text = cmd.str(i + 2, "" if length == 0 else None, max_len=2 * MAX_VALUE_BYTES)
    if vtype == 2 and lw(ctx).cfg["dataformat"][0] == 1:
        payload = parse_hex(text)
    else:
        payload = text.encode("utf-8")
        try:
            if vtype == 3:
                int(text)
            elif vtype == 4:
                float(text)
            elif vtype == 5 and text not in ("0", "1"):
                raise ValueError(text)
        except ValueError:
            raise ArgError(f"value {text!r} does not fit value type {vtype}") from None
    if len(payload) != length:
        raise ArgError(f"length {length} does not match the value ({len(payload)} bytes)")
    return vtype, payload


# --- configuration ---------------------------------------------------------------------------
@T.exec("+QLWCFG")
@T.read("+QLWCFG")
def qlwcfg_show(cmd: AtCommand, ctx: Context) -> Reply:
    cfg = lw(ctx).cfg
    return Reply(lines=tuple(_cfg_line(k, cfg[k]) for k in CFG_SHOWN))


@T.test("+QLWCFG")
def qlwcfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+QLWCFG: "{k}",' + ",".join(f"({lo}-{hi})" for lo, hi in r)
                             for k, r in CFG_RANGES.items()))


@T.set("+QLWCFG")
def qlwcfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    key = cmd.str(0).lower()
    if key not in CFG_DEFAULTS:
        return Reply(final=ERROR)
    cfg = lw(ctx).cfg
    if len(cmd) == 1:
        return Reply(lines=(_cfg_line(key, cfg[key]),))
    ranges = CFG_RANGES[key]
    if len(cmd) != 1 + len(ranges):
        return Reply(final=ERROR)
    cfg[key] = tuple(cmd.int(1 + i, lo=lo, hi=hi) for i, (lo, hi) in enumerate(ranges))
    return Reply()


@T.set("+QLWCONFIG")
def qlwconfig_set(cmd: AtCommand, ctx: Context) -> Reply:
    state = lw(ctx)
    cmd.max_args(8)
    bootstrap = cmd.int(0, lo=0, hi=1)
    host = cmd.str(1, max_len=255)
    port = cmd.int(2, lo=1, hi=65535)
    endpoint = cmd.str(3, max_len=255)
    lifetime = cmd.int(4, lo=1, hi=0x7FFFFFFF)
    mode = cmd.int(5, lo=0, hi=3)
    if not host.strip() or not endpoint.strip():
        return Reply(final=ERROR)
    psk_id, psk = None, None
    if mode == 0:  # DTLS PSK: psk_id and the PSK as a hex string (guide 001 §4.1.3.2)
        if len(cmd) != 8:
            return Reply(final=ERROR)
        psk_id = cmd.str(6, max_len=128)
        psk = parse_hex(cmd.str(7, max_len=128))
        if not psk:
            return Reply(final=ERROR)
    elif mode == 3:  # NoSec; the guide's form ends in an extra ",0" (guide 001 §4.1.3.1):
        if len(cmd) > 7:  # accepted and ignored, as one optional unquoted number [?]
            return Reply(final=ERROR)
        if len(cmd) == 7:
            if cmd.quoted(6):
                return Reply(final=ERROR)
            cmd.int(6, lo=0, hi=1)
    else:  # 1 RPK / 2 certificate: not supported
        return Reply(final=ERROR)
    if state.status != IDLE:
        return Reply(final=NOT_ALLOWED)
    state.server = ServerConfig(bootstrap, host, port, endpoint, lifetime, mode, psk_id, psk)
    return Reply()


@T.read("+QLWCONFIG")
def qlwconfig_read(cmd: AtCommand, ctx: Context) -> Reply:
    s = lw(ctx).server
    if s is None:
        return Reply()
    # Quectel UniRTOS unirtos_atcmd_lwm2m.h; BC66 OpenCPU ril_lwm2m.c (Q-UNIR): +QLWCONFIG: 0,10.112.28.10,5683,"86...77",900,3 (server unquoted)
    line = f'+QLWCONFIG: {s.bootstrap},{s.host},{s.port},"{s.endpoint}",{s.lifetime},{s.security_mode}'
    if s.psk_id is not None:
        line += f',"{s.psk_id}"'
    return Reply(lines=(line,))


@T.set("+QLWADDOBJ")
def qlwaddobj_set(cmd: AtCommand, ctx: Context) -> Reply:
    obj = cmd.int(0, lo=0, hi=65535)
    inst = cmd.int(1, lo=0, hi=65535)
    count = cmd.int(2, lo=1, hi=64)
    if len(cmd) != 3 + count:
        return Reply(final=ERROR)
    res = tuple(cmd.int(3 + i, lo=0, hi=65535) for i in range(count))
    objects = lw(ctx).objects
    if len(set(res)) != len(res):
        return Reply(final=ERROR)
    if (obj, inst) in objects:
        # The instance is kept in NV memory over DEREG and reboots [?], so firmware that adds its
        # objects at every start, and guide 001 §4.1.3.2 run after §4.1.3.1 on the same module,
        # re-add the same instance: the same resource list is accepted, a different one is refused.
        return Reply() if objects[(obj, inst)] == res else Reply(final=ERROR)
    objects[(obj, inst)] = res
    return Reply()


@T.set("+QLWDELOBJ")
def qlwdelobj_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    obj = cmd.int(0, lo=0, hi=65535)
    objects = lw(ctx).objects
    keys = [k for k in objects if k[0] == obj]
    if not keys:
        return Reply(final=ERROR)
    for k in keys:
        del objects[k]
    return Reply()


# --- registration ----------------------------------------------------------------------------
@T.exec("+QLWREG")
def qlwreg_exec(cmd: AtCommand, ctx: Context) -> Reply:
    state = lw(ctx)
    s = state.server
    if s is None:
        return Reply(final=ERROR)
    if state.status != IDLE:
        return Reply(final=NOT_ALLOWED)
    if not ctx.state.radio.registered:
        return Reply(final=CmeError(30))
    state.status, state.lifetime = REGISTERING, s.lifetime
    # A new session starts with an empty AT+QLWRD buffer: requests kept from an earlier
    # registration carry msgids nobody can answer any more, and guide 001 §4.1.4.2 shows the
    # first read of a session as its own observe (+QLWRD: 2,"observe",...) [?]
    state.buffer.clear()
    ts27007.rrc_activity(ctx)
    objects = tuple((o, i, r) for (o, i), r in sorted(state.objects.items()))

    def timeout(c: Context) -> None:
        if lw(c).status == REGISTERING:
            lw(c).status = IDLE
            c.effect(Lwm2mClose("register timeout"))
            c.urc(f"+QLWREG: {RESULT_TIMEOUT}")
    start_exchange(ctx, timeout)
    ack_timeout, max_retx = state.cfg["retransmit"]
    return Reply(effects=(Lwm2mRegister(s.host, s.port, s.endpoint, s.lifetime, s.psk_id, s.psk,
                                        objects, bool(s.bootstrap), float(ack_timeout), max_retx),))


@T.set("+QLWUPDATE")
def qlwupdate_set(cmd: AtCommand, ctx: Context) -> Reply:
    state = lw(ctx)
    cmd.max_args(2)
    mode = cmd.int(0, lo=0, hi=1)
    if mode == 0:  # <lifetime> (guide: AT+QLWUPDATE=0,86400)
        lifetime, binding = cmd.int(1, state.lifetime or 86400, lo=1, hi=0x7FFFFFFF), None
    else:  # <binding> [?]
        lifetime, binding = None, cmd.str(1, choices=("U", "UQ", "S", "SQ", "US", "UQS"))
    if state.status != REGISTERED or state.update_mid is not None:
        return Reply(final=NOT_ALLOWED)
    send_update(ctx, lifetime, binding)
    return Reply()


@T.exec("+QLWUPDATE")
def qlwupdate_exec(cmd: AtCommand, ctx: Context) -> Reply:
    state = lw(ctx)
    if state.status != REGISTERED or state.update_mid is not None:
        return Reply(final=NOT_ALLOWED)
    send_update(ctx, state.lifetime)
    return Reply()


@T.exec("+QLWDEREG")
def qlwdereg_exec(cmd: AtCommand, ctx: Context) -> Reply:
    state = lw(ctx)
    if state.status != REGISTERED:
        return Reply(final=NOT_ALLOWED)
    state.status = DEREGISTERING
    start_exchange(ctx, dereg_timeout)
    # without network the De-register is lost: +QLWDEREG: -2 when the exchange times out
    return Reply(effects=(Lwm2mDeregister(),) if ctx.state.radio.registered else ())


@T.read("+QLWSTATUS")
@T.exec("+QLWSTATUS")
def qlwstatus(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+QLWSTATUS: {lw(ctx).status}",))


# --- answers to the platform -----------------------------------------------------------------
def _take_pending(ctx: Context, msgid: int, kind: str):
    entry = lw(ctx).pending.get(msgid)
    if entry is None or entry[0] != kind:
        raise ArgError(f"no pending {kind} with msgid {msgid}")
    return entry[1]


def _result(cmd: AtCommand, i: int) -> tuple[int, int]:
    result = cmd.int(i, lo=0, hi=255)
    if result not in AT_RESULT_TO_COAP:
        raise ArgError(f"unknown result {result}")
    return result, AT_RESULT_TO_COAP[result]


def _rsp_with_value(cmd: AtCommand, ctx: Context, kind: str):
    """AT+QLWOBSRSP / AT+QLWRDRSP: <msgid>,<result>[,<obj>,<inst>,<res>,<type>,<len>,<value>,<index>]."""
    cmd.max_args(9)
    msgid = cmd.int(0, lo=0, hi=65535)
    result, code = _result(cmd, 1)
    path = _take_pending(ctx, msgid, kind)
    payload = b""
    if len(cmd) > 2:
        if len(cmd) != 9:
            raise ArgError("expected 9 arguments")
        given = tuple(cmd.int(2 + k, lo=0, hi=65535) for k in range(3))
        if given[:len(path)] != path[:3]:
            raise ArgError(f"path {given} is not the requested {path}")
        _, payload = parse_value(cmd, ctx, 5)
        cmd.int(8, lo=0, hi=65535)
    elif result == 1:
        raise ArgError("an accepted response needs a value")
    del lw(ctx).pending[msgid]
    return msgid, result, code, path, payload


@T.set("+QLWOBSRSP")
def qlwobsrsp_set(cmd: AtCommand, ctx: Context) -> Reply:
    msgid, result, code, path, payload = _rsp_with_value(cmd, ctx, "observe")
    if result == 1:
        lw(ctx).observed[path] = msgid
    # docs/guides.md: the guide's "+QLWOBSRSP: 25968," is "+QLWOBSRSP: <msgid>,0"
    return Reply(effects=(Lwm2mObserveResponse(msgid, payload, code, path),),
                 after=(f"+QLWOBSRSP: {msgid},0",))


@T.set("+QLWRDRSP")
def qlwrdrsp_set(cmd: AtCommand, ctx: Context) -> Reply:
    msgid, _result_, code, path, payload = _rsp_with_value(cmd, ctx, "read")
    return Reply(effects=(Lwm2mReadResponse(msgid, payload, code, path),),
                 after=(f"+QLWRDRSP: {msgid},0",))


def _simple_rsp(kind: str, name: str, effect_type):
    def handler(cmd: AtCommand, ctx: Context) -> Reply:
        cmd.max_args(2)
        msgid = cmd.int(0, lo=0, hi=65535)
        _, code = _result(cmd, 1)
        _take_pending(ctx, msgid, kind)
        del lw(ctx).pending[msgid]
        # docs/guides.md: the guide's "+QLWWRRSP: 442990" is "+QLWWRRSP: <msgid>,0"
        return Reply(effects=(effect_type(msgid, code),), after=(f"{name}: {msgid},0",))
    return handler


T.set("+QLWWRRSP")(_simple_rsp("write", "+QLWWRRSP", Lwm2mWriteResponse))
T.set("+QLWEXERSP")(_simple_rsp("execute", "+QLWEXERSP", Lwm2mExecuteResponse))


# --- uplink ------------------------------------------------------------------------------------
@T.set("+QLWNOTIFY")
def qlwnotify_set(cmd: AtCommand, ctx: Context) -> Reply:
    """<obj>,<inst>,<res>,<type>,<len>,<value>,<index>[,<ack>[,<rai_flag>]] (guide 001 §4.1.4.1).

    NON (ack 0): OK, ``+QLWNOTIFY: 0``. CON (ack 1): OK, ``+QLWURC: "report",<mid>``,
    ``+QLWNOTIFY: 0``, then ``+QLWURC: "report_ack",0,<mid>`` on the ACK, or a non-zero result
    after the retransmissions. ``<index>`` is accepted and each notify is sent on its own [?].
    """
    state = lw(ctx)
    cmd.max_args(9)
    path = tuple(cmd.int(k, lo=0, hi=65535) for k in range(3))
    vtype, payload = parse_value(cmd, ctx, 3)
    cmd.int(6, lo=0, hi=65535)
    ack = cmd.int(7, 0, lo=0, hi=1)
    rai = cmd.int(8, 0, lo=0, hi=2)
    if state.status != REGISTERED or path not in state.observed:
        return Reply(final=NOT_ALLOWED)
    mid = state.take_mid()
    ts27007.rrc_activity(ctx, len(payload))  # air time on the energy meter
    # without network the datagram is lost: a CON one ends in "report_ack",1 by its timer
    effects = (Lwm2mNotify(mid, payload, bool(ack), path, vtype),) if ctx.state.radio.registered else ()
    # RAI (3GPP TS 24.301 §9.9.4.25): 1 = nothing follows the uplink, the RRC connection is
    # released at once; 2 = only one downlink follows: released after the CON's ACK
    if rai == 1 or (rai == 2 and not ack):
        ts27007.rrc_release(ctx, tail=True)
    elif rai == 2:
        state.rai_after_ack.add(mid)
    if not ack:
        return Reply(effects=effects, after=("+QLWNOTIFY: 0",))
    start_report(ctx, mid)
    return Reply(effects=effects, after=(f'+QLWURC: "report",{mid}', "+QLWNOTIFY: 0"))


@T.exec("+QLWRD")
def qlwrd_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """Buffer mode: the oldest stored platform request, ``+QLWRD: <remaining>,<urc body>``;
    ERROR when empty (guide 001 §4.1.4.2)."""
    buffer = lw(ctx).buffer
    if not buffer:
        return Reply(final=ERROR)
    body = buffer.popleft()
    return Reply(lines=(f"+QLWRD: {len(buffer)},{body}",))


FEATURE = Feature("quectel_lwm2m", T, init=init, on_boot=on_boot, on_shutdown=on_shutdown,
                  stimuli=dict(STIMULI))
