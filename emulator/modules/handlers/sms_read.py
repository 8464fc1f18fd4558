"""Reading, listing and deleting stored SMS: +CMGR, +CMGL, +CMGD (27.005 §3.4.3, §3.5.4).

``AT+CMGR=<index>`` reads from ``<mem1>`` of ``+CPMS`` and turns "REC UNREAD" into "REC READ";
an empty or out-of-range index is ``+CMS ERROR: 321``. ``AT+CMGL`` without a value lists
"REC UNREAD" (text) / 0 (PDU), Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005; listing marks unread messages read too.
``AT+CMGD=<index>[,<delflag>]``: flag 0 deletes that index (an empty one is OK, out of range
321), 1 all read, 2 read + sent, 3 read + sent + unsent, 4 all (the index is then ignored,
as the WIZnet WM01 sample's ``AT+CMGD=0,<flag>`` relies on).

Must not: send or receive (sms_send.py, sms_urc.py).
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ..profile import CommandTable, Reply
from . import sms_codec as codec
from . import sms_text
from .sms_send import sms_command
from .sms_store import (ALL, BAD_INDEX, NOT_ALLOWED, REC_READ, REC_UNREAD, STAT_TEXT, STO_SENT, STO_UNSENT,
                        cms, st)

T = CommandTable("sms_read")
DELETE_STATS = {1: {REC_READ}, 2: {REC_READ, STO_SENT}, 3: {REC_READ, STO_SENT, STO_UNSENT},
                4: {REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT}}


def _fmt(ctx: Context) -> dict:
    s = st(ctx)
    return {"text_mode": s.cmgf == 1, "csdh": s.csdh, "cs": sms_text.charset(ctx.state)}


@T.test("+CMGR")
def cmgr_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.set("+CMGR")
@sms_command
def cmgr_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)  # <mode> 0/1 (1 = do not mark read) as some firmwares take it
    s = st(ctx)
    mem = s.mem(s.cpms[0])
    index = cmd.int(0)
    keep = cmd.int(1, 0, lo=0, hi=1)
    msg = mem.slots.get(index)
    if msg is None:
        return Reply(final=cms(BAD_INDEX))
    try:
        lines = sms_text.cmgr(msg, **_fmt(ctx))
    except codec.PduError:  # a PDU written with AT+CMGW that text mode cannot show
        return Reply(lines=(f"+CMGR: {msg.stat},,{len(msg.tpdu)}", sms_text.pdu_hex(msg)))
    if msg.stat == REC_UNREAD and not keep:
        msg.stat = REC_READ
    return Reply(lines=lines)


@T.test("+CMGL")
def cmgl_test(cmd: AtCommand, ctx: Context) -> Reply:
    if st(ctx).cmgf == 1:
        return Reply(lines=("+CMGL: (" + ",".join(f'"{t}"' for t in STAT_TEXT) + ")",))
    return Reply(lines=("+CMGL: (0-4)",))


@T.exec("+CMGL")
@T.set("+CMGL")
@sms_command
def cmgl(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    cmd.max_args(2)
    if s.cmgf == 1:
        stat = STAT_TEXT.index(cmd.str(0, "REC UNREAD", choices=STAT_TEXT)) if cmd.args else REC_UNREAD
    else:
        stat = cmd.int(0, 0, lo=0, hi=4) if cmd.args else REC_UNREAD
    keep = cmd.int(1, 0, lo=0, hi=1)
    mem = s.mem(s.cpms[0])
    lines: list[str] = []
    for index in sorted(mem.slots):
        msg = mem.slots[index]
        if stat != ALL and msg.stat != stat:
            continue
        try:
            lines.extend(sms_text.cmgl(index, msg, **_fmt(ctx)))
        except codec.PduError:
            lines.extend((f"+CMGL: {index},{msg.stat},,{len(msg.tpdu)}", sms_text.pdu_hex(msg)))
        if msg.stat == REC_UNREAD and not keep:
            msg.stat = REC_READ
    return Reply(lines=tuple(lines))


@T.test("+CMGD")
def cmgd_test(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    used = ",".join(str(i) for i in sorted(s.mem(s.cpms[0]).slots))
    return Reply(lines=(f"+CMGD: ({used}),(0-4)",))


@T.set("+CMGD")
def cmgd_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    mem = s.mem(s.cpms[0])
    try:
        cmd.max_args(2)
        flag = cmd.int(1, 0, lo=0, hi=4)
    except ArgError:
        return Reply(final=cms(NOT_ALLOWED))
    try:
        index = cmd.int(0, mem.base)
    except ArgError:
        return Reply(final=cms(BAD_INDEX))
    if flag == 0:
        if not mem.valid(index):
            return Reply(final=cms(BAD_INDEX))
        mem.slots.pop(index, None)
        return Reply()
    for i in [i for i, m in mem.slots.items() if m.stat in DELETE_STATS[flag]]:
        del mem.slots[i]
    return Reply()
