"""27.005 SMS settings: +CSMS +CMGF +CSCA +CSMP +CSDH +CSCB +CPMS +CNMI +CNMA +CMMS.

Answers as the Quectel SMS chapter prints them (Quectel LTE-Standard AT Commands Manual ch. 9; 3GPP TS 27.005): ``+CSMS: 0,1,1,1``,
``+CMGF: 0`` (PDU mode at power-on), ``+CSCA: "<sca>",145``, ``+CSMP: 17,167,0,0``,
``+CPMS: "ME",0,255,"ME",0,255,"ME",0,255``, ``+CNMI: 2,1,0,0,0``. ``+CNMI`` mode 0 keeps new
indications in the TA; switching to mode 1/2 flushes them after the OK (``<bfr>`` 0) or drops
them (``<bfr>`` 1), 27.005 §3.4.1. ``+CNMA`` without an acknowledgement pending (or with
``+CSMS: 0``) is ``+CMS ERROR: 340``.

Must not: store, send or print messages (sms_send.py, sms_read.py, sms_urc.py).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Reply
from . import sms_urc
from .setting import setting
from .sms_store import NO_ACK_EXPECTED, NOT_ALLOWED, cms, st

T = CommandTable("sms_settings")
MEMS1 = ("SM", "ME", "MT", "SR")
MEMS = ("SM", "ME", "MT")


# +CSMS=<service> answers the services it supports: <mt>,<mo>,<bm> (27.005 §3.2.1)
setting(T, "+CSMS", "sms.csms", "(0,1)", shown=lambda ctx, v: f"{v},1,1,1", answer=("+CSMS: 1,1,1",))
setting(T, "+CMGF", "sms.cmgf", "(0,1)", defaults=(0,))


@T.test("+CSCA", "+CSMP")
def ok_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.read("+CSCA")
def csca_read(cmd: AtCommand, ctx: Context) -> Reply:
    sca, toa = st(ctx).csca
    shown = sca.encode("utf-16-be").hex().upper() if getattr(ctx.state, "cscs", "GSM") == "UCS2" else sca
    return Reply(lines=(f'+CSCA: "{shown}",{toa}',))


@T.set("+CSCA")
def csca_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    sca = cmd.str(0, "", max_len=20)
    if getattr(ctx.state, "cscs", "GSM") == "UCS2" and sca:
        try:
            sca = bytes.fromhex(sca).decode("utf-16-be")
        except ValueError:
            return Reply(final=ERROR)
    if sca and not all(c in "+0123456789" for c in sca):
        return Reply(final=ERROR)
    st(ctx).csca = (sca, cmd.int(1, 145 if sca.startswith("+") else 129, lo=0, hi=255))
    return Reply()


@T.read("+CSMP")
def csmp_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CSMP: " + ",".join(map(str, st(ctx).csmp)),))


@T.set("+CSMP")
def csmp_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(4)
    s = st(ctx)
    s.csmp = [cmd.int(i, s.csmp[i], lo=0, hi=255) for i in range(4)]
    return Reply()


# +CMMS: keep the relay link open between messages (27.005 §3.5.6): kept; every SMS goes at once
setting(T, "+CMMS", "sms.cmms", "(0-2)", defaults=(0,))
setting(T, "+CSDH", "sms.csdh", "(0,1)", defaults=(0,))


@T.test("+CSCB")
def cscb_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CSCB: (0,1)",))


@T.read("+CSCB")
def cscb_read(cmd: AtCommand, ctx: Context) -> Reply:
    mode, mids, dcss = st(ctx).cscb
    return Reply(lines=(f'+CSCB: {mode},"{mids}","{dcss}"',))


@T.set("+CSCB")
def cscb_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(3)
    mids, dcss = cmd.str(1, "", max_len=200), cmd.str(2, "", max_len=200)
    if not all(c in "0123456789,-" for c in mids + dcss):
        return Reply(final=ERROR)
    st(ctx).cscb = (cmd.int(0, lo=0, hi=1), mids, dcss)
    return Reply()


@T.test("+CPMS")
def cpms_test(cmd: AtCommand, ctx: Context) -> Reply:
    one = lambda names: "(" + ",".join(f'"{m}"' for m in names) + ")"  # noqa: E731
    return Reply(lines=(f"+CPMS: {one(MEMS1)},{one(MEMS)},{one(MEMS)}",))


@T.read("+CPMS")
def cpms_read(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    parts = [f'"{name}",{s.mem(name).used},{s.mem(name).capacity}' for name in s.cpms]
    return Reply(lines=("+CPMS: " + ",".join(parts),))


@T.set("+CPMS")
def cpms_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    if len(cmd) > 3 or not cmd.has(0):
        return Reply(final=cms(NOT_ALLOWED))
    names = list(s.cpms)
    for i in range(len(cmd)):
        if not cmd.has(i):
            continue
        name = cmd.str(i).upper()
        if name not in (MEMS1 if i == 0 else MEMS):
            return Reply(final=cms(NOT_ALLOWED))
        names[i] = name
    s.cpms = names
    used = ",".join(f"{s.mem(n).used},{s.mem(n).capacity}" for n in names)
    return Reply(lines=(f"+CPMS: {used}",))


@T.test("+CNMI")
def cnmi_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)",))


@T.read("+CNMI")
def cnmi_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CNMI: " + ",".join(map(str, st(ctx).cnmi)),))


@T.set("+CNMI")
def cnmi_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    cmd.max_args(5)
    ranges = ((0, 2), (0, 3), (0, 2), (0, 2), (0, 1))
    new = [cmd.int(i, s.cnmi[i], lo=lo, hi=hi) for i, (lo, hi) in enumerate(ranges)]
    if new[2] == 1:
        return Reply(final=cms(NOT_ALLOWED))  # <bm> 1 (store CBMs, +CBMI) is not offered
    s.cnmi = new
    after: tuple[str, ...] = ()
    if new[0] in (1, 2):  # 27.005 §3.4.1: leaving mode 0 flushes (bfr 0) or clears (bfr 1)
        if new[4] == 0:
            after = tuple(s.buffered)
        s.buffered.clear()
    return Reply(after=after)


@T.exec("+CNMA")
@T.set("+CNMA")
def cnma(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    if cmd.args:
        if s.cmgf == 1:
            return Reply(final=cms(NOT_ALLOWED))  # the <n> form is PDU mode only
        cmd.int(0, lo=0, hi=2)
    if s.csms != 1 or not s.awaiting_ack:
        return Reply(final=cms(NO_ACK_EXPECTED))
    s.awaiting_ack = False
    sms_urc.acked(ctx, ok=not cmd.args or cmd.int(0) != 2)  # <n> 2: RP-ERROR to the network
    return Reply()


@T.test("+CNMA")
def cnma_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CNMA: (0-2)",) if st(ctx).cmgf == 0 else ())
