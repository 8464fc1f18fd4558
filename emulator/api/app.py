"""The console API app. Core routes live here; every backend contributes its own router.

Routes: ``GET /api/modems``, ``GET /api/modems/{name}``, ``POST /api/modems/{name}/power``,
``POST /api/modems/{name}/network`` (control plane: detach/attach/signal/sim),
``GET /api/clock``, ``POST /api/clock/advance``, ``GET /api/network/routes``,
``POST /api/network/faults``, ``DELETE /api/network/faults``. OpenAPI docs at ``/docs``.

Handlers are ``async def`` so they run on the emulator's event loop: a ``def`` handler would
run in FastAPI's thread pool, where a stimulus that makes a modem start an async executor
(e.g. a detach dropping its ThingPlug/MQTT link) has no event loop, and modem state is not
thread-safe.

Must not: hold state of its own (it reads the Emulator).
"""

from __future__ import annotations

import asyncio

from typing import TYPE_CHECKING, Literal

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from ..core.stimuli import (DtrChanged, NetworkAttach, NetworkDetach, SignalChanged, SimInserted,
                             SimRemoved, WakeUp)
from ..errors import ConfigError
from ..net.internet import Fault
from .ussd import ussd_router
from .gnss import router as gnss_router
from . import sms as sms_api
from .tls import tls_router

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


class AdvanceBody(BaseModel):
    seconds: float = Field(ge=0, le=10 * 365 * 86400)


class PowerBody(BaseModel):
    on: bool


class NetworkBody(BaseModel):
    action: Literal["detach", "attach", "signal", "sim_remove", "sim_insert"]
    rssi: int | None = Field(default=None, ge=0, le=99)


class DtrBody(BaseModel):
    high: bool


class FaultBody(BaseModel):
    host: str
    port: int | None = None
    kind: Literal["refuse", "drop", "delay", "cut"]
    count: int | None = Field(default=None, ge=0)
    seconds: float = 0.0


def create_app(emulator: "Emulator") -> FastAPI:
    app = FastAPI(title="modemu console API", version="0.1.0",
                  description="Control the emulated modems, the clock, the fake internet and the embedded platforms.")

    def port_or_404(name: str):
        port = emulator.ports.get(name)
        if port is None:
            raise HTTPException(404, f"no modem {name!r}; modems: {', '.join(emulator.ports)}")
        return port

    def describe(port) -> dict:
        radio, on = port.modem.state.radio, port.modem.powered  # powered down: no radio at all
        return {**port.info(), "powered": on, "registered": on and radio.registered,
                "stat": radio.stat if on else 0, "rrc": radio.rrc if on else 0,
                "psm": bool(getattr(port.modem.state, "psm", None) and port.modem.state.psm.in_psm),
                "dtr_high": port.modem.dtr_line_high,  # the host's line: kept while powered off
                "reachable": port.modem.reachable, "held_downlinks": len(port.held),
                "imei": port.profile.identity.imei,
                "imsi": port.profile.identity.imsi, "rx_bytes": port.rx_bytes, "tx_bytes": port.tx_bytes}

    @app.get("/api/modems", tags=["modems"])
    async def list_modems() -> list[dict]:
        return [describe(p) for p in emulator.ports.values()]

    @app.get("/api/modems/{name}", tags=["modems"])
    async def get_modem(name: str) -> dict:
        return describe(port_or_404(name))

    @app.post("/api/modems/{name}/power", tags=["modems"])
    async def power(name: str, body: PowerBody) -> dict:
        port = port_or_404(name)
        emulator.on_loop(port.power_on if body.on else port.power_off)
        return describe(port)

    @app.post("/api/modems/{name}/network", tags=["modems"])
    async def network(name: str, body: NetworkBody) -> dict:
        port = port_or_404(name)
        stim = {"detach": NetworkDetach(), "attach": NetworkAttach(), "sim_remove": SimRemoved(),
                "sim_insert": SimInserted()}.get(body.action)
        if body.action == "signal":
            if body.rssi is None:
                raise HTTPException(422, "signal needs rssi (0-31, 99)")
            stim = SignalChanged(body.rssi)
        emulator.on_loop(port.stimulus, stim)
        return describe(port)

    @app.get("/api/modems/{name}/energy", tags=["modems"])
    async def energy(name: str) -> dict:
        """Time per power state (off, psm, idle, connected, transmitting) and the estimated
        charge in µAh, from the module's current table (see its data yaml for the sources)."""
        port = port_or_404(name)
        meter = getattr(port.modem.state, "energy", None)
        if meter is None:
            raise HTTPException(404, f"modem {name!r} has no energy meter")
        return {"name": name, "module": port.profile.name, **emulator.on_loop(meter.report)}

    @app.post("/api/modems/{name}/wake", tags=["modems"])
    async def wake(name: str) -> dict:
        """A PWRKEY / PON_TRIG pulse: leave PSM now (or power on a powered-down modem)."""
        port = port_or_404(name)
        if not port.modem.powered:
            emulator.on_loop(port.power_on)
        else:
            emulator.on_loop(port.stimulus, WakeUp())
        return describe(port)

    @app.post("/api/modems/{name}/dtr", tags=["modems"])
    async def dtr(name: str, body: DtrBody) -> dict:
        port = port_or_404(name)
        emulator.on_loop(port.stimulus, DtrChanged(body.high))
        return describe(port)

    @app.get("/api/clock", tags=["clock"])
    async def clock() -> dict:
        return {"now": emulator.clock.now(), "time_scale": emulator.time_scale,
                "pending_timers": len(emulator.clock.pending())}

    @app.post("/api/clock/advance", tags=["clock"])
    async def advance(body: AdvanceBody) -> dict:
        """Move the virtual clock forward now and fire everything due on the way (lifetimes,
        heartbeats, PSM timers ...) in order, letting loopback I/O run between deadlines (an
        automatic Update or MQTT ping is answered); returns when done (a day: milliseconds)."""
        loop = emulator.loop
        if loop is None or not loop.is_running():
            fired = emulator.advance(body.seconds)
        elif asyncio.get_running_loop() is loop:
            fired = await emulator.advance_live(body.seconds)
        else:
            fired = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(emulator.advance_live(body.seconds), loop))
        return {"now": emulator.clock.now(), "fired": fired}

    @app.get("/api/network/routes", tags=["network"])
    async def routes() -> dict:
        return {"routes": [{"host": r.host, "port": None if r.port < 0 else r.port,
                            "target": f"{r.target[0]}:{r.target[1]}", "label": r.label,
                            "faults": [f.__dict__ for f in r.faults]} for r in emulator.internet.routes()],
                "dns": emulator.internet.names()}

    @app.post("/api/network/faults", tags=["network"])
    async def add_fault(body: FaultBody) -> dict:
        try:
            emulator.internet.add_fault(body.host, body.port, Fault(body.kind, body.count, body.seconds))
        except ConfigError as exc:
            raise HTTPException(404, str(exc)) from None
        if body.kind == "cut":
            emulator.internet.cut(body.host, body.port)
        return {"ok": True}

    @app.delete("/api/network/faults", tags=["network"])
    async def clear_faults() -> dict:
        emulator.internet.clear_faults()
        return {"ok": True}

    app.include_router(ussd_router(emulator))
    app.include_router(gnss_router(emulator))  # the GNSS receivers' position (api/gnss.py)
    app.include_router(sms_api.router(emulator))  # SMS to / from the modems (api/sms.py)
    app.include_router(tls_router(emulator))  # the platforms' CA certificates (api/tls.py)
    for backend in emulator.backends.values():
        router = backend.api_router()
        if router is not None:
            app.include_router(router)
    return app
