"""The PSM cycle and who decides "reachable": T3324/T3412, entering and leaving PSM, the UART gate.

PSM cycle (3GPP TS 24.301, BG96 PSM AN): when RRC goes idle with PSM granted, T3324 (active
time) runs; at expiry the modem enters PSM (unreachable: platforms queue downlinks) until an
uplink (``psm_wake``), a PWRKEY/PON_TRIG wake (``WakeUp`` stimulus, power.py) or T3412
(periodic TAU). URCs, enabled by ``AT+QCFG="urc/psm",1`` (EC800E) or ``AT+QCFG="psm/urc",1``
(BG96): EC800E ``+QIND: ENTER PSM`` / ``+QIND: EXIT PSM`` (guide 001 §6.1); BG96 ``POWER DOWN``
on entry and ``RDY`` on exit (BG96 PSM AN §3.5-3.6).

Reachability is decided here (``is_reachable``, ``next_paging``): not in PSM, registered, and
not idle with eDRX (edrx.py says when the next paging window opens). The power feature
declares these as the core's reach gate / paging hook / UART gate / command-line hook.

Timer strings are the 8-bit GPRS Timer 3 (T3412, TS 24.008 §10.5.7.4a) and GPRS Timer 2
(T3324, §10.5.7.3) encodings; anything that is not 8 binary digits is ERROR.

Must not: do I/O, parse commands (power.py does), or be imported by ts27007.py / edrx.py
(this module builds on them, one way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...at.commands import ArgError
from ...core.clock import Timer
from ...core.modem import Context
from . import edrx, ts27007

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


def granted_timers(ctx: Context) -> tuple[str, str] | None:
    """(Active-Time, Periodic-TAU) as +CEREG=4/5 print them (TS 27.007 §10.1.22), if granted."""
    psm: PsmState = ctx.state.psm
    return (psm.active_time, psm.periodic_tau) if psm.enabled else None


def on_uplink(ctx: Context, nbytes: int) -> None:
    """ts27007.rrc_activity: the device talks. It leaves PSM first, then the meter books the burst."""
    psm = getattr(ctx.state, "psm", None)
    if psm is not None and psm.in_psm:
        psm_wake(ctx)
    ctx.state.energy.add_tx(nbytes)


def uart_awake(ctx: Context) -> bool:
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


def on_command_line(ctx: Context) -> None:
    """A command line while in PSM (UART still awake: EC800E without DTR high) wakes the module
    (guide 001 §6.1 note 3: "通过 DTR 或 AT 唤醒 PSM"); its URCs follow the command's OK."""
    psm = getattr(ctx.state, "psm", None)
    if psm is not None and psm.in_psm and ctx.modem.powered:
        psm_wake(ctx)


def psm_urcs(ctx: Context) -> bool:
    cfg = ctx.state.qcfg if hasattr(ctx.state, "qcfg") else {}
    return bool(cfg.get("urc/psm", (0,))[0] or cfg.get("psm/urc", (0,))[0])


def cancel_timer(psm: PsmState, name: str) -> None:
    timer = psm.timers.pop(name, None)
    if timer is not None:
        timer.cancel()


# --- the PSM cycle ------------------------------------------------------------------------
def on_rrc(ctx: Context, mode: int) -> None:
    psm: PsmState = ctx.state.psm
    ctx.state.energy.update()
    edrx.on_rrc(ctx, mode)
    if mode == 1:
        cancel_timer(psm, "t3324")
    elif psm.enabled and not psm.in_psm:
        start_active_timer(ctx)


def start_active_timer(ctx: Context) -> None:
    psm: PsmState = ctx.state.psm
    cancel_timer(psm, "t3324")
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
    if psm_urcs(ctx):
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
    cancel_timer(psm, "t3412")
    ctx.state.energy.update()
    # Guide 001 §6.1 (wake by AT+QLWNOTIFY): OK, +QIND: EXIT PSM, the command's own URCs, then
    # +CSCON: 1 once the RRC connection for the uplink is set up.
    if psm_urcs(ctx):
        ctx.urc_lead("RDY" if ctx.profile.quirks.psm_urc_style == "bg96" else "+QIND: EXIT PSM")
    ts27007.rrc_activity(ctx, tail=True)
    return True


def is_reachable(ctx: Context) -> bool:
    """Can the network deliver now? Not in PSM, and not idle with eDRX (paged first, edrx.py)."""
    psm = getattr(ctx.state, "psm", None)
    return ctx.modem.powered and ctx.state.radio.registered and not (psm and psm.in_psm) \
        and not edrx.asleep(ctx)


def next_paging(ctx: Context) -> float | None:
    """When held network data can be paged in: never while in PSM or unregistered (it waits
    for the device to wake and talk), else at the next eDRX paging time window."""
    psm = getattr(ctx.state, "psm", None)
    if not ctx.modem.powered or not ctx.state.radio.registered or (psm and psm.in_psm):
        return None
    return edrx.next_paging(ctx)
