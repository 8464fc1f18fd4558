"""Where the emulated GNSS receiver is: a fixed position or a track replayed on the virtual clock.

A :class:`Track` is a list of :class:`TrackPoint` (seconds from the track's start, latitude,
longitude, altitude). ``parse_track(text)`` reads a GPX document (with ``gpxpy``) or an NMEA
log (``$GPGGA``/``$GPRMC`` ... with ``pynmea2``); point times are taken relative to the first
point, a GPX without times gets one point per second. ``Track.at(t)`` interpolates linearly
between points and holds the last one after the end; it also gives course over ground and speed
from the segment it is on.

Must not: open files (the CLI, config or scenario loader hands over the text), read the wall
clock, or know AT syntax.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


EARTH_M = 6371008.8  # mean Earth radius (IUGG), metres


class TrackError(ValueError):
    """The text is neither a GPX document nor an NMEA log with positions."""


@dataclass(frozen=True)
class TrackPoint:
    t: float
    lat: float
    lon: float
    alt: float = 0.0


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    alt: float
    cog: float = 0.0  # degrees true
    speed_kmh: float = 0.0


def _distance_m(a: TrackPoint, b: TrackPoint) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _bearing(a: TrackPoint, b: TrackPoint) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


@dataclass(frozen=True)
class Track:
    points: tuple[TrackPoint, ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise TrackError("a track needs at least one point")
        if any(b.t < a.t for a, b in zip(self.points, self.points[1:])):
            raise TrackError("track times go backwards")

    @property
    def duration(self) -> float:
        return self.points[-1].t

    def at(self, t: float) -> Fix:
        pts = self.points
        if t <= pts[0].t or len(pts) == 1:
            first = pts[0]
            return Fix(first.lat, first.lon, first.alt)
        for a, b in zip(pts, pts[1:]):
            if t <= b.t:
                span = b.t - a.t
                k = (t - a.t) / span if span > 0 else 1.0
                speed = _distance_m(a, b) / span * 3.6 if span > 0 else 0.0
                return Fix(a.lat + (b.lat - a.lat) * k, a.lon + (b.lon - a.lon) * k,
                           a.alt + (b.alt - a.alt) * k, _bearing(a, b), speed)
        last = pts[-1]
        return Fix(last.lat, last.lon, last.alt)  # the end of the track: standing still


def _relative(raw: list[tuple[datetime | None, float, float, float]]) -> Track:
    if not raw:
        raise TrackError("no positions in the track")
    if any(stamp is None for stamp, *_ in raw):
        return Track(tuple(TrackPoint(float(i), lat, lon, alt) for i, (_, lat, lon, alt) in enumerate(raw)))
    t0 = raw[0][0]
    points, last = [], -1.0
    for stamp, lat, lon, alt in raw:
        t = (stamp - t0).total_seconds()
        if t < last:
            raise TrackError("track times go backwards")
        points.append(TrackPoint(t, lat, lon, alt))
        last = t
    return Track(tuple(points))


def parse_gpx(text: str) -> Track:
    import gpxpy  # ~25 ms (it pulls urllib, email): loaded when a track is read, not at boot
    import gpxpy.gpx
    try:
        doc = gpxpy.parse(text)
    except gpxpy.gpx.GPXException as exc:
        raise TrackError(f"not a GPX document: {exc}") from None
    raw = [(p.time, p.latitude, p.longitude, p.elevation or 0.0)
           for trk in doc.tracks for seg in trk.segments for p in seg.points]
    if not raw:
        raw = [(p.time, p.latitude, p.longitude, p.elevation or 0.0) for rte in doc.routes for p in rte.points]
    if not raw:
        raw = [(p.time, p.latitude, p.longitude, p.elevation or 0.0) for p in doc.waypoints]
    return _relative(raw)


def parse_nmea(text: str) -> Track:
    """GGA gives position, altitude and time of day; RMC position and time of day. Sentences of
    one epoch (same time of day) merge into one point; a time of day that goes back by more than
    12 h is the next day."""
    import pynmea2  # loaded when a track is read, not at boot
    points: list[TrackPoint] = []
    t0: float | None = None
    day = 0.0
    last_key: float | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("$"):
            continue
        try:
            msg = pynmea2.parse(line, check=True)
        except (pynmea2.ParseError, ValueError, AttributeError):
            continue
        kind = type(msg).__name__
        if kind not in ("GGA", "RMC") or not getattr(msg, "lat", "") or msg.timestamp is None:
            continue
        if kind == "RMC" and getattr(msg, "status", "A") != "A":
            continue
        if kind == "GGA" and str(getattr(msg, "gps_qual", "1") or "0") == "0":
            continue
        tod = msg.timestamp.hour * 3600 + msg.timestamp.minute * 60 + msg.timestamp.second \
            + msg.timestamp.microsecond / 1e6
        if t0 is None:
            t0 = tod
        if last_key is not None and tod + day < last_key - 43200:
            day += 86400.0
        key = tod + day
        alt = float(msg.altitude) if kind == "GGA" and msg.altitude not in (None, "") else None
        if points and key == last_key:
            prev = points[-1]
            points[-1] = TrackPoint(prev.t, prev.lat, prev.lon, alt if alt is not None else prev.alt)
            continue
        if last_key is not None and key < last_key:
            raise TrackError("track times go backwards")
        points.append(TrackPoint(key - t0, msg.latitude, msg.longitude, alt or 0.0))
        last_key = key
    if not points:
        raise TrackError("no positions in the track")
    return Track(tuple(points))


def parse_track(text: str) -> Track:
    head = text.lstrip()[:200].lower()
    if head.startswith("<?xml") or "<gpx" in head:
        return parse_gpx(text)
    return parse_nmea(text)
