"""Power saving: PSM (T3324/T3412), sleep, eDRX, wake-ups, and the energy meter.

Commands: ``+CPSMS`` (TS 27.007 §7.38), ``+QPSMS`` (BG96 PSM AN §3.2: granted values in
seconds), ``+CEDRXS``/``+CEDRXRDP`` (edrx.py, merged into this feature), ``+QSCLK`` (BG96: 0/1 sleep with DTR; EC800E guide 001
§6.1: ``AT+QSCLK=3,2,"<T3412>","<T3324>"`` enables PSM with those timers), ``+QSCLKEX``
(enhanced sleep: asks the network to release RRC, ``+CSCON: 0`` 2-3 s later, guide 001 §6.1).

PSM cycle (3GPP TS 24.301, BG96 PSM AN): when RRC goes idle with PSM granted, T3324 (active
time) runs; at expiry the modem enters PSM (unreachable: platforms queue downlinks) until an
uplink (``psm_wake``), a PWRKEY/PON_TRIG wake (``WakeUp`` stimulus) or T3412 (periodic TAU).
URCs, enabled by ``AT+QCFG="urc/psm",1`` (EC800E) or ``AT+QCFG="psm/urc",1`` (BG96):
EC800E ``+QIND: ENTER PSM`` / ``+QIND: EXIT PSM`` (guide 001 §6.1); BG96 ``+QPSMTIMER:
<tau>,<active>`` when timers are granted and ``POWER DOWN`` on entry (BG96 PSM AN §3.5-3.6).
On the BG96 the UART is off in PSM: host bytes are lost until it wakes (quirk ``psm_uart_off``).

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

Timer strings are the 8-bit GPRS Timer 3 (T3412, TS 24.008 §10.5.7.4a) and GPRS Timer 2
(T3324, §10.5.7.3) encodings; anything that is not 8 binary digits is ERROR.

Ownership: this feature owns the power state and decides "reachable" (PSM, eDRX sleep,
registration); it builds on ts27007.py (radio, RRC) and edrx.py (paging windows), which never
import it: ts27007 announces uplinks through ``ctx.state.uplink_hooks`` and RRC changes through
``ctx.state.rrc_hooks``. The core calls the hooks ``FEATURE`` declares (UART gate, reach gate,
next paging time, command-line wake, power on/off, the energy meter it makes once per device).

Must not: do I/O, or assign anything onto the Modem (declare a hook in ``FEATURE`` instead).
Other features call ``psm_wake(ctx)`` before any uplink and read ``is_reachable(ctx)`` to
know whether the network can reach the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...at.commands import ArgError, AtCommand
from ...core.clock import Timer
from ...core.energy import EnergyMeter, EnergyTable
from ...core.modem import Context
from ...core.stimuli import DtrChanged, Paged, WakeUp
from ..profile import CommandTable, Feature, Reply
from . import edrx, ts27007

T = CommandTable("power")  # 3GPP TS 27.007: every module
QT = CommandTable("power_quectel")  # Quectel: +QPSMS, +QSCLK (BG96 0/1; EC800E also 3)
ET = CommandTable("power_ec800e")  # +QSCLKEX: only in the ECx00x guide (001 §6.1)

T3412_UNITS = {0b000: 600, 0b001: 3600, 0b010: 36000, 0b011: 2, 0b100: 30, 0b101: 60, 0b110: 1_152_000}
# GPRS Timer 2 (TS 24.008 §10.5.7.4, coded as GPRS Timer §10.5.7.3): 2 s, 1 min, decihours, 111 =
# deactivated; "Other values shall be interpreted as multiples of 1 minute in this version of the
# protocol", so units 011-110 are minutes, not a deactivated timer.
T3324_UNITS = {0b000: 2, 0b001: 60, 0b010: 360, 0b011: 60, 0b100: 60, 0b101: 60, 0b110: 60}


def decode_timer(bits: str, units: dict[int, int]) -> int | None:
    """8-bit timer string -> seconds; None = deactivated. Raises ArgError when malformed."""
    if len(bits) != 8 or set(bits) - {"0", "1"}:
        raise ArgError(f"timer {bits!r} is not 8 bits")
    unit, value = int(bits[:3], 2), int(bits[3:], 2)
    if unit not in units:
        return None
    return units[unit] * value


@dataclass
class PsmState:
    requested: bool = False
    t3412: str = "00000100"
    t3324: str = "00001111"
    tau_s: int | None = None
    active_s: int | None = None
    in_psm: bool = False
    sleep_mode: int = 0
    modem: Any = None  # the core keeps the host's DTR line level (Modem.dtr_line_high)
    timers: dict[str, Timer] = field(default_factory=dict)

    @property
    def dtr_high(self) -> bool:
        """The host's DTR level: a wire, so it outlives reboots and power-off (the core's)."""
        return bool(getattr(self.modem, "dtr_line_high", False))

    @property
    def enabled(self) -> bool:
        return self.requested and self.tau_s is not None and self.active_s is not None

    @property
    def active_time(self) -> str:
        return self.t3324

    @property
    def periodic_tau(self) -> str:
        return self.t3412


def _init(ctx: Context) -> None:
    ctx.state.psm = PsmState(modem=ctx.modem)
    ctx.state.energy = ctx.modem.energy  # the core keeps the device's meter (FEATURE.energy)
    ctx.state.rrc_hooks = [*getattr(ctx.state, "rrc_hooks", []), _on_rrc]
    ctx.state.uplink_hooks = [*getattr(ctx.state, "uplink_hooks", []), _on_uplink]
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


def _on_uplink(ctx: Context, nbytes: int) -> None:
    """ts27007.rrc_activity: the device talks. It leaves PSM first, then the meter books the burst."""
    psm = getattr(ctx.state, "psm", None)
    if psm is not None and psm.in_psm:
        psm_wake(ctx)
    ctx.state.energy.add_tx(nbytes)


def _uart_awake(ctx: Context) -> bool:
    """Does the UART take host bytes now? Not in the BG96's PSM (UART off, quirk
    ``psm_uart_off``), not in deep sleep (PSM with DTR held high, guide 001 §6.1: "若持续拉高 DTR
    进入深休眠，将无法通过以下直接发送数据的方式唤醒"), not in sleep mode 1 with DTR high (BG96
    AT+QSCLK=1: DTR high lets the module sleep, DTR low wakes it)."""
    psm = getattr(ctx.state, "psm", None)
    if psm is None:
        return True
    if psm.in_psm and (ctx.profile.quirks.psm_uart_off or psm.dtr_high):
        return False
    return not (psm.sleep_mode == 1 and psm.dtr_high)


def _on_command_line(ctx: Context) -> None:
    """A command line while in PSM (UART still awake: EC800E without DTR high) wakes the module
    (guide 001 §6.1 note 3: "通过 DTR 或 AT 唤醒 PSM"); its URCs follow the command's OK."""
    psm = getattr(ctx.state, "psm", None)
    if psm is not None and psm.in_psm and ctx.modem.powered:
        psm_wake(ctx)


