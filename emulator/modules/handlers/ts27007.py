"""3GPP TS 27.007 network commands shared by every profile (PDP contexts: ts27007_pdp.py).

+CPIN, +CFUN, +CSQ, +CREG/+CGREG/+CEREG (n=0..5, URCs on change), +COPS, +CGATT,
+CGDCONT, +CGACT, +CGPADDR, +CSCON (URC on RRC change) (+COPS=? is ts27007_info.py's, +CCLK
ts27007_time.py's). Registration follows the
table in ``core/state.py``; ``radio_event``/``rrc_activity`` are the entry points other
features (sockets, LwM2M, PSM) call when traffic flows or coverage changes. Features that
build on the radio subscribe through ``ctx.state``: ``radio_hooks`` (registration events),
``rrc_hooks`` (RRC connected/idle), ``uplink_hooks`` (traffic about to flow: power.py wakes
from PSM and books the energy there), ``reg_timer_hooks`` (the PSM timers +CEREG=4/5 report).

Must not: print vendor commands (quectel_common.py, woorinet.py ...), or import power.py /
edrx.py (they build on this module, one way).
"""

from __future__ import annotations

from ...at.commands import AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ...core.state import RadioState
from ...core.stimuli import NetworkAttach, NetworkDetach, SignalChanged, SimInserted, SimRemoved
from ..profile import CommandTable, Feature, Reply
from .setting import setting
from .ts27007_pdp import PDP_TABLE, PdpContext

T = CommandTable("ts27007")


def _init(ctx: Context) -> None:
    d = ctx.defaults
    ctx.state.radio = RadioState(rssi=int(d.get("rssi", 20)))
    ctx.state.pdp = {1: PdpContext(1, d.get("pdp_type", "IP"), d.get("apn", ""), False, d.get("ip", "10.0.0.2"))}
    ctx.state.rrc_timer = None


def _boot(ctx: Context) -> None:
    radio = ctx.state.radio
    radio.cfun = 1
    radio.stat = 0
    radio_event(ctx, "cfun_full")
    delay = float(ctx.defaults.get("attach_delay", 0.0))
    if delay:
        ctx.later(delay, lambda c: radio_event(c, "attach_done"), "attach")
    else:
        radio_event(ctx, "attach_done")


# --- shared entry points ------------------------------------------------------------------
def radio_event(ctx: Context, event: str) -> None:
    """Apply a registration event and report the change the way +CREG/+CEREG are set up."""
    radio: RadioState = ctx.state.radio
    if not radio.apply(event):
        return
    default = ctx.state.pdp.get(1)
    if default is not None:
        default.active = radio.registered and bool(default.address)
    for name, n in (("+CREG", radio.creg_n), ("+CGREG", radio.cgreg_n), ("+CEREG", radio.cereg_n)):
        if n:
            ctx.urc(f"{name}: {_reg_tail(ctx, n, urc=True)}")
    for hook in getattr(ctx.state, "radio_hooks", []):
        hook(ctx, event)


def rrc_activity(ctx: Context, nbytes: int = 0, *, tail: bool = False) -> None:
    """Traffic: the uplink hooks run first (power.py: leave PSM if asleep, the energy meter
    books the burst), RRC goes connected (+CSCON: 1), the inactivity timer restarts."""
    radio: RadioState = ctx.state.radio
    if not radio.registered:
        return
    for hook in getattr(ctx.state, "uplink_hooks", []):
        hook(ctx, nbytes)
    if radio.rrc == 0:
        _set_rrc(ctx, 1, tail=tail)
    if ctx.state.rrc_timer is not None:
        ctx.state.rrc_timer.cancel()
    ctx.state.rrc_timer = ctx.later(float(ctx.defaults.get("rrc_inactivity", 10.0)),
                                    lambda c: _set_rrc(c, 0), "rrc-release")


def rrc_release(ctx: Context, *, tail: bool = False) -> None:
    """RRC goes idle now (coverage lost; a release assistance indication, RAI)."""
    if ctx.state.rrc_timer is not None:
        ctx.state.rrc_timer.cancel()
        ctx.state.rrc_timer = None
    _set_rrc(ctx, 0, tail=tail)


def _set_rrc(ctx: Context, mode: int, *, tail: bool = False) -> None:
    radio: RadioState = ctx.state.radio
    changed = radio.rrc != mode
    radio.rrc = mode
    if changed and radio.cscon_n:
        (ctx.urc_tail if tail else ctx.urc)(f"+CSCON: {cscon_tail(radio)}")
    if changed:
        for hook in getattr(ctx.state, "rrc_hooks", []):
            hook(ctx, mode)


