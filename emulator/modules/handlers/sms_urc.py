"""An MT SMS or status report arrives from the network: store it and/or indicate it per +CNMI.

``<mt>`` (27.005 §3.4.1): 0 store, no indication; 1 store + ``+CMTI: "<mem3>",<index>``; 2
classes 0/1/3 and no class routed directly as ``+CMT`` (not stored), class 2 as in 1; 3 class
3 directly, the rest as in 1. ``<ds>``: 0 nothing, 1 ``+CDS`` directly, 2 stored in ``"SR"``
+ ``+CDSI: "SR",<index>``. With ``+CSMS=1`` a direct ``+CMT``/``+CDS`` waits for ``+CNMA``.
Unacknowledged for 15 s (TR2M), ``<mt>`` and ``<ds>`` drop to 0 and the SMSC learns the
delivery failed (27.005 §3.4.4). ``<mode>`` 0 keeps the indications in the TA (flushed by a later ``AT+CNMI=2,...``); 1 and 2
write them at once (the core already holds URCs while a command runs). A full storage drops
the message (TS 23.040 "memory capacity exceeded"; the SMSC records it). On the WM-N400MSE
with ``AT*SKT*NEWMSG=<id>`` set, a stored message is announced as ``*SKT*NEWMSG:<index>``
with date, callback number, teleservice id and text (sms_woorinet.py) instead of ``+CMTI``
[ASSUMPTION: the WIZnet WM01 sample never sets +CNMI and waits for that URC only].

Must not: decide when the modem is reachable (the runner holds ``Downlink`` stimuli while it is not).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.modem import Context
from ...core.stimuli import Downlink
from . import sms_codec as codec
from . import sms_text, ts27007
from .sms_store import ACK_TIMEOUT, REC_UNREAD, Stored, st


@dataclass(frozen=True)
class SmsIncoming(Downlink):
    """An SMS-DELIVER or SMS-STATUS-REPORT TPDU from SMSC ``sca``; ``report(ok, where)`` is
    called once it reached the modem: ok False if it was dropped (full storage, undecodable),
    ``where`` = (memory, index) when it was stored (the SMSC's delivery report, the console)."""

    tpdu: bytes
    sca: str
    report: object = None
    msg_id: int = 0  # the SMSC's id: a copy it sends again after a failed attempt is dropped


def _indicate(ctx: Context, text: str | bytes) -> None:
    s = st(ctx)
    if s.cnmi[0] == 0:
        s.buffered.append(text)
        del s.buffered[:-64]  # the TA's buffer is finite [?]: the oldest go first
    else:
        ctx.urc(text)


def on_incoming(stim: SmsIncoming, ctx: Context) -> None:
    s = st(ctx)
    s.last_stored = None
    if stim.msg_id:
        seen = ctx.nvm.setdefault("sms_seen", {})
        if stim.msg_id in seen:
            return  # the network's retry of one we have (TP-RD-like duplicate rejection)
        seen[stim.msg_id] = True
        for old in list(seen)[:-256]:
            del seen[old]
    ok = _receive(stim, ctx)
    if not callable(stim.report):
        return
    if ok and s.awaiting_ack and s.ack_report is None:
        s.ack_report = lambda acked: stim.report(acked, None)  # reported at +CNMA or timeout
    else:
        stim.report(ok, s.last_stored)


def _expect_ack(ctx: Context) -> None:
    """A direct +CMT/+CDS with ``+CSMS=1``: the TE must ``AT+CNMA`` it. Without that before
    TR2M runs out, the MT answers the network with an error and sets ``<mt>`` and ``<ds>`` of
    +CNMI to 0 (27.005 §3.4.4), so later messages are stored instead of lost."""
    s = st(ctx)
    s.awaiting_ack = True
    if s.ack_timer is not None:
        s.ack_timer.cancel()

    def expired(c: Context) -> None:
        s.ack_timer = None
        if s.awaiting_ack:
            s.awaiting_ack = False
            s.cnmi[1] = s.cnmi[3] = 0
            acked(c, False)
    s.ack_timer = ctx.later(ACK_TIMEOUT, expired, "cnma-timeout")


def acked(ctx: Context, ok: bool = True) -> None:
    """+CNMA (ok) or its timeout: tell the SMSC how the direct delivery ended."""
    s = st(ctx)
    if s.ack_timer is not None and ok:
        s.ack_timer.cancel()
        s.ack_timer = None
    report, s.ack_report = s.ack_report, None
    if report is not None:
        report(ok)


def _receive(stim: SmsIncoming, ctx: Context) -> bool:
    s = st(ctx)
    ts27007.rrc_activity(ctx)  # paged and connected to take it
    try:
        sms = codec.decode(stim.tpdu)
    except codec.PduError:
        return False
    fmt = {"text_mode": s.cmgf == 1, "cs": sms_text.charset(ctx.state)}
    if sms.kind == "status":
        ds = s.cnmi[3]
        msg = Stored(REC_UNREAD, stim.tpdu, "status", stim.sca)
        if ds == 1:
            _indicate(ctx, sms_text.cds(msg, **fmt))
            if s.csms == 1:
                _expect_ack(ctx)
            return True
        if ds == 2:
            index = s.mem("SR").add(msg)
            if index is None:
                return False
            s.last_stored = ("SR", index)
            _indicate(ctx, f'+CDSI: "SR",{index}')
        return True
    if sms.kind != "deliver":
        return False
    mt, cls = s.cnmi[1], codec.message_class(sms.dcs)
    msg = Stored(REC_UNREAD, stim.tpdu, "deliver", stim.sca)
    if (mt == 2 and cls != 2) or (mt == 3 and cls == 3):
        _indicate(ctx, sms_text.cmt(msg, csdh=s.csdh, **fmt))
        if s.csms == 1:
            _expect_ack(ctx)
        return True
    mem_name = s.cpms[2]
    s.arrivals += 1
    msg.arrived = s.arrivals
    index = s.mem(mem_name).add(msg)
    if index is None:
        return False
    s.last_stored = (mem_name, index)
    if s.config.skt_newmsg and s.newmsg:
        from .sms_woorinet import newmsg_urc  # the vendor's format lives with its commands
        _indicate(ctx, newmsg_urc(ctx, index, msg))
    elif mt:
        _indicate(ctx, f'+CMTI: "{mem_name}",{index}')
    return True