def _psm_urcs(ctx: Context) -> bool:
    cfg = ctx.state.qcfg if hasattr(ctx.state, "qcfg") else {}
    return bool(cfg.get("urc/psm", (0,))[0] or cfg.get("psm/urc", (0,))[0])


def _cancel(psm: PsmState, name: str) -> None:
    timer = psm.timers.pop(name, None)
    if timer is not None:
        timer.cancel()


# --- the PSM cycle ------------------------------------------------------------------------
def _on_rrc(ctx: Context, mode: int) -> None:
    psm: PsmState = ctx.state.psm
    ctx.state.energy.update()
    edrx.on_rrc(ctx, mode)
    if mode == 1:
        _cancel(psm, "t3324")
    elif psm.enabled and not psm.in_psm:
        _start_active_timer(ctx)


def _start_active_timer(ctx: Context) -> None:
    psm: PsmState = ctx.state.psm
    _cancel(psm, "t3324")
    psm.timers["t3324"] = ctx.later(float(psm.active_s or 0), _enter_psm, "T3324")


def _enter_psm(ctx: Context) -> None:
    psm: PsmState = ctx.state.psm
    if psm.in_psm or not psm.enabled or not ctx.state.radio.registered:
        return
    # The radio is released as part of entering PSM; guide 001 §6.1 shows no +CSCON: 0 here.
    ctx.state.radio.rrc = 0
    if ctx.state.rrc_timer is not None:
        ctx.state.rrc_timer.cancel()
    psm.in_psm = True
    ctx.state.energy.update()
    if _psm_urcs(ctx):
        ctx.urc("POWER DOWN" if ctx.profile.quirks.psm_urc_style == "bg96" else "+QIND: ENTER PSM")
    psm.timers["t3412"] = ctx.later(float(psm.tau_s or 0), _periodic_tau, "T3412")


