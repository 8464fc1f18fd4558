"""Quectel TCP/IP stack settings and lookups: +QICFG, +QIGETERROR, +QIDNSGIP.

+QICFG "dataformat" (0 text / 1 hex, send and receive), "viewmode", "transpktsize",
"transwaittm", "tcp/retranscfg", each with a query form [doc: Q-TCP §2.1.15];
+QIGETERROR prints the last TCP/IP result code (550-574, [doc: Q-TCP §4]); +QIDNSGIP answers
``OK`` and then ``+QIURC: "dnsgip",...`` from the FakeInternet through a ResolveName effect.

Must not: do I/O.
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CME_TEXT
from ..profile import CommandTable, Reply
from .quectel_tcpip_data import fail, ok, qi, st
from .quectel_tcpip_effects import NameResolved, ResolveName

T = CommandTable("quectel_tcpip_cfg")
DNS_TTL = 600


def cid_arg(cmd: AtCommand, ctx: Context, index: int = 0) -> int:
    """A context ID; EC800E's guide types 0 for the default context (``qiopen_cid0``)."""
    lo = 0 if ctx.defaults.get("qiopen_cid0") else 1
    return cmd.int(index, lo=lo, hi=16) or 1


# --- AT+QICFG / AT+QIGETERROR ---------------------------------------------------------------
_CFG = {  # name -> (attribute(s), ranges) [doc: Q-TCP §2.1.15]
    "dataformat": (("send_hex", "recv_hex"), ((0, 1), (0, 1))),
    "viewmode": (("viewmode",), ((0, 1),)),
    "transpktsize": (("transpktsize",), ((1, 1460),)),
    "transwaittm": (("transwaittm",), ((0, 20),)),
    "tcp/retranscfg": (("retrans",), ((3, 20), (1, 6000))),
}


@T.set("+QICFG")
@qi
def qicfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    name = cmd.str(0).lower()
    if name not in _CFG:
        return fail(ctx, 552)
    attrs, ranges = _CFG[name]
    if name == "tcp/retranscfg":
        current = list(s.retrans)
    else:
        current = [getattr(s, a) for a in attrs]
    if len(cmd) == 1:
        return ok(ctx, Reply(lines=(f'+QICFG: "{name}",' + ",".join(str(v) for v in current),)))
    cmd.max_args(1 + len(ranges))
    values = [cmd.int(i + 1, current[i], lo=lo, hi=hi) for i, (lo, hi) in enumerate(ranges)]
    if name == "tcp/retranscfg":
        s.retrans = (values[0], values[1])
    else:
        for attr, value in zip(attrs, values):
            setattr(s, attr, value)
    return ok(ctx)


@T.test("+QICFG")
def qicfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QICFG: "dataformat",(0,1),(0,1)', '+QICFG: "viewmode",(0,1)',
                        '+QICFG: "transpktsize",(1-1460)', '+QICFG: "transwaittm",(0-20)',
                        '+QICFG: "tcp/retranscfg",(3-20),(1-6000)'))


@T.exec("+QIGETERROR")
def qigeterror_exec(cmd: AtCommand, ctx: Context) -> Reply:
    code = st(ctx).last_error
    text = "operation successful" if code == 0 else CME_TEXT.get(code, "unknown error")
    # ", " as in the manual's example "+QIGETERROR: 552, invalid parameters" [doc: Q-TCP §2.1.4]
    return Reply(lines=(f"+QIGETERROR: {code}, {text}",))


# --- DNS -------------------------------------------------------------------------------------
@T.set("+QIDNSGIP")
@qi
def qidnsgip_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(2)
    cid = cid_arg(cmd, ctx)
    host = cmd.str(1, max_len=255)
    pdp = ctx.state.pdp.get(cid)
    if pdp is None or not pdp.active or not host:
        return fail(ctx, 561 if host else 552)
    s = st(ctx)
    token = s.next_token()
    s.dns[token] = cid
    return ok(ctx, Reply(effects=(ResolveName(token, host),)))


def resolved(stim: NameResolved, ctx: Context) -> None:
    if st(ctx).dns.pop(stim.token, None) is None:
        return
    if not stim.addresses:
        ctx.urc('+QIURC: "dnsgip",565')
        return
    ctx.urc(f'+QIURC: "dnsgip",0,{len(stim.addresses)},{DNS_TTL}')
    for addr in stim.addresses:
        ctx.urc(f'+QIURC: "dnsgip","{addr}"')
