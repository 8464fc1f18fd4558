"""Console API for the emulated GNSS receivers: ``POST /api/modems/{name}/gnss``.

Body ``{"lat", "lon", "alt"}``: the receiver stands there from now on (replacing a running
track); or ``{"track": [{"t", "lat", "lon", "alt"}, ...]}``: replay those points from now on the
virtual clock. ``GET`` returns where the receiver is now (``null`` without a position source)
and the ``socket://`` URL of its NMEA port (``"usbnmea"``, open once a session started).
A modem without GNSS (no ``AT+QGPS``) answers 404.

Each route calls :class:`emulator.control.Control` (``gnss_state``, ``gnss``); app.py maps its
errors (unknown modem or no receiver 404, a bad track 422).

Must not: hold state (the position lives in the modem), parse NMEA/GPX itself or decide what a
control does (control.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from ..control import gnss_source

if TYPE_CHECKING:  # pragma: no cover
    from ..control import Control


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


def router(control: "Control") -> APIRouter:
    r = APIRouter(tags=["gnss"])

    @r.get("/api/modems/{name}/gnss")
    async def get_gnss(name: str) -> dict:
        return control.gnss_state(name)

    @r.post("/api/modems/{name}/gnss")
    async def set_gnss(name: str, body: GnssBody) -> dict:
        control.gnss_state(name)  # an unknown modem or one without GNSS: 404 before anything
        track = None if body.track is None else [p.model_dump() for p in body.track]
        control.gnss(name, gnss_source(body.lat, body.lon, body.alt, track))
        return control.gnss_state(name)

    return r
