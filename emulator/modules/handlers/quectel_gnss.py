"""Quectel GNSS AT commands (BG96, EC800E): AT+QGPSCFG, AT+QGPS, AT+QGPSEND, AT+QGPSLOC,
AT+QGPSGNMEA, and the NMEA stream, on the virtual clock.

Formats and error codes: Quectel BG96 GNSS AT Commands Manual V1.1 (501 invalid parameter, 504
session ongoing, 505 session not active, 516 not fixed now). ``AT+QGPS=1`` starts a session; the
first fix comes ``gnss_ttff`` virtual seconds later (profile default; ASSUMPTION 30 s, the
order of the BG96 datasheet's cold start), and only if the receiver has a position source:

- the module's data file (``defaults.gnss_position: {lat, lon, alt}``);
- the console / a scenario (:class:`GnssPosition` stimulus, ``POST /api/modems/{name}/gnss``);
- a track (:class:`GnssTrack`: GPX or NMEA parsed by ``quectel_gnss_track.py``; ``--gnss-track``
  / config ``gnss_track`` put it in ``defaults.gnss_track``), replayed from the moment it is
  given (or the module powers on) on the virtual clock.

The source is the world, not the module: it survives reboots (kept in ``ctx.nvm``).
While a session runs, every ``<fixrate>`` seconds the sentences selected by ``"gpsnmeatype"``
go to the port ``AT+QGPSCFG="outport"`` names: ``"usbnmea"`` (the default) is the module's
separate NMEA port, here a loopback TCP port (``NmeaOut`` effects; ``emulator/net/gnss_nmea.py``
opens it at the first session and answers ``NmeaPortReady``; ``GET /api/modems/{name}/gnss``
tells its ``socket://`` URL); ``"uartnmea"`` prints them on the AT port; ``"none"`` nowhere.
The AT port never gets NMEA otherwise (as on the module).

Must not: do I/O, read files or the wall clock (time is ``ctx.clock``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ...at.commands import ArgError, AtCommand
from ...core.modem import Context
from ...core.results import CmeError
from ...core.events import Effect
from ...core.stimuli import Stimulus
from ..profile import CommandTable, Feature, Reply
from .bad_args import on_bad_args
from .quectel_gnss_nmea import NMEA_BITS, loc_fields, sentences
from .quectel_gnss_track import Fix, Track, TrackPoint

T = CommandTable("quectel_gnss")

INVALID, ONGOING, NOT_ACTIVE, NOT_ENABLED, NOT_FIXED = 501, 504, 505, 507, 516
OUTPORTS = ("none", "usbnmea", "uartnmea")
# key -> (lo, hi, default) for the integer keys of AT+QGPSCFG [doc: BG96 GNSS manual; RAK5010
# `AT+QGPSCFG=?` dump, Quectel BG96 GNSS AT Commands Manual V1.1]
INT_KEYS: dict[str, tuple[int, int, int]] = {
    "nmeasrc": (0, 1, 0), "gpsnmeatype": (0, 31, 31), "glonassnmeatype": (0, 7, 0),
    "galileonmeatype": (0, 1, 0), "beidounmeatype": (0, 3, 0), "gsvextnmeatype": (0, 1, 0),
    "gnssconfig": (0, 6, 1), "autogps": (0, 1, 0), "odpcontrol": (0, 2, 0), "dpoenable": (0, 1, 0),
    "plane": (0, 2, 0),
}


@dataclass(frozen=True)
class GnssPosition(Stimulus):
    """The receiver now stands at ``lat, lon, alt`` (replaces a running track)."""

    lat: float
    lon: float
    alt: float = 0.0


@dataclass(frozen=True)
class GnssTrack(Stimulus):
    """Replay ``track`` from now on the virtual clock."""

    track: Track


@dataclass(frozen=True)
class NmeaOut(Effect):
    """Sentences for the NMEA port (none: just make sure the port is open)."""

    sentences: tuple[str, ...] = ()


@dataclass(frozen=True)
class NmeaPortReady(Stimulus):
    """The NMEA port listens on 127.0.0.1:``port``."""

    port: int


@dataclass
class GnssState:
    on: bool = False
    fixed: bool = False
    fixrate: int = 1
    outport: str = "usbnmea"
    baud: int = 115200
    cfg: dict[str, int] = field(default_factory=lambda: {k: v[2] for k, v in INT_KEYS.items()})
    fix_timer: Any = None
    nmea_timer: Any = None
    nmea_port: int = 0  # the loopback TCP port of the "usbnmea" stream (0: not open yet)


def st(ctx: Context) -> GnssState:
    return ctx.state.gnss


gnss = on_bad_args(lambda ctx: Reply(final=CmeError(INVALID)))  # bad arguments: +CME ERROR: 501


# --- the position source (nvm: the world outside the module) --------------------------------
def _source(ctx: Context) -> tuple[str, Any, float] | None:
    src = ctx.nvm.get("gnss_source")
    if src is not None:
        return src
    track = ctx.defaults.get("gnss_track")
    if isinstance(track, Track):
        src = ctx.nvm["gnss_source"] = ("track", track, ctx.clock.now())
        return src
    pos = ctx.defaults.get("gnss_position")
    if isinstance(pos, dict) and "lat" in pos and "lon" in pos:
        return ("fixed", Fix(float(pos["lat"]), float(pos["lon"]), float(pos.get("alt", 0.0))), 0.0)
    return None


def current_fix(ctx: Context) -> Fix | None:
    """Where the receiver is now (None: no position source at all)."""
    src = _source(ctx)
    if src is None:
        return None
    kind, value, t0 = src
    return value.at(ctx.clock.now() - t0) if kind == "track" else value


def _now(ctx: Context) -> datetime:
    return datetime.fromtimestamp(ctx.clock.now(), tz=timezone.utc)


def _hdop_nsat(ctx: Context) -> tuple[float, int]:
    return float(ctx.defaults.get("gnss_hdop", 1.2)), int(ctx.defaults.get("gnss_nsat", 8))


# --- lifecycle -----------------------------------------------------------------------------
def _init(ctx: Context) -> None:
    ctx.state.gnss = GnssState()
    _source(ctx)  # a configured track starts replaying at the first power-on


def _shutdown(ctx: Context) -> None:
    _stop(ctx)


def _stop(ctx: Context) -> None:
    s = st(ctx)
    for timer in (s.fix_timer, s.nmea_timer):
        if timer is not None:
            timer.cancel()
    s.on, s.fixed, s.fix_timer, s.nmea_timer = False, False, None, None


def _try_fix(ctx: Context) -> None:
    s = st(ctx)
    s.fix_timer = None
    if s.on and current_fix(ctx) is not None:
        s.fixed = True


def _nmea_tick(ctx: Context) -> None:
    s = st(ctx)
    if not s.on:
        return
    if s.outport != "none":
        fix = current_fix(ctx) if s.fixed else None
        hdop, nsat = _hdop_nsat(ctx)
        out = [sentence for kind, bit in NMEA_BITS if s.cfg["gpsnmeatype"] & bit
               for sentence in sentences(kind, fix, _now(ctx), hdop, nsat)]
        if s.outport == "uartnmea":
            for sentence in out:
                ctx.urc(sentence)
        else:
            ctx.effect(NmeaOut(tuple(out)))
    s.nmea_timer = ctx.later(float(s.fixrate), _nmea_tick, "gnss-nmea")


# --- AT+QGPSCFG ----------------------------------------------------------------------------
@T.set("+QGPSCFG")
@gnss
def qgpscfg_set(cmd: AtCommand, ctx: Context) -> Reply:
    s = st(ctx)
    key = cmd.str(0).lower()
    if key == "outport":
        cmd.max_args(3)
        if len(cmd) == 1:
            value = f'"{s.outport}",{s.baud}' if s.outport == "uartnmea" else f'"{s.outport}"'
            return Reply(lines=(f'+QGPSCFG: "outport",{value}',))
        s.outport = cmd.str(1, choices=OUTPORTS)
        s.baud = cmd.int(2, 115200, lo=4800, hi=115200)
        return Reply()
    if key not in INT_KEYS:
        raise ArgError(f"unknown key {key!r}")
    cmd.max_args(2)
    if len(cmd) == 1:
        return Reply(lines=(f'+QGPSCFG: "{key}",{s.cfg[key]}',))
    lo, hi, _ = INT_KEYS[key]
    s.cfg[key] = cmd.int(1, lo=lo, hi=hi)
    return Reply()


@T.test("+QGPSCFG")
def qgpscfg_test(cmd: AtCommand, ctx: Context) -> Reply:
    lines = ['+QGPSCFG: "outport",("none","usbnmea","uartnmea"),(4800,9600,19200,38400,57600,115200)']
    lines += [f'+QGPSCFG: "{k}",({lo}-{hi})' for k, (lo, hi, _) in INT_KEYS.items()]
    return Reply(lines=tuple(lines))


# --- AT+QGPS / AT+QGPSEND ------------------------------------------------------------------
@T.set("+QGPS")
@gnss
def qgps_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(5)
    cmd.int(0, lo=1, hi=4)  # gnssmode: 1 stand-alone (MS-based/assisted modes run stand-alone)
    cmd.int(1, 30, lo=1, hi=255)  # fixmaxtime
    cmd.int(2, 50, lo=1, hi=1000)  # fixmaxdist
    cmd.int(3, 0, lo=0, hi=1000)  # fixcount
    fixrate = cmd.int(4, 1, lo=1, hi=65535)
    s = st(ctx)
    if s.on:
        return Reply(final=CmeError(ONGOING))
    s.on, s.fixed, s.fixrate = True, False, fixrate
    s.fix_timer = ctx.later(float(ctx.defaults.get("gnss_ttff", 30.0)), _try_fix, "gnss-ttff")
    s.nmea_timer = ctx.later(float(fixrate), _nmea_tick, "gnss-nmea")
    return Reply(effects=(NmeaOut(),) if s.outport == "usbnmea" else ())


@T.read("+QGPS")
def qgps_read(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=(f"+QGPS: {int(st(ctx).on)}",))


@T.test("+QGPS")
def qgps_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QGPS: (1-4),(1-255),(1-1000),(0-1000),(1-65535)",))


@T.exec("+QGPSEND")
def qgpsend_exec(cmd: AtCommand, ctx: Context) -> Reply:
    if not st(ctx).on:
        return Reply(final=CmeError(NOT_ACTIVE))
    _stop(ctx)
    return Reply()


# --- AT+QGPSLOC ----------------------------------------------------------------------------
def _loc(ctx: Context, mode: int) -> Reply:
    s = st(ctx)
    if not s.on:
        return Reply(final=CmeError(NOT_ACTIVE))
    if not s.fixed:
        _try_fix_if_due(ctx)
    fix = current_fix(ctx) if s.fixed else None
    if fix is None:
        return Reply(final=CmeError(NOT_FIXED))
    hdop, nsat = _hdop_nsat(ctx)
    return Reply(lines=(f"+QGPSLOC: {loc_fields(mode, fix, _now(ctx), hdop, nsat)}",))


def _try_fix_if_due(ctx: Context) -> None:
    """A source given after the TTFF ran out (e.g. a console position) fixes at once."""
    s = st(ctx)
    if s.fix_timer is None and current_fix(ctx) is not None:
        s.fixed = True


@T.set("+QGPSLOC")
@gnss
def qgpsloc_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    return _loc(ctx, cmd.int(0, lo=0, hi=2))


@T.exec("+QGPSLOC")
@T.read("+QGPSLOC")  # a real BG96 answers the read form in mode-0 layout [Quectel BG96 GNSS AT Commands Manual V1.1, dev S9]
def qgpsloc_exec(cmd: AtCommand, ctx: Context) -> Reply:
    return _loc(ctx, 0)


@T.test("+QGPSLOC")
def qgpsloc_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=("+QGPSLOC: <mode>",))


# --- AT+QGPSGNMEA --------------------------------------------------------------------------
@T.set("+QGPSGNMEA")
@gnss
def qgpsgnmea_set(cmd: AtCommand, ctx: Context) -> Reply:
    cmd.max_args(1)
    kind = cmd.str(0, choices=("GGA", "RMC", "GSV", "GSA", "VTG"))
    s = st(ctx)
    if not s.cfg["nmeasrc"]:
        # ASSUMPTION: the manual says nmeasrc must be 1; the code is "function not enabled"
        return Reply(final=CmeError(NOT_ENABLED))
    if not s.on:
        return Reply(final=CmeError(NOT_ACTIVE))
    fix = current_fix(ctx) if s.fixed else None
    hdop, nsat = _hdop_nsat(ctx)
    return Reply(lines=tuple(f"+QGPSGNMEA: {x}" for x in sentences(kind, fix, _now(ctx), hdop, nsat)))


@T.test("+QGPSGNMEA")
def qgpsgnmea_test(cmd: AtCommand, ctx: Context) -> Reply:
    return Reply(lines=('+QGPSGNMEA: "GGA","RMC","GSV","GSA","VTG"',))


# --- stimuli -------------------------------------------------------------------------------
def _on_position(stim: GnssPosition, ctx: Context) -> None:
    ctx.nvm["gnss_source"] = ("fixed", Fix(stim.lat, stim.lon, stim.alt), 0.0)


def _on_nmea_port(stim: NmeaPortReady, ctx: Context) -> None:
    st(ctx).nmea_port = stim.port


def _on_track(stim: GnssTrack, ctx: Context) -> None:
    ctx.nvm["gnss_source"] = ("track", stim.track, ctx.clock.now())


def track_from_points(points: list[dict]) -> Track:
    """A track from ``[{"t", "lat", "lon", "alt"}]`` (scenario/console data)."""
    return Track(tuple(TrackPoint(float(p.get("t", i)), float(p["lat"]), float(p["lon"]),
                                  float(p.get("alt", 0.0))) for i, p in enumerate(points)))


FEATURE = Feature("quectel_gnss", T, init=_init, on_shutdown=_shutdown,
                  stimuli={GnssPosition: _on_position, GnssTrack: _on_track, NmeaPortReady: _on_nmea_port})

__all__ = ["FEATURE", "GnssPosition", "GnssTrack", "NmeaOut", "NmeaPortReady", "current_fix"]
