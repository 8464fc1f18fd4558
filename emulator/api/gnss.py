"""Console API for the emulated GNSS receivers: ``POST /api/modems/{name}/gnss``.

Body ``{"lat", "lon", "alt"}``: the receiver stands there from now on (replacing a running
track); or ``{"track": [{"t", "lat", "lon", "alt"}, ...]}``: replay those points from now on the
virtual clock. ``GET`` returns where the receiver is now (``null`` without a position source)
and the ``socket://`` URL of its NMEA port (``"usbnmea"``, open once a session started).
A modem without GNSS (no ``AT+QGPS``) answers 404.

Must not: hold state (the position lives in the modem) or parse NMEA/GPX itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, model_validator

from ..modules.handlers.quectel_gnss import GnssPosition, GnssTrack, current_fix, track_from_points
from ..modules.handlers.quectel_gnss_track import TrackError

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


class TrackPointBody(BaseModel):
    t: float = Field(ge=0)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt: float = 0.0


class GnssBody(BaseModel):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    alt: float = 0.0
    track: list[TrackPointBody] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "GnssBody":
        if self.track is None and (self.lat is None or self.lon is None):
            raise ValueError("give lat and lon, or a track of {t, lat, lon, alt} points")
        if self.track is not None and not self.track:
            raise ValueError("a track needs at least one point")
        return self


def router(emulator: "Emulator") -> APIRouter:
    r = APIRouter(tags=["gnss"])

    def gnss_port(name: str):
        port = emulator.ports.get(name)
        if port is None:
            raise HTTPException(404, f"no modem {name!r}; modems: {', '.join(emulator.ports)}")
        if not hasattr(port.modem.state, "gnss"):
            raise HTTPException(404, f"modem {name!r} ({port.profile.name}) has no GNSS receiver")
        return port

    def where(port) -> dict:
        fix = current_fix(port.modem.ctx)
        s = port.modem.state.gnss
        return {"session": s.on, "fixed": s.fixed, "outport": s.outport,
                "nmea_port": f"socket://127.0.0.1:{s.nmea_port}" if s.nmea_port else None,
                "position": None if fix is None else {"lat": fix.lat, "lon": fix.lon, "alt": fix.alt,
                                                      "cog": fix.cog, "speed_kmh": fix.speed_kmh}}

    @r.get("/api/modems/{name}/gnss")
    async def get_gnss(name: str) -> dict:
        return where(gnss_port(name))

    @r.post("/api/modems/{name}/gnss")
    async def set_gnss(name: str, body: GnssBody) -> dict:
        port = gnss_port(name)
        if body.track is not None:
            try:
                stim = GnssTrack(track_from_points([p.model_dump() for p in body.track]))
            except TrackError as exc:
                raise HTTPException(422, f"bad track: {exc}") from None
        else:
            stim = GnssPosition(body.lat, body.lon, body.alt)
        emulator.on_loop(port.stimulus, stim)
        return where(port)

    return r
