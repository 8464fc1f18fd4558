"""Power saving: PSM (T3324/T3412), sleep, eDRX, wake-ups, and the energy meter.

Commands: ``+CPSMS`` (TS 27.007 §7.38), ``+QPSMS`` (BG96 PSM AN §3.2: granted values in
seconds), ``+CEDRXS``/``+CEDRXRDP`` (edrx.py, merged into this feature), ``+QSCLK`` (BG96: 0/1 sleep with DTR; EC800E guide 001
§6.1: ``AT+QSCLK=3,2,"<T3412>","<T3324>"`` enables PSM with those timers), ``+QSCLKEX``
(enhanced sleep: asks the network to release RRC, ``+CSCON: 0`` 2-3 s later, guide 001 §6.1).

PSM cycle (T3324/T3412, entering and leaving PSM, URCs, the UART gate) and the decision
"reachable" live in psm.py; this file holds the commands, stimuli, the energy meter and the
``Feature`` that declares psm.py's hooks to the core.

Reachability: while in PSM (or powered down, or detached) ``is_reachable`` is False; the runner
(``ModemPort``) then holds every :class:`~emulator.core.stimuli.Downlink` (socket data and
closes, MQTT messages, LwM2M platform requests) and hands them over, in order, once the modem
is reachable again, i.e. after the uplink / AT command / TAU / PWRKEY that woke it. Idle with
eDRX in use it is not reachable either, but pageable: the runner asks ``Modem.next_paging``
and pages it (``Paged``: RRC connected, ``+CSCON: 1``) at its next paging time window (edrx.py).

Wake-up and sleep rules (choices, each from the source named):
* EC800E: the UART stays up in PSM; any command line wakes the module (guide 001 §6.1 note 3:
  "通过 DTR 或 AT 唤醒 PSM") and is answered; the wake URCs follow the command's final result:
  OK, ``+QIND: EXIT PSM``, the command's own URCs, ``+CSCON: 1`` (guide §6.1 capture).
  DTR held high in PSM = deep sleep: host bytes are lost and do not wake it; DTR low wakes it.
* BG96: UART off in PSM (bytes lost); only PWRKEY (console ``wake``) or T3412 wake it
  (BG96 PSM AN). ``AT+QSCLK=1`` + DTR high = sleep, UART off until DTR goes low.
* Sleep requests (``AT+QSCLK=3``, ``AT+QSCLKEX``, ``AT+CPSMS=1``) while a socket / MQTT / LwM2M
  session is open are accepted (OK) and the session is kept: the guide (§6.1 note 3) only
  *advises* closing TCP/MQTT first. The platform side then treats the silent device as it
  would: CTWing TCP closes after 5 min without heartbeat, LwM2M goes offline when the lifetime
  passes; the host learns of a close only after waking.
* Bad timer strings (not exactly 8 binary digits) are ERROR and change nothing.

Ownership: this feature (with psm.py) owns the power state and decides "reachable" (PSM,
eDRX sleep, registration); it builds on ts27007.py (radio, RRC) and edrx.py (paging windows),
which never import it: ts27007 announces uplinks through ``ctx.state.uplink_hooks`` and RRC changes through
``ctx.state.rrc_hooks``. The core calls the hooks ``FEATURE`` declares (UART gate, reach gate,
next paging time, command-line wake, power on/off, the energy meter it makes once per device).

Must not: do I/O, or assign anything onto the Modem (declare a hook in ``FEATURE`` instead).
Other features call ``psm_wake(ctx)`` before any uplink and read ``is_reachable(ctx)`` to
know whether the network can reach the device.
"""

from __future__ import annotations

from typing import Any

from ...at.commands import AtCommand
from ...core.energy import EnergyMeter, EnergyTable
from ...core.modem import Context
from ...core.stimuli import DtrChanged, Paged, WakeUp
from ..profile import CommandTable, Feature, Reply
from . import edrx, ts27007
from .psm import (T3324_UNITS, T3412_UNITS, PsmState, cancel_timer, decode_timer,  # noqa: F401
                  granted_timers, is_reachable, next_paging, on_command_line, on_rrc, on_uplink, psm_urcs, psm_wake,
                  start_active_timer, uart_awake)

T = CommandTable("power")  # 3GPP TS 27.007: every module
QT = CommandTable("power_quectel")  # Quectel: +QPSMS, +QSCLK (BG96 0/1; EC800E also 3)
ET = CommandTable("power_ec800e")  # +QSCLKEX: only in the ECx00x guide (001 §6.1)

