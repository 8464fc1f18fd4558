"""eDRX: ``+CEDRXS`` / ``+CEDRXRDP`` / ``+CEDRXP`` and when an idle device can be paged.

Commands (3GPP TS 27.007 §7.40-7.41): ``AT+CEDRXS=<mode>[,<AcT-type>[,<Requested_eDRX_value>]]``
(mode 0 disable, 1 enable, 2 enable + ``+CEDRXP`` URC, 3 disable and reset to defaults; AcT-type
4 E-UTRAN WB-S1, 5 E-UTRAN NB-S1; value 4 bits), ``AT+CEDRXRDP`` (the values in use:
``+CEDRXRDP: <AcT-type>,"<requested>","<NW-provided>","<PTW>"``, or ``+CEDRXRDP: 0`` when the
network provides no eDRX), and with mode 2 the URC ``+CEDRXP: <AcT-type>,"<requested>",
"<NW-provided>","<PTW>"`` whenever the network-provided values change (set while registered,
attach; ``+CEDRXP: 0`` when the network stops providing them: detach, coverage lost).

The network grants the requested value with a paging time window of "0000" unless the module's
data file says otherwise (``edrx_grant: {value: "0011", ptw: "0010"}``, or ``false``: the
network refuses eDRX).

Reachability (TS 23.682 §4.5.13.1, TS 36.304 §7.3): in RRC idle with eDRX in use the device
only monitors paging in a paging time window (PTW) once per eDRX cycle. Here the windows start
one cycle after the device went idle (``idle_since``) and repeat every cycle:
``[idle_since + k*cycle, idle_since + k*cycle + PTW)``, k >= 1. Meanwhile ``asleep`` is True
(the power feature's reach gate then says "not reachable"), ``next_paging`` tells the runner
when it can page, and the ``Paged`` stimulus sets up the RRC connection (``+CSCON: 1``) before
the held downlink is handed over. In PSM the device cannot be paged at all: power.py owns
that decision and only passes ``Paged`` on outside PSM.

Cycle and PTW lengths: TS 24.008 §10.5.5.32, Table 10.5.5.32 (Extended DRX parameters).

Must not: do I/O, know how the runner holds downlinks (it asks ``next_paging``), or import
power.py or read its PSM state (power.py builds on this module, one way).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import ERROR
from ..profile import CommandTable, Reply
from . import ts27007

T = CommandTable("edrx")

WB_S1, NB_S1 = 4, 5
# TS 24.008 Table 10.5.5.32, E-UTRAN (WB-S1) eDRX cycle length in seconds, by value 0000..1111
EDRX_CYCLE_WB = (5.12, 10.24, 20.48, 40.96, 61.44, 81.92, 102.4, 122.88, 143.36, 163.84,
                 327.68, 655.36, 1310.72, 2621.44, 5242.88, 10485.76)
# NB-S1: 0010 20.48 s, 0011 40.96 s, 0101 81.92 s, 1001..1111 as WB-S1; "All other values shall
# be interpreted as 0010 by this version of the protocol" (same table, NB-S1 mode).
_NB_VALID = {0b0010, 0b0011, 0b0101, 0b1001, 0b1010, 0b1011, 0b1100, 0b1101, 0b1110, 0b1111}
# Paging time window: (value + 1) * 1.28 s in WB-S1 mode, (value + 1) * 2.56 s in NB-S1 mode
PTW_STEP = {WB_S1: 1.28, NB_S1: 2.56}
EPS = 1e-6


def cycle_seconds(act: int, value: str) -> float:
    code = int(value, 2)
    if act == NB_S1 and code not in _NB_VALID:
        code = 0b0010
    return EDRX_CYCLE_WB[code]


def ptw_seconds(act: int, ptw: str) -> float:
    return (int(ptw, 2) + 1) * PTW_STEP.get(act, 1.28)


@dataclass
class EdrxState:
    mode: int = 0
    act: int = WB_S1
    value: str = "0010"
    granted: tuple[int, str, str] | None = None  # (AcT-type, NW-provided value, PTW) in use
    idle_since: float = 0.0


def init(ctx: Context) -> None:
    ctx.state.edrx = EdrxState(idle_since=ctx.clock.now())
    ctx.state.radio_hooks = [*getattr(ctx.state, "radio_hooks", []), _on_radio]


def _grant(ctx: Context) -> tuple[int, str, str] | None:
    """What the network provides now: None unless eDRX is requested and the device registered."""
    st: EdrxState = ctx.state.edrx
    grant = ctx.defaults.get("edrx_grant", {})
    if st.mode not in (1, 2) or st.act not in (WB_S1, NB_S1) or not ctx.state.radio.registered \
            or grant is False:
        return None
    grant = grant or {}
    return st.act, str(grant.get("value", st.value)), str(grant.get("ptw", "0000"))


def _renegotiate(ctx: Context) -> None:
    """Apply the network's answer (the TAU/attach carrying the request); +CEDRXP if it changed."""
    st: EdrxState = ctx.state.edrx
    new = _grant(ctx)
    if new == st.granted:
        return
    st.granted = new
    energy = getattr(ctx.state, "energy", None)
    if energy is not None:  # idle is charged at the eDRX current only while the network grants it
        energy.update(edrx=new is not None)
    if st.mode == 2:
        ctx.urc(f'+CEDRXP: {new[0]},"{st.value}","{new[1]}","{new[2]}"' if new else "+CEDRXP: 0")


