"""3GPP TS 27.007 PDP context commands: +CGDCONT, +CGACT, +CGPADDR (§10.1).

``ctx.state.pdp`` maps cid -> :class:`PdpContext`; the default bearer (cid 1) is activated by
the attach in ``ts27007.py``, the Quectel ``AT+QIACT`` family (quectel_tcpip.py) manages the
others. Must not: change registration state.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ..profile import CommandTable, Reply

T = CommandTable("ts27007_pdp")
PDP_TABLE = T


@dataclass
class PdpContext:
    cid: int
    pdp_type: str = "IP"
    apn: str = ""
    active: bool = False
    address: str = ""


# --- PDP contexts -------------------------------------------------------------------------
@T.set("+CGDCONT")
def cgdcont_set(cmd: AtCommand, ctx: Context) -> Reply:
    cid = cmd.int(0, lo=1, hi=15)
    if len(cmd) == 1:
        ctx.state.pdp.pop(cid, None)
        return Reply()
    pdp_type = cmd.str(1, "IP", choices=("IP", "IPV6", "IPV4V6", "PPP", "Non-IP"))
    apn = cmd.str(2, "", max_len=99)
    old = ctx.state.pdp.get(cid)
    if old is not None and old.active:
        # an active context (the default EPS bearer after attach) stays up with its address;
        # the new definition applies at its next activation, as on a real module
        old.pdp_type, old.apn = pdp_type, apn
        return Reply()
    ctx.state.pdp[cid] = PdpContext(cid, pdp_type, apn)
    return Reply()


def dynamic_address(cid: int, pdp_type: str) -> str:
    """The address the (fake) network assigns when a non-default context is activated:
    IPv4 from 10.<cid>.0.0/16, IPv6 from the documentation prefix (RFC 3849), written the way
    Quectel prints IPv6 (uncompressed groups, no leading zeros)."""
    if pdp_type == "IPV6":
        return f"2001:DB8:0:{cid:X}:0:0:0:2"
    return f"10.{cid}.0.2"


@T.read("+CGDCONT")
def cgdcont_read(cmd: AtCommand, ctx: Context) -> Reply:
    lines = tuple(f'+CGDCONT: {p.cid},"{p.pdp_type}","{p.apn}","{p.address if p.active else "0.0.0.0"}",0,0'
                  for p in sorted(ctx.state.pdp.values(), key=lambda p: p.cid))
    return Reply(lines=lines)


@T.test("+CGDCONT")
def cgdcont_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+CGDCONT: (1-15),"IP",,,(0-2),(0-4)', '+CGDCONT: (1-15),"IPV6",,,(0-2),(0-4)',
                        '+CGDCONT: (1-15),"IPV4V6",,,(0-2),(0-4)'))


@T.read("+CGACT")
def cgact_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f"+CGACT: {p.cid},{int(p.active)}" for p in sorted(ctx.state.pdp.values(), key=lambda p: p.cid)))


@T.set("+CGACT")
def cgact_set(cmd: AtCommand, ctx: Context) -> Reply:
    state = cmd.int(0, lo=0, hi=1)
    cid = cmd.int(1, 1, lo=1, hi=15)
    pdp = ctx.state.pdp.get(cid)
    if pdp is None:
        return Reply(final=CmeError(3))
    if state and not ctx.state.radio.registered:
        return Reply(final=CmeError(30))
    pdp.active = bool(state)
    if state and not pdp.address:
        pdp.address = dynamic_address(cid, pdp.pdp_type)
    return Reply()


@T.exec("+CGPADDR")
def cgpaddr_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=tuple(f'+CGPADDR: {p.cid},"{p.address}"' for p in sorted(ctx.state.pdp.values(), key=lambda p: p.cid)
                             if p.active))


@T.set("+CGPADDR")
def cgpaddr_set(cmd: AtCommand, ctx: Context) -> Reply:
    lines = []
    for i in range(len(cmd)):
        pdp = ctx.state.pdp.get(cmd.int(i, lo=1, hi=15))
        if pdp is not None:
            lines.append(f'+CGPADDR: {pdp.cid},"{pdp.address if pdp.active else ""}"')
    return Reply(lines=tuple(lines))


@T.test("+CGPADDR")
def cgpaddr_test(cmd: AtCommand, ctx: Context) -> Reply:
    cids = ",".join(str(cid) for cid in sorted(ctx.state.pdp))  # defined contexts (TS 27.007 §10.1.14)
    return Reply(lines=(f"+CGPADDR: ({cids})",))