def _periodic_tau(ctx: Context) -> None:
    psm_wake(ctx)


def psm_wake(ctx: Context) -> bool:
    """Leave PSM because the device talks (uplink, TAU, PWRKEY). True if it was asleep."""
    psm: PsmState | None = getattr(ctx.state, "psm", None)
    if psm is None or not psm.in_psm:
        return False
    psm.in_psm = False
    _cancel(psm, "t3412")
    ctx.state.energy.update()
    # Guide 001 §6.1 (wake by AT+QLWNOTIFY): OK, +QIND: EXIT PSM, the command's own URCs, then
    # +CSCON: 1 once the RRC connection for the uplink is set up.
    if _psm_urcs(ctx):
        ctx.urc_lead("RDY" if ctx.profile.quirks.psm_urc_style == "bg96" else "+QIND: EXIT PSM")
    ts27007.rrc_activity(ctx, tail=True)
    return True


def is_reachable(ctx: Context) -> bool:
    """Can the network deliver now? Not in PSM, and not idle with eDRX (paged first, edrx.py)."""
    psm = getattr(ctx.state, "psm", None)
    return ctx.modem.powered and ctx.state.radio.registered and not (psm and psm.in_psm) \
        and not edrx.asleep(ctx)


def _next_paging(ctx: Context) -> float | None:
    """When held network data can be paged in: never while in PSM or unregistered (it waits
    for the device to wake and talk), else at the next eDRX paging time window."""
    psm = getattr(ctx.state, "psm", None)
    if not ctx.modem.powered or not ctx.state.radio.registered or (psm and psm.in_psm):
        return None
    return edrx.next_paging(ctx)


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
    if psm.enabled and _psm_urcs(ctx) and ctx.profile.quirks.psm_urc_style == "bg96":
        ctx.urc(f"+QPSMTIMER: {psm.tau_s},{psm.active_s}")
    if psm.enabled and ctx.state.radio.rrc == 0:
        _start_active_timer(ctx)


def _disable_psm(ctx: Context) -> None:
    psm: PsmState = ctx.state.psm
    before = _cereg_tail(ctx)
    psm.requested = False
    _report_cereg_timers(ctx, before)
    _cancel(psm, "t3324")
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
        _cancel(psm, "t3324")  # the TAU negotiating the new timers restarts the active time
        radio = ctx.state.radio
        # Guide 001 §6.1: re-reports the idle RRC state (not when connected: just printed), opens
        # a connection for the TAU negotiating PSM (+CSCON: 1), enters PSM after the active time.
        after = ("+CSCON: 0",) if radio.cscon_n and not radio.rrc else ()

        def tau(c: Context) -> None:
            ts27007.rrc_activity(c)
            _request_psm(c, t3412, t3324)
            _start_active_timer(c)
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
                  input_gate=_uart_awake, reach_gate=is_reachable, next_paging=_next_paging,
                  on_line=_on_command_line, on_power=_on_power, energy=_make_meter)
# Quectel's own commands, on top of FEATURE (the Woori-net and AM Telecom modules answer ERROR)
QUECTEL_FEATURE = Feature("power_quectel", QT)
EC800E_FEATURE = Feature("power_ec800e", ET)