def _on_radio(ctx: Context, event: str) -> None:
    if event == "attach_done":
        ctx.state.edrx.idle_since = ctx.clock.now()  # registered, no traffic yet: idle
    _renegotiate(ctx)


def on_rrc(ctx: Context, mode: int) -> None:
    if mode == 0:
        ctx.state.edrx.idle_since = ctx.clock.now()


def asleep(ctx: Context) -> bool:
    """Idle with eDRX in use: the device listens only in its paging time windows."""
    st: EdrxState | None = getattr(ctx.state, "edrx", None)
    return bool(st and st.granted and not ctx.state.radio.rrc)


def next_paging(ctx: Context) -> float | None:
    """When the network can next page the device (now if it is in a paging time window)."""
    st: EdrxState = ctx.state.edrx
    now = ctx.clock.now()
    if not asleep(ctx):
        return now
    act, value, ptw = st.granted  # type: ignore[misc]
    cycle, window = cycle_seconds(act, value), ptw_seconds(act, ptw)
    k = max(1, int((now - st.idle_since + EPS) // cycle))  # EPS: float sums at a boundary
    start = st.idle_since + k * cycle
    if start - EPS <= now < start + window:
        return now
    return start if start > now else st.idle_since + (k + 1) * cycle


def on_paged(ctx: Context) -> None:
    """The network pages the device in its window: it connects (+CSCON: 1) to take the data.
    (power.py passes the ``Paged`` stimulus on unless the device is in PSM.)"""
    at = next_paging(ctx)
    if at is not None and at <= ctx.clock.now():
        ts27007.rrc_activity(ctx)


# --- commands -----------------------------------------------------------------------------
@T.set("+CEDRXS")
def cedrxs_set(cmd: AtCommand, ctx: Context) -> Reply:
    st: EdrxState = ctx.state.edrx
    mode = cmd.int(0, lo=0, hi=3)
    act = cmd.int(1, st.act, lo=0, hi=5)
    value = cmd.str(2, st.value)
    if len(value) != 4 or set(value) - {"0", "1"}:
        return Reply(final=ERROR)  # TS 27.007 §7.40: <Requested_eDRX_value> is 4 bits
    if mode == 3:
        mode, act, value = 0, EdrxState.act, EdrxState.value
    st.mode, st.act, st.value = mode, act, value
    _renegotiate(ctx)
    return Reply()


@T.read("+CEDRXS")
def cedrxs_read(cmd: AtCommand, ctx: Context) -> Reply:
    st: EdrxState = ctx.state.edrx
    return Reply(lines=(f'+CEDRXS: {st.act},"{st.value}"',) if st.mode else ())


@T.test("+CEDRXS")
def cedrxs_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+CEDRXS: (0-3),(0,4,5),("0000"-"1111")',))


@T.exec("+CEDRXRDP")
def cedrxrdp_exec(cmd: AtCommand, ctx: Context) -> Reply:
    """TS 27.007 §7.41: the values the network provided (AcT-type 0: eDRX not in use)."""
    st: EdrxState = ctx.state.edrx
    if st.granted is None:
        return Reply(lines=("+CEDRXRDP: 0",))
    act, value, ptw = st.granted
    return Reply(lines=(f'+CEDRXRDP: {act},"{st.value}","{value}","{ptw}"',))