def _init(ctx: Context) -> None:
    ctx.state.psm = PsmState(modem=ctx.modem)
    ctx.state.energy = ctx.modem.energy  # the core keeps the device's meter (FEATURE.energy)
    ctx.state.rrc_hooks = [*getattr(ctx.state, "rrc_hooks", []), on_rrc]
    ctx.state.uplink_hooks = [*getattr(ctx.state, "uplink_hooks", []), on_uplink]
    ctx.state.reg_timer_hooks = [*getattr(ctx.state, "reg_timer_hooks", []), granted_timers]
    edrx.init(ctx)
    ctx.state.energy.update(edrx=False)  # a fresh state: eDRX off (the meter outlives reboots)


def _make_meter(ctx: Context) -> EnergyMeter:
    """The device's energy meter; the core makes it once and keeps it across power cycles."""
    return EnergyMeter(ctx.clock.now, EnergyTable.from_mapping(ctx.defaults.get("energy")),
                       lambda: _power_state(ctx))


def _on_power(ctx: Context, on: bool) -> None:
    ctx.state.energy.update()


def _power_state(ctx: Context) -> str:
    if not ctx.modem.powered:
        return "off"
    if ctx.state.psm.in_psm:
        return "psm"
    return "connected" if ctx.state.radio.rrc else "idle"


def record_uplink(ctx: Context, nbytes: int) -> None:
    """Book an uplink's air time on the energy meter (features call it when they send)."""
    ctx.state.energy.add_tx(nbytes)


def _cereg_tail(ctx: Context) -> str:
    return ts27007._reg_tail(ctx, ctx.state.radio.cereg_n, urc=True)  # noqa: SLF001


def _report_cereg_timers(ctx: Context, before: str) -> None:
    """+CEREG=4/5 report the granted Active-Time / Periodic-TAU (TS 27.007 §10.1.22); the URC
    follows when they change (the TAU that negotiates PSM), as for any reported parameter."""
    radio = ctx.state.radio
    if radio.cereg_n >= 4 and radio.registered and _cereg_tail(ctx) != before:
        ctx.urc(f"+CEREG: {_cereg_tail(ctx)}")


def _request_psm(ctx: Context, t3412: str, t3324: str) -> None:
    psm: PsmState = ctx.state.psm
    before = _cereg_tail(ctx)
    psm.requested, psm.t3412, psm.t3324 = True, t3412, t3324
    grant = ctx.defaults.get("psm_grant") or {}
    psm.tau_s = int(grant["tau"]) if "tau" in grant else decode_timer(t3412, T3412_UNITS)
    psm.active_s = int(grant["active"]) if "active" in grant else decode_timer(t3324, T3324_UNITS)
    _report_cereg_timers(ctx, before)
    if psm.enabled and psm_urcs(ctx) and ctx.profile.quirks.psm_urc_style == "bg96":
        ctx.urc(f"+QPSMTIMER: {psm.tau_s},{psm.active_s}")
    if psm.enabled and ctx.state.radio.rrc == 0:
        start_active_timer(ctx)


def _disable_psm(ctx: Context) -> None:
    psm: PsmState = ctx.state.psm
    before = _cereg_tail(ctx)
    psm.requested = False
    _report_cereg_timers(ctx, before)
    cancel_timer(psm, "t3324")
    if psm.in_psm:
        psm_wake(ctx)


# --- commands -----------------------------------------------------------------------------
def _timer_arg(cmd: AtCommand, index: int, default: str) -> str:
    value = cmd.str(index, default)
    decode_timer(value, T3412_UNITS)  # validates 8 bits
    return value


@T.set("+CPSMS")
def cpsms_set(cmd: AtCommand, ctx: Context) -> Reply:
    # TS 27.007 §7.38: "AT+CPSMS=" (all parameters omitted) disables PSM and resets its data
    mode = cmd.int(0, lo=0, hi=2) if any(cmd.has(i) for i in range(len(cmd))) else 2
    psm: PsmState = ctx.state.psm
    if mode == 1:
        _request_psm(ctx, _timer_arg(cmd, 3, psm.t3412), _timer_arg(cmd, 4, psm.t3324))
    else:
        _disable_psm(ctx)
        if mode == 2:  # reset the PSM parameters only (DTR, sleep mode and eDRX are not PSM)
            psm.t3412, psm.t3324, psm.tau_s, psm.active_s = PsmState.t3412, PsmState.t3324, None, None
    return Reply()


