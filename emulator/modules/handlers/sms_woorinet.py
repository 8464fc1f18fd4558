"""The WM-N400MSE's own SKT SMS commands, as WIZnet's public guides show them.

Sources: Wiznet/wiznet-iot-shield-mbed-kr ``docs/mbed_guide_wm-n400mse_sms.md`` and
``docs/mbed_guide_bg96_sms.md`` (Woori-net section), and the WM01 SMS sample
(``samples/WIoT-WM01_WM-N400MSE/WIZnet-IoTShield-WM-N400MSE-SMS/main.cpp``):
- ``AT*SKT*NEWMSG=<teleservice id>`` (4098) → OK; ``AT*SKT*NEWMSG?`` → ``*SKT*NEWMSG:4098``;
  a new message then raises ``*SKT*NEWMSG:<index>,<YYYYMMDDHHMMSS>,<callback>,<tid>,"<text>"``
  (the sample scans ``*SKT*NEWMSG:%d`` and reads ``AT+CMGR=<index>``);
- ``AT*SKT*READMT=<n>`` → ``*SKT*READMT:<n>,<time>,<callback>,<tid>,<text>`` and OK, ``<n>`` 0 =
  the most recently received message;
- ``AT*SMSMO=<da>,<callback>,<a>,<b>,<hex data>`` → OK, then ``*SMSACK`` once the network took it.
Korean text is EUC-KR on these commands (the guide's hex examples), so their lines are written
in EUC-KR; numbers are in the national form (``010...``). ``<a>``/``<b>`` (1,1 in every
example) are accepted and not interpreted [?].

Must not: touch the 27.005 commands (sms_settings.py, sms_send.py, sms_read.py).
"""

from __future__ import annotations


from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Reply
from . import sms_codec as codec
from .setting import setting
from .ts27007_time import local
from .sms_send import submit
from .sms_store import REC_READ, REC_UNREAD, Stored, st

W = CommandTable("sms_woorinet")


def national(number: str) -> str:
    """``+821012345678`` → ``01012345678`` (SKT numbers as the guides print them)."""
    return "0" + number[3:] if number.startswith("+82") else number


def _yyyymmddhhmmss(ts: float, tz: int) -> str:
    """The SMSC's local time stamp (the TPDU's SCTS zone), as +CCLK and 27.005 show it."""
    return local(ts, tz).strftime("%Y%m%d%H%M%S")


def _fields(ctx: Context, index: int, msg: Stored, quoted: bool) -> bytes:
    sms = codec.decode(msg.tpdu)
    text = f'"{sms.text}"' if quoted else sms.text
    tid = st(ctx).newmsg or 4098
    head = f"{index},{_yyyymmddhhmmss(sms.ts or 0, sms.tz)},{national(sms.number)},{tid},"
    return head.encode() + text.encode("euc-kr", "replace")


def newmsg_urc(ctx: Context, index: int, msg: Stored) -> bytes:
    return b"*SKT*NEWMSG:" + _fields(ctx, index, msg, quoted=True)


# no test form of its own (the guides show none): AT*SKT*NEWMSG=? is the plain OK of every command
setting(W, "*SKT*NEWMSG", "sms.newmsg", "(0-65535)", sep=":", shown=lambda ctx, v: str(v or 0), test=False)


@W.set("*SKT*READMT")
def readmt_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    n = cmd.int(0, lo=0)
    s = st(ctx)
    received = sorted(((m.arrived, m) for m in s.mem(s.cpms[0]).slots.values() if m.kind == "deliver"),
                      key=lambda am: -am[0])
    if n >= len(received):
        return Reply(final=ERROR)
    msg = received[n][1]
    line = b"*SKT*READMT:" + _fields(ctx, n, msg, quoted=False)
    if msg.stat == REC_UNREAD:
        msg.stat = REC_READ
    return Reply(lines=(line,))


@W.set("*SMSMO")
def smsmo_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(5)
    da = cmd.str(0, max_len=20)
    try:
        text = bytes.fromhex(cmd.str(4, max_len=2 * 160)).decode("euc-kr")
        alpha = codec.GSM7 if codec.fits_gsm7(text) else codec.UCS2
        if len(codec.split_text(text, alpha)) > 1:
            return Reply(final=ERROR)
        udl, ud = codec.pack_user_data(text, alpha)
        tpdu = codec.encode_submit(da, fo=0x11, mr=0, pid=0, dcs=alpha, vp=167, udl=udl, ud=ud)
    except (ValueError, codec.PduError):
        return Reply(final=ERROR)
    mr = submit(ctx, "", tpdu)
    if isinstance(mr, Reply):
        return Reply(final=ERROR)
    return Reply(after=("*SMSACK",))
