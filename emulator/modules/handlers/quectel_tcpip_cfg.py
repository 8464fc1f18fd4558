"""Quectel TCP/IP stack settings and lookups: +QICFG, +QIGETERROR, +QIDNSGIP, +QPING.

+QICFG "dataformat" (0 text / 1 hex, send and receive), "viewmode", "transpktsize",
"transwaittm", "tcp/retranscfg", each with a query form [doc: Q-TCP §2.1.15];
+QIGETERROR prints the last TCP/IP result code (550-574, [doc: Q-TCP §4]); +QIDNSGIP answers
``OK`` and then ``+QIURC: "dnsgip",...`` from the FakeInternet through a ResolveName effect;
+QPING answers ``OK``, one ``+QPING: 0,"<ip>",32,<ms>,255`` per echo (a second apart on the
virtual clock; 569 per echo when no route goes there) and the summary
``+QPING: 0,<sent>,<rcvd>,<lost>,<min>,<max>,<avg>`` [doc: Q-TCP §3.7 as in Quectel BG96 TCP/IP AT Commands Manual V1.0].

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
RTT_MS = 30  # what a ping to a routed host takes (virtual)


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
    s.dns[token] = (cid, 0, 0)
    return ok(ctx, Reply(effects=(ResolveName(token, host),)))


@T.set("+QPING")
@qi
def qping_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(4)
    cid = cid_arg(cmd, ctx)
    host = cmd.str(1, max_len=255)
    timeout = cmd.int(2, 4, lo=1, hi=255)
    count = cmd.int(3, 4, lo=1, hi=10)
    pdp = ctx.state.pdp.get(cid)
    if pdp is None or not pdp.active or not host:
        return fail(ctx, 561 if host else 552)
    s = st(ctx)
    token = s.next_token()
    s.dns[token] = (cid, count, timeout)
    return ok(ctx, Reply(effects=(ResolveName(token, host, ping=True),)))


def _pings(ctx: Context, addr: str, reachable: bool, count: int, timeout: int) -> None:
    rtts: list[int] = []
    step = 1.0 if reachable else float(timeout)

    def one(i: int) -> None:
        def fire(c: Context) -> None:
            if reachable:
                rtt = RTT_MS + i
                rtts.append(rtt)
                c.urc(f'+QPING: 0,"{addr}",32,{rtt},255')
            else:
                c.urc("+QPING: 569")
            if i == count - 1:
                got = len(rtts)
                lo, hi = (min(rtts), max(rtts)) if rtts else (0, 0)
                avg = sum(rtts) // got if got else 0
                c.urc(f"+QPING: 0,{count},{got},{count - got},{lo},{hi},{avg}")
        ctx.later(i * step + (RTT_MS / 1000.0 if reachable else step), fire, "qping")
    for i in range(count):
        one(i)


def resolved(stim: NameResolved, ctx: Context) -> None:
    entry = st(ctx).dns.pop(stim.token, None)
    if entry is None:
        return
    _cid, pings, timeout = entry
    if pings:
        if not stim.addresses:
            ctx.urc("+QPING: 565")
        else:
            _pings(ctx, stim.addresses[0], stim.reachable, pings, timeout)
        return
    if not stim.addresses:
        ctx.urc('+QIURC: "dnsgip",565')
        return
    ctx.urc(f'+QIURC: "dnsgip",0,{len(stim.addresses)},{DNS_TTL}')
    for addr in stim.addresses:
        ctx.urc(f'+QIURC: "dnsgip","{addr}"')
