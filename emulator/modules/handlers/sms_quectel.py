"""Quectel's concatenated-SMS commands in text mode: +QCMGS and +QCMGR (BG96, EC800E).

Formats (Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005; Quectel EC25/EC21 AT manual §9.17-9.18, same family as the BG96's):
``AT+QCMGS=<da>[,<toda>][,<uid>,<msg_seg>,<msg_total>]`` → ``\\r\\n> `` → body, Ctrl+Z →
``+QCMGS: <mr>``; the part carries a concatenation UDH (reference ``<uid>`` 0-255, part
``<msg_seg>`` of ``<msg_total>``, 1-7), so its body holds 153 GSM 7-bit chars (67 UCS2).
``AT+QCMGR=<index>`` reads like +CMGR and adds ``,<uid>,<msg_seg>,<msg_total>`` for a
concatenated part, whose text is shown decoded (not as hex with the UDH):
``+QCMGR: "REC UNREAD","+86...",,"13/07/30,14:44:37+32",120,1,2``. PDU mode: ``+CMS ERROR: 302``.

Must not: change the 27.005 commands (sms_send.py, sms_read.py).
"""

from __future__ import annotations

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ..profile import CommandTable, Reply
from . import sms_codec as codec
from . import sms_text
from .sms_send import address_arg, body_prompt, sms_command, submit
from .sms_store import BAD_INDEX, BAD_TEXT_PARAM, NOT_ALLOWED, REC_READ, REC_UNREAD, cms, st

Q = CommandTable("sms_quectel")


def _concat_args(cmd: AtCommand) -> tuple[int | None, tuple[int, int, int] | None]:
    """(toda, (uid, seg, total)) from the argument forms of +QCMGS."""
    n = len(cmd)
    if n in (1, 2):
        return (cmd.int(1, lo=128, hi=255) if n == 2 else None), None
    if n not in (4, 5):
        raise ArgError("argument count")
    first = n - 3
    toda = cmd.int(1, lo=128, hi=255) if n == 5 else None
    uid, seg, total = cmd.int(first, lo=0, hi=255), cmd.int(first + 1, lo=1, hi=7), cmd.int(first + 2, lo=1, hi=7)
    if seg > total:
        raise ArgError("segment beyond total")
    return toda, (uid, seg, total)


def _part(ctx: Context, da: str, toda: int | None, concat, body: bytes) -> bytes:
    s = st(ctx)
    fo, vp, pid, dcs = s.csmp
    alpha = codec.alphabet(dcs)
    udh = b""
    if concat:
        uid, seg, total = concat
        udh = codec.concat_udh(uid, total, seg)
    if alpha == codec.GSM7:
        text = body.decode("utf-8") if getattr(ctx.state, "cscs", "GSM") != "UCS2" \
            else bytes.fromhex(body.decode("ascii")).decode("utf-16-be")
        limit = codec.PART[codec.GSM7] if udh else codec.SINGLE[codec.GSM7]
        if codec.gsm7_len(text) > limit:
            raise ValueError("too long")
        udl, ud = codec.pack_user_data(text, codec.GSM7, udh)
    else:
        data = bytes.fromhex(body.decode("ascii"))
        if len(data) + len(udh) > 140:
            raise ValueError("too long")
        udl, ud = codec.pack_user_data(data, alpha, udh)
    fo = (fo | 0x40) if udh else (fo & ~0x40)
    return codec.encode_submit(da, fo=fo, mr=0, pid=pid, dcs=dcs, vp=vp, udl=udl, ud=ud, da_toa=toda)


@Q.set("+QCMGS")
@sms_command
def qcmgs_set(cmd: AtCommand, ctx: Context) -> Reply:
    if st(ctx).cmgf != 1:
        return Reply(final=cms(NOT_ALLOWED))
    cmd.max_args(5)
    da, _ = address_arg(cmd, ctx, toda=False)
    toda, concat = _concat_args(cmd)

    def on_text(body: bytes, c: Context) -> Reply:
        try:
            tpdu = _part(c, da, toda, concat, body)
        except (ValueError, UnicodeDecodeError, codec.PduError):
            return Reply(final=cms(BAD_TEXT_PARAM))
        mr = submit(c, "", tpdu)
        return mr if isinstance(mr, Reply) else Reply(lines=(f"+QCMGS: {mr}",))
    return body_prompt(ctx, on_text, True)


@Q.test("+QCMGS", "+QCMGR")
def q_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@Q.set("+QCMGR")
@sms_command
def qcmgr_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    if s.cmgf != 1:
        return Reply(final=cms(NOT_ALLOWED))
    cmd.max_args(2)
    index, keep = cmd.int(0), cmd.int(1, 0, lo=0, hi=1)
    msg = s.mem(s.cpms[0]).slots.get(index)
    if msg is None:
        return Reply(final=cms(BAD_INDEX))
    cs = sms_text.charset(ctx.state)
    lines = list(sms_text.cmgr(msg, text_mode=True, csdh=s.csdh, cs=cs))
    sms = codec.decode(msg.tpdu)
    lines[0] = "+QCMGR:" + lines[0][len("+CMGR:"):]
    if sms.concat and sms.kind != "status":
        lines[0] += ",{},{},{}".format(sms.concat[0], sms.concat[2], sms.concat[1])
        body = sms.text if sms.alpha == codec.GSM7 and cs != "UCS2" else \
            sms.text.encode("utf-16-be").hex().upper() if sms.alpha != codec.BIT8 else sms.ud[len(sms.udh):].hex().upper()
        lines[1] = body
    if msg.stat == REC_UNREAD and not keep:
        msg.stat = REC_READ
    return Reply(lines=tuple(lines))