def _reg_tail(ctx: Context, n: int, urc: bool) -> str:
    radio: RadioState = ctx.state.radio
    parts = [str(radio.stat)] if urc else [str(n), str(radio.stat)]
    if n >= 2 and radio.registered:
        d = ctx.defaults
        parts += [f'"{d.get("tac", "0001")}"', f'"{d.get("ci", "00000001")}"', str(d.get("act", 7))]
        if n >= 4:  # the granted Active-Time / Periodic-TAU, from whoever negotiated PSM
            for timers in getattr(ctx.state, "reg_timer_hooks", []):
                if (granted := timers(ctx)) is not None:
                    parts += ["", "", f'"{granted[0]}"', f'"{granted[1]}"']
                    break
    return ",".join(parts)


# --- SIM and functionality ----------------------------------------------------------------
@T.read("+CPIN")
def cpin_read(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.sim_present:
        return Reply(final=CmeError(10))
    return Reply(lines=(f"+CPIN: {radio.sim_state}",))


@T.set("+CPIN")
def cpin_set(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    pin = cmd.str(0, max_len=8)
    if not radio.sim_present:
        return Reply(final=CmeError(10))
    if radio.sim_state == "READY":
        return Reply(final=CmeError(3))
    if pin != str(ctx.defaults.get("pin", "1234")):
        return Reply(final=CmeError(16))
    radio.sim_state = "READY"
    radio_event(ctx, "sim_in")
    ctx.later(0.0, lambda c: radio_event(c, "attach_done"))
    return Reply(after=("+CPIN: READY",))


@T.test("+CPIN")
def cpin_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


@T.set("+CFUN")
def cfun_set(cmd: AtCommand, ctx: Context) -> Reply:
    fun = cmd.int(0, lo=0, hi=4)
    rst = cmd.int(1, 0, lo=0, hi=1)
    if fun not in (0, 1, 4) or (rst and fun != 1):
        return Reply(final=CmeError(3))
    radio = ctx.state.radio
    if rst:
        return _reboot_reply(ctx)
    previous, radio.cfun = radio.cfun, fun
    if fun == previous:
        return Reply()  # no change: no URCs, registration untouched
    if fun == 1:
        radio_event(ctx, "cfun_full")
        if radio.can_register:
            delay = float(ctx.defaults.get("attach_delay", 0.0))
            ctx.later(delay, lambda c: radio_event(c, "attach_done") if c.state.radio.can_register else None, "attach")
        # CFUN=0 powers the (U)SIM down and 0 -> 1 initialises it again (+CPIN: READY, BG96 AT
        # manual §2.22); CFUN=4 only switches RF off, the SIM stays up and says nothing.
        return Reply(after=("+CPIN: READY",) if radio.sim_present and previous == 0 else ())
    radio_event(ctx, "cfun_min")
    return Reply()


def _reboot_reply(ctx: Context) -> Reply:
    ctx.later(0.0, lambda c: c.modem.reboot(), "reboot")
    return Reply()


setting(T, "+CFUN", "radio.cfun", "(0,1,4),(0-1)", setter=False)  # the set form: cfun_set


# --- signal and registration --------------------------------------------------------------
def signal(ctx: Context) -> tuple[int, int]:
    """RSSI in dBm behind +CSQ's <rssi> (-113 + 2*rssi, TS 27.007 §8.5; Quectel derives CSQ from
    the LTE RSSI) and how far RSRP moved from the data file's value since the signal changed.
    Vendor status dumps (+QENG, +QCSQ, Woori-net $$DBS) print from this one value."""
    base = int(ctx.defaults.get("rssi", 20))
    rssi = ctx.state.radio.rssi if 0 <= ctx.state.radio.rssi <= 31 else base  # 99 = unknown
    return -113 + 2 * rssi, 2 * (rssi - base)


@T.exec("+CSQ")
def csq_exec(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if radio.cfun != 1 or not radio.coverage:
        return Reply(lines=("+CSQ: 99,99",))
    return Reply(lines=(f"+CSQ: {radio.rssi},{radio.ber}",))


@T.test("+CSQ")
def csq_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+CSQ: (0-31,99),(0-7,99)",))


def _reg_shown(ctx: Context, n: int) -> str:
    return _reg_tail(ctx, n, urc=False)


setting(T, "+CREG", "radio.creg_n", "(0-2)", shown=_reg_shown)
setting(T, "+CGREG", "radio.cgreg_n", "(0-2)", shown=_reg_shown)
# what AT+CEREG=? offers, and so what the set accepts (AMM5918K: no 3 or 5)
setting(T, "+CEREG", "radio.cereg_n", lambda ctx: str(ctx.defaults.get("cereg_test", "(0-5)")), shown=_reg_shown)


def _operator_names(ctx: Context) -> tuple[str, str, str]:
    """The serving network's name in each <format>: long, short, numeric (TS 27.007 §7.3)."""
    d = ctx.defaults
    long_name = str(d.get("operator", "OPERATOR"))
    return long_name, str(d.get("operator_short", long_name)), str(d.get("plmn", "00101"))


@T.read("+COPS")
def cops_read(cmd: AtCommand, ctx: Context) -> Reply:
    radio = ctx.state.radio
    if not radio.registered:
        return Reply(lines=(f"+COPS: {radio.cops_mode}",))
    oper = _operator_names(ctx)[radio.cops_format]
    return Reply(lines=(f'+COPS: {radio.cops_mode},{radio.cops_format},"{oper}",{ctx.defaults.get("act", 7)}',))


@T.set("+COPS")
def cops_set(cmd: AtCommand, ctx: Context) -> Reply:
    """``AT+COPS=<mode>[,<format>[,<oper>[,<AcT>]]]`` (TS 27.007 §7.3): 3 sets only the format
    of the read form; 1 (manual) needs <oper> and fails with +CME ERROR: 30 for a network that
    is not the serving one, 4 (manual/automatic) falls back to automatic instead."""
    cmd.max_args(4)
    radio = ctx.state.radio
    mode = cmd.int(0, lo=0, hi=4)
    fmt = cmd.int(1, radio.cops_format, lo=0, hi=2)
    if mode in (1, 4) and len(cmd) < 3:
        return Reply(final=CmeError(50))
    if len(cmd) >= 3:
        oper = cmd.str(2, max_len=32)
        cmd.int(3, 0, lo=0, hi=9)
        if mode == 1 and oper != _operator_names(ctx)[fmt]:
            return Reply(final=CmeError(30))
    radio.cops_format = fmt
    if mode == 3:
        return Reply()
    radio.cops_mode = mode
    if mode == 2:
        radio_event(ctx, "cfun_min")
        radio.cfun = 1
    elif not radio.registered and radio.can_register:
        radio.stat = 0
        radio_event(ctx, "cfun_full")
        radio_event(ctx, "attach_done")
    return Reply()


@T.set("+CGATT")
def cgatt_set(cmd: AtCommand, ctx: Context) -> Reply:
    state = cmd.int(0, lo=0, hi=1)
    radio = ctx.state.radio
    if state == 0:
        radio_event(ctx, "cfun_min")
    elif not radio.registered:
        if not radio.can_register:
            return Reply(final=CmeError(30))
        radio.stat = 0
        radio_event(ctx, "cfun_full")
        radio_event(ctx, "attach_done")
    return Reply()


setting(T, "+CGATT", None, "(0,1)", setter=False, get=lambda ctx: int(ctx.state.radio.registered))


# --- RRC state ----------------------------------------------------------------------------
def cscon_tail(radio: RadioState) -> str:
    """TS 27.007 §10.1.32: <mode>[,<state>[,<access>]]; n=2 adds <state> 7 (E-UTRAN
    connected), n=3 also <access> 4 (E-UTRA FDD); both only while connected."""
    extra = (",7", ",7,4")[radio.cscon_n - 2] if radio.cscon_n >= 2 and radio.rrc else ""
    return f"{radio.rrc}{extra}"


# as AT+CSCON=? lists (see cscon_tail for 2/3)
setting(T, "+CSCON", "radio.cscon_n", "(0-3)", shown=lambda ctx, n: f"{n},{cscon_tail(ctx.state.radio)}")


@T.exec("+CCID", "+ICCID")
@T.read("+CCID", "+ICCID")
def ccid_exec(cmd: AtCommand, ctx: Context) -> Reply:
    if not ctx.state.radio.sim_present:
        return Reply(final=CmeError(10))
    return Reply(lines=(f"{cmd.name}: {ctx.identity.iccid}",))


# --- stimuli from the control plane -------------------------------------------------------
def _on_detach(stim: NetworkDetach, ctx: Context) -> None:
    ctx.state.radio.coverage = False
    rrc_release(ctx)
    radio_event(ctx, "coverage_lost")


def _on_attach(stim: NetworkAttach, ctx: Context) -> None:
    radio = ctx.state.radio
    radio.coverage = True
    if radio.cfun == 1 and radio.stat == 0:
        radio_event(ctx, "cfun_full")
    if radio.can_register:
        radio_event(ctx, "attach_done")


def _on_signal(stim: SignalChanged, ctx: Context) -> None:
    ctx.state.radio.rssi = stim.rssi


def _on_sim_removed(stim: SimRemoved, ctx: Context) -> None:
    ctx.state.radio.sim_present = False
    radio_event(ctx, "sim_out")


def _on_sim_inserted(stim: SimInserted, ctx: Context) -> None:
    radio = ctx.state.radio
    radio.sim_present, radio.sim_state = True, "READY"
    ctx.urc("+CPIN: READY")
    radio_event(ctx, "sim_in")
    if radio.can_register:
        radio_event(ctx, "attach_done")


FEATURE = Feature("ts27007", T.merged(PDP_TABLE), init=_init, on_boot=_boot, stimuli={
    NetworkDetach: _on_detach, NetworkAttach: _on_attach, SignalChanged: _on_signal,
    SimRemoved: _on_sim_removed, SimInserted: _on_sim_inserted,
})
