"""Console API of the embedded CTWing platform (a FastAPI router under ``/api/ctwing``).

The emulator's stand-in for the AEP console pages: device list and detail (在线状态), uplink data
in base64 as 数据查看 shows it (guide 001 §4.1.5.1), command sending (指令下发, §4.1.5.2) and its
log, and registry writes (创建产品 / 添加设备). ``{id}`` is the platform device ID or, for LwM2M
devices, the IMEI.

Handlers are ``async def`` on purpose: they run on the event loop that owns the servers, so the
store is never touched from a worker thread and a TCP command to an online device is already
``delivered`` in the POST answer.

Must not: hold state (everything is in the registry/store) or talk to devices directly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException

from .actions import BadCommandBody, command_payload, queue_command, resolve_device  # noqa: F401 - command_payload re-exported
from .registry import Registry, RegistryError, UnknownDeviceError
from .store import Store


def device_view(registry: Registry, device) -> dict[str, Any]:  # noqa: ANN001
    product = registry.product_of(device)
    out = device.to_dict()
    out.update({
        "protocol": product.protocol,
        "product_name": product.name,
        "tenant_id": product.tenant_id,
        "status": "online" if device.online else "offline",
    })
    if product.protocol == "lwm2m":
        out["endpoint"] = registry.lwm2m_endpoint_of(device)
    if product.security == "one-per-product":
        out["password"] = product.feature_string
    return out


def make_router(registry: Registry, store: Store, events: list[dict[str, Any]] | None = None) -> APIRouter:
    router = APIRouter(prefix="/api/ctwing", tags=["ctwing"])

    @router.get("/events")
    async def list_events() -> list[dict[str, Any]]:
        """Platform security events, oldest first (failed DTLS handshakes: peer, identity,
        reason, alert)."""
        return [dict(e) for e in (events or [])]

    def find(ident: str):  # noqa: ANN202
        try:
            return resolve_device(registry, ident)  # the one rule (actions.py), as the scenarios use
        except UnknownDeviceError as exc:
            raise HTTPException(404, str(exc)) from None

    @router.get("/products")
    async def list_products() -> list[dict[str, Any]]:
        return [p.to_dict() | {"device_count": len(registry.devices_of(p.product_id))}
                for p in registry.products.values()]

    @router.post("/products", status_code=201)
    async def create_product(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        try:
            return registry.add_product(body).to_dict()
        except TypeError as exc:  # missing or unknown fields: the body's shape (422, as everywhere)
            raise HTTPException(422, str(exc)) from None
        except RegistryError as exc:
            raise HTTPException(409 if "already exists" in str(exc) else 400, str(exc)) from None

    @router.get("/devices")
    async def list_devices(product_id: str | None = None) -> list[dict[str, Any]]:
        return [device_view(registry, d) for d in registry.all_devices()
                if product_id is None or d.product_id == product_id]

    @router.post("/devices", status_code=201)
    async def create_device(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        try:
            return device_view(registry, registry.add_device(body))
        except TypeError as exc:  # missing or unknown fields: the body's shape (422, as everywhere)
            raise HTTPException(422, str(exc)) from None
        except RegistryError as exc:
            raise HTTPException(409 if "already exists" in str(exc) else 400, str(exc)) from None

    @router.get("/devices/{ident}")
    async def get_device(ident: str) -> dict[str, Any]:
        return device_view(registry, find(ident))

    @router.get("/devices/{ident}/data")
    async def get_data(ident: str) -> list[dict[str, Any]]:
        device = find(ident)
        # LwM2M records also carry content_format (the CoAP Content-Format the notification came
        # in; base64 is always the application bytes inside it)
        return [r | {"device_id": device.device_id} for r in store.data(device.device_id)]

    @router.post("/devices/{ident}/commands", status_code=201)
    async def post_command(ident: str, body: Any = Body(...)) -> dict[str, Any]:
        """指令下发 through ``actions.queue_command``, the function ``ctwing.queue_command`` runs."""
        try:
            cmd = queue_command(registry, store, ident, body)
        except UnknownDeviceError as exc:
            raise HTTPException(404, str(exc)) from None
        except BadCommandBody as exc:  # the body's shape: 422
            raise HTTPException(422, str(exc)) from None
        except ValueError as exc:  # a value the platform refuses: 400
            raise HTTPException(400, str(exc)) from None
        return {"id": cmd.id, "status": cmd.status}

    @router.get("/devices/{ident}/commands")
    async def get_commands(ident: str) -> list[dict[str, Any]]:
        device = find(ident)
        return [c.to_dict() for c in store.commands(device.device_id)]

    return router
