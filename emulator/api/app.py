"""The console API app: HTTP routes over :class:`emulator.control.Control`; every backend
contributes its own router.

Routes: ``GET /api/modems``, ``GET /api/modems/{name}``, ``POST /api/modems/{name}/power``,
``POST /api/modems/{name}/network`` (control plane: detach/attach/signal/sim),
``GET /api/modems/{name}/energy``, ``POST /api/modems/{name}/wake``,
``POST /api/modems/{name}/dtr``, ``GET /api/clock``, ``POST /api/clock/advance``,
``GET /api/network/routes``, ``POST /api/network/faults``, ``DELETE /api/network/faults``.
OpenAPI docs at ``/docs`` (served offline, ``api/console.py``); live events at ``/api/events``
(``api/events.py``); the web console at ``/``. Each route validates its body (pydantic), calls one
``Control`` method and maps the control errors: unknown modem or target -> 404, bad request -> 422, a
value the network refuses -> 400 (also for the routers of api/sms.py, which use the same Control).

Handlers are ``async def`` so they run on the emulator's event loop: a ``def`` handler would
run in FastAPI's thread pool, where a stimulus that makes a modem start an async executor
(e.g. a detach dropping its ThingPlug/MQTT link) has no event loop, and modem state is not
thread-safe.

Must not: hold state of its own or decide what a control does (``emulator/control.py`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..control import BadRequest, Control, NotFound, Refused
from . import console
from . import events as events_api
from . import sms as sms_api
from .gnss import router as gnss_router
from .security import install as install_security
from .tls import tls_router
from .ussd import ussd_router

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator


class AdvanceBody(BaseModel):
    seconds: float = Field(ge=0, le=10 * 365 * 86400, allow_inf_nan=False)


class PowerBody(BaseModel):
    on: bool


class NetworkBody(BaseModel):
    action: Literal["detach", "attach", "signal", "sim_remove", "sim_insert"]
    rssi: int | None = Field(default=None, ge=0, le=99)


class DtrBody(BaseModel):
    high: bool


class FaultBody(BaseModel):
    host: str = Field(min_length=1, max_length=253)
    port: int | None = Field(default=None, ge=1, le=65535)  # None: every route of the host
    kind: Literal["refuse", "drop", "delay", "cut"]
    count: int | None = Field(default=None, ge=0, le=2**31)
    seconds: float = Field(default=0.0, ge=0, le=10 * 365 * 86400, allow_inf_nan=False)


def create_app(emulator: "Emulator", api_token: str | None = None) -> FastAPI:
    app = FastAPI(title="modemu console API", version="0.1.0", docs_url=None, redoc_url=None,  # /docs: console.py
                  description="Control the emulated modems, the clock, the fake internet and the embedded platforms.")
    install_security(app, token=api_token)  # Host/Origin/JSON/size/token checks (security.py)
    control = Control(emulator)

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(BadRequest)
    async def bad_request(_request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/api/modems", tags=["modems"])
    async def list_modems() -> list[dict]:
        return control.modems()

    @app.get("/api/modems/{name}", tags=["modems"])
    async def get_modem(name: str) -> dict:
        return control.describe(name)

    @app.post("/api/modems/{name}/power", tags=["modems"])
    async def power(name: str, body: PowerBody) -> dict:
        control.power(name, body.on)
        return control.describe(name)

    @app.post("/api/modems/{name}/network", tags=["modems"])
    async def network(name: str, body: NetworkBody) -> dict:
        control.network(name, body.action, body.rssi)
        return control.describe(name)

    @app.get("/api/modems/{name}/energy", tags=["modems"])
    async def energy(name: str) -> dict:
        """Time per power state (off, psm, idle, connected, transmitting) and the estimated
        charge in µAh, from the module's current table (see its data yaml for the sources)."""
        report = control.energy(name)
        return {"name": name, "module": control.port(name).profile.name, **report}

    @app.post("/api/modems/{name}/wake", tags=["modems"])
    async def wake(name: str) -> dict:
        """A PWRKEY / PON_TRIG pulse: leave PSM now (or power on a powered-down modem)."""
        control.wake(name)
        return control.describe(name)

    @app.post("/api/modems/{name}/dtr", tags=["modems"])
    async def dtr(name: str, body: DtrBody) -> dict:
        control.dtr(name, body.high)
        return control.describe(name)

    @app.get("/api/clock", tags=["clock"])
    async def clock() -> dict:
        return control.clock()

    @app.post("/api/clock/advance", tags=["clock"])
    async def advance(body: AdvanceBody) -> dict:
        """Move the virtual clock forward now and fire everything due on the way (lifetimes,
        heartbeats, PSM timers ...) in deadline order; wherever a fired timer put something on
        loopback (an automatic Update, an MQTT ping) the loop runs until it is answered, so the
        result does not depend on the machine's load. Answers when done with ``now``,
        ``advanced`` (virtual seconds), ``fired`` (timers), ``settled`` (deadlines after which
        I/O was let settle), ``io_rounds`` (loop turns spent so), ``busy`` (deadlines after which
        the loop never went quiet, e.g. a host flooding a port) and ``wall_seconds``."""
        return await control.advance_report(body.seconds)

    @app.get("/api/network/routes", tags=["network"])
    async def routes() -> dict:
        return control.routes()

    @app.post("/api/network/faults", tags=["network"])
    async def add_fault(body: FaultBody) -> dict:
        control.add_fault(body.host, body.port, body.kind, body.count, body.seconds)
        return {"ok": True}

    @app.delete("/api/network/faults", tags=["network"])
    async def clear_faults() -> dict:
        control.clear_faults()
        return {"ok": True}

    app.include_router(ussd_router(control))  # USSD from the network (api/ussd.py)
    app.include_router(gnss_router(control))  # the GNSS receivers' position (api/gnss.py)
    app.include_router(sms_api.router(control))  # SMS to / from the modems (api/sms.py)
    app.include_router(tls_router(emulator))  # the platforms' CA certificates (api/tls.py)
    app.include_router(events_api.router(emulator))  # GET /api/events, SSE (api/events.py)
    console.mount(app, emulator)  # the web console at /, offline /docs, GET /api/platforms
    for backend in emulator.backends.values():
        router = backend.api_router()
        if router is not None:
            app.include_router(router)
    return app
