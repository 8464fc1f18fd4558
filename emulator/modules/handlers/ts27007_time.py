"""Time and time zone on the virtual clock: +CCLK (TS 27.007 §8.15), +CTZR (§8.41) with the
+CTZV/+CTZE URCs, +CTZU (§8.40), and the network time (NITZ) the attach delivers.

The module's real-time clock is the virtual clock plus an offset that ``AT+CCLK=`` sets; its
time zone is the one ``AT+CCLK=`` gave or the network's (data file ``timezone``, quarter hours,
and ``dst``) once NITZ arrived with ``AT+CTZU`` on. NITZ arrives with every attach (a radio
hook: TS 24.301 §5.4.5 EMM information is sent by the network after attach); it is also what
Quectel's AT+QLTS reports (``last_sync``).

Must not: schedule timers or change registration (ts27007.py owns the radio).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ..profile import CommandTable, Feature, Reply
from .setting import setting

T = CommandTable("ts27007_time")
CTZU_KEY = "ctzu"  # ctx.nvm: AT+CTZU is saved to NV memory (Quectel AT manuals, AT+CTZU)
_CCLK = re.compile(r"^(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d)$")


@dataclass
class TimeState:
    ctzr: int = 0
    tz: int = 0  # the RTC's time zone, quarter hours
    rtc_offset: float = 0.0  # RTC - virtual clock, seconds
    sync_at: float | None = None  # virtual time of the last NITZ
    sync_tz: int = 0
    sync_dst: int = 0


def _init(ctx: Context) -> None:
    ctx.state.time = TimeState()
    ctx.state.radio_hooks = [*getattr(ctx.state, "radio_hooks", []), _nitz_hook]


def ctzu(ctx: Context) -> int:
    return int(ctx.nvm.get(CTZU_KEY, ctx.defaults.get("ctzu", 1)))


def tz_text(tz: int) -> str:
    """Quarter hours as 27.007 prints them: sign and two digits (``+36``, ``-08``, ``+00``)."""
    return f"{'-' if tz < 0 else '+'}{abs(tz):02d}"


def local(utc: float, tz: int) -> datetime:
    return datetime.fromtimestamp(utc, tz=timezone.utc) + timedelta(minutes=15 * tz)


def stamp(utc: float, tz: int) -> str:
    """``yy/MM/dd,hh:mm:ss±zz``: local time in zone ``tz`` (quarter hours) and the zone. The one
    time string of +CCLK (27.007 §8.15) and the SMS <scts>/<dt> (27.005 §3.1, as the SMSC stamped
    the TPDU), so a host comparing the two sees the same clock and zone."""
    return f"{local(utc, tz):%y/%m/%d,%H:%M:%S}{tz_text(tz)}"


def last_sync(ctx: Context) -> tuple[float, int, int] | None:
    """(UTC seconds of the last network time, its zone in quarter hours, DST) or None."""
    t: TimeState = ctx.state.time
    return None if t.sync_at is None else (t.sync_at, t.sync_tz, t.sync_dst)


def _nitz_hook(ctx: Context, event: str) -> None:
    if event != "attach_done" or not ctx.state.radio.registered:
        return
    t: TimeState = ctx.state.time
    now = ctx.clock.now()
    t.sync_at, t.sync_tz, t.sync_dst = now, int(ctx.defaults.get("timezone", 0)), int(ctx.defaults.get("dst", 0))
    if ctzu(ctx):
        t.tz, t.rtc_offset = t.sync_tz, 0.0
    if t.ctzr == 1:
        ctx.urc(f'+CTZV: "{tz_text(t.sync_tz)}"')
    elif t.ctzr == 2:
        # <time> is the local time (TS 27.007 §8.41; Quectel LTE Standard AT manual, AT+CTZR example)
        ctx.urc(f'+CTZE: "{tz_text(t.sync_tz)}",{t.sync_dst},"{local(now, t.sync_tz):%Y/%m/%d,%H:%M:%S}"')


@T.read("+CCLK")
def cclk_read(cmd: AtCommand, ctx: Context) -> Reply:
    """``+CCLK: "yy/MM/dd,hh:mm:ss±zz"``: local time and its zone in quarter hours."""
    t: TimeState = ctx.state.time
    return Reply(lines=(f'+CCLK: "{stamp(ctx.clock.now() + t.rtc_offset, t.tz)}"',))


@T.set("+CCLK")
def cclk_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    m = _CCLK.match(cmd.str(0))
    if m is None:
        raise ArgError("time is not yy/MM/dd,hh:mm:ss±zz")
    yy, mo, dd, hh, mi, ss, zz = (int(g) for g in m.groups())
    if not -48 <= zz <= 56:
        raise ArgError("time zone out of range")
    try:
        wall = datetime(2000 + yy, mo, dd, hh, mi, ss, tzinfo=timezone.utc)
    except ValueError as exc:
        raise ArgError(str(exc)) from None
    t: TimeState = ctx.state.time
    t.tz = zz
    t.rtc_offset = wall.timestamp() - 15 * 60 * zz - ctx.clock.now()
    return Reply()


@T.test("+CCLK")
def cclk_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply()


setting(T, "+CTZR", "time.ctzr", "(0-2)")


def _save_ctzu(ctx: Context, value: int) -> None:
    ctx.nvm[CTZU_KEY] = value


# the values AT+CTZU=? offers (the data file's, BG96: 0, 1, 3) are the ones the set accepts
setting(T, "+CTZU", None, lambda ctx: str(ctx.defaults.get("ctzu_test", "(0,1)")), get=ctzu, put=_save_ctzu)


FEATURE = Feature("ts27007_time", T, init=_init)