@T.read("+CPSMS")
def cpsms_read(cmd: AtCommand, ctx: Context) -> Reply:
    psm: PsmState = ctx.state.psm
    return Reply(lines=(f'+CPSMS: {int(psm.requested)},,,"{psm.t3412}","{psm.t3324}"',))


@T.test("+CPSMS")
def cpsms_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+CPSMS: (0-2),,,("00000000"-"11111111"),("00000000"-"11111111")',))


@QT.read("+QPSMS")
def qpsms_read(cmd: AtCommand, ctx: Context) -> Reply:
    psm: PsmState = ctx.state.psm
    if not psm.enabled:
        return Reply(lines=(f'+QPSMS: {int(psm.requested)},,,"",""',))
    return Reply(lines=(f'+QPSMS: 1,,,"{psm.tau_s}","{psm.active_s}"',))


@QT.set("+QSCLK")
def qsclk_set(cmd: AtCommand, ctx: Context) -> Reply:
    mode = cmd.int(0, lo=0, hi=int(ctx.defaults.get("qsclk_max", 1)))  # BG96 AT manual: 0/1
    psm: PsmState = ctx.state.psm
    if mode == 3:
        cmd.int(1, 2, lo=0, hi=255)
        t3412, t3324 = _timer_arg(cmd, 2, psm.t3412), _timer_arg(cmd, 3, psm.t3324)  # ERROR before any change
        psm.sleep_mode = mode
        cancel_timer(psm, "t3324")  # the TAU negotiating the new timers restarts the active time
        radio = ctx.state.radio
        # Guide 001 §6.1: re-reports the idle RRC state (not when connected: just printed), opens
        # a connection for the TAU negotiating PSM (+CSCON: 1), enters PSM after the active time.
        after = ("+CSCON: 0",) if radio.cscon_n and not radio.rrc else ()

        def tau(c: Context) -> None:
            ts27007.rrc_activity(c)
            _request_psm(c, t3412, t3324)
            start_active_timer(c)
        ctx.later(1.0, tau, "psm-tau")
        return Reply(after=after)
    psm.sleep_mode = mode
    if mode == 0:
        _disable_psm(ctx) if psm.requested and ctx.profile.quirks.psm_urc_style != "bg96" else None
    return Reply()


@QT.read("+QSCLK")
def qsclk_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+QSCLK: {ctx.state.psm.sleep_mode}",))


@ET.set("+QSCLKEX")
def qsclkex_set(cmd: AtCommand, ctx: Context) -> Reply:
    enable = cmd.int(0, lo=0, hi=1)
    cmd.int(1, 1, lo=0, hi=255)
    cmd.int(2, 30, lo=0, hi=65535)
    if enable:
        ctx.later(float(ctx.defaults.get("release_delay", 2.0)), ts27007.rrc_release, "rai-release")
    return Reply()


# --- stimuli ------------------------------------------------------------------------------
def _on_paged(stim: Paged, ctx: Context) -> None:
    """The network pages the device in its eDRX window; in PSM there is no paging at all: the
    data waits for the device to wake (TS 23.682 §4.5.4)."""
    if ctx.state.psm.in_psm:
        return
    edrx.on_paged(ctx)


def _on_wake(stim: WakeUp, ctx: Context) -> None:
    psm_wake(ctx)


def _on_dtr(stim: DtrChanged, ctx: Context) -> None:
    """DTR from the console API. High: sleep allowed (QSCLK=1) / deep sleep in PSM. Low: wakes
    from sleep, and from PSM on modules whose UART stays up in PSM (EC800E, guide 001 §6.1);
    the BG96 leaves PSM only by PWRKEY/PSM_EINT or T3412 (BG96 PSM AN §2)."""
    psm: PsmState = ctx.state.psm
    if not stim.high and psm.in_psm and not ctx.profile.quirks.psm_uart_off:
        psm_wake(ctx)


def energy_report(ctx: Context) -> dict[str, Any]:
    return ctx.state.energy.report()


FEATURE = Feature("power", T.merged(edrx.T), init=_init,
                  stimuli={WakeUp: _on_wake, DtrChanged: _on_dtr, Paged: _on_paged},
                  input_gate=uart_awake, reach_gate=is_reachable, next_paging=next_paging,
                  on_line=on_command_line, on_power=_on_power, energy=_make_meter)
# Quectel's own commands, on top of FEATURE (the Woori-net and AM Telecom modules answer ERROR)
QUECTEL_FEATURE = Feature("power_quectel", QT)
EC800E_FEATURE = Feature("power_ec800e", ET)
