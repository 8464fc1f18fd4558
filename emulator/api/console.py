"""The web console at ``/`` and offline ``/docs``: static files shipped in the package
(``api/static/``: plain HTML/JS/CSS, no build step) and swagger-ui's assets from the
``fastapi-offline`` wheel (swagger-ui 5, which renders FastAPI's OpenAPI 3.1 schema; the
``swagger-ui-bundle`` wheel ships swagger-ui 4, which cannot), all served by modemu itself, so
nothing is fetched from the internet.

Also ``GET /api/platforms``: one read for the page: every platform's devices with their online
state and their newest uplinks, downlinks and RPCs (``?last=N``, 20 by default, with the totals;
the per-platform routes give every record, one device at a time).

Must not: decide what a control does (``control.py``) or hold state.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

if TYPE_CHECKING:  # pragma: no cover
    from ..transport.runner import Emulator

STATIC = Path(__file__).with_name("static")


def _decoded(b64: str) -> dict[str, str]:
    raw = base64.b64decode(b64)
    return {"text": raw.decode("utf-8", "replace"), "hex": raw.hex()}


LAST = 20  # uplinks and downlinks per device in the page's view (the totals come along)


def _newest(items: list, last: int) -> list:
    return items[-last:] if last > 0 else []


def _thingplug(backend: Any, last: int) -> list[dict[str, Any]]:
    out = []
    store, broker = backend.model.store, backend.broker
    for service in backend.registry.services():
        for dev in service.devices.values():
            online = bool(broker and broker.device_subscribed(service.name, dev.name))
            ups, rpcs = store.telemetry(service.name, dev.name), store.rpcs(service.name, dev.name)
            out.append({"platform": "thingplug", "id": f"{service.name}/{dev.name}", "online": online,
                        "uplink_count": len(ups), "downlink_count": len(rpcs),
                        "uplinks": [{"ts": t["ts"], "data": t["data"]} for t in _newest(ups, last)],
                        "attributes": store.attributes(service.name, dev.name),
                        "downlinks": [{"id": r.id, "kind": "rpc", "method": r.method, "status": r.status,
                                       "result": r.result} for r in _newest(rpcs, last)]})
    return out


def _ctwing(backend: Any, last: int) -> list[dict[str, Any]]:
    out = []
    store = backend.store
    for dev in backend.registry.all_devices():
        ups, cmds = store.data(dev.device_id), store.commands(dev.device_id)
        out.append({"platform": "ctwing", "id": dev.device_id, "imei": getattr(dev, "imei", None),
                    "online": store.is_online(dev.device_id),
                    "uplink_count": len(ups), "downlink_count": len(cmds),
                    "uplinks": [{**r, **_decoded(r["base64"])} for r in _newest(ups, last)],
                    "downlinks": [{"id": c.id, "kind": "command", "status": c.status, "reason": c.reason,
                                   **_decoded(base64.b64encode(c.payload).decode())}
                                  for c in _newest(cmds, last)]})
    return out


def platforms(emulator: "Emulator", last: int = LAST) -> dict[str, list[dict[str, Any]]]:
    """Every platform's devices with their ``last`` newest uplinks and downlinks (and how many
    there are in all): the page re-reads this on every change, so it must not grow with the run."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, backend in emulator.backends.items():
        if name == "thingplug":
            out[name] = _thingplug(backend, last)
        elif name == "ctwing":
            out[name] = _ctwing(backend, last)
    return out


def mount(app: FastAPI, emulator: "Emulator") -> None:
    """Add ``/``, ``/static``, offline ``/docs`` and ``GET /api/platforms`` to ``app`` (created
    with ``docs_url=None``)."""
    import fastapi_offline  # only for its files: swagger-ui 5's bundle and css

    swagger = Path(fastapi_offline.__file__).with_name("static")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/swagger", StaticFiles(directory=swagger), name="swagger")
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @r.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="modemu console API",
                                   swagger_js_url="/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger/swagger-ui.css",
                                   swagger_favicon_url="/swagger/favicon.png")

    @r.get("/api/platforms", tags=["platforms"])
    async def list_platforms(last: int = Query(LAST, ge=0, le=10_000)) -> dict:
        """Every platform's devices: online state, the ``last`` newest uplinks (base64 also as
        text and hex) and downlinks / RPCs with their status, and ``uplink_count`` /
        ``downlink_count`` in all (the per-platform routes give every record)."""
        return platforms(emulator, last)

    app.include_router(r)
