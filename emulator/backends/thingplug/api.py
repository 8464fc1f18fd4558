"""Console API of the embedded ThingPlug platform (a FastAPI ``APIRouter``, JSON only).

Data:        GET  /api/thingplug/{service}/{device}/telemetry      -> [{"ts", "data"}] oldest first
             GET  /api/thingplug/{service}/{device}/attributes     -> {"LED": ...}
             PATCH /api/thingplug/{service}/{device}/attributes    {"LED": "on"} -> setAttribute on /down
             POST /api/thingplug/{service}/{device}/rpc            {"method", "params"} -> {"id", "status"}
             GET  /api/thingplug/{service}/{device}/rpc/{id}       -> {"status", "result"}
             GET  /api/thingplug/{service}/{device}/errors         -> rejected input
Broker:      GET/POST /api/thingplug/broker {"running": bool} (stop = platform outage, start again)
Registry:    GET/POST /api/thingplug/services; GET/PUT /api/thingplug/services/{service}/descriptor;
             GET/POST /api/thingplug/{service}/devices; GET/PUT (new token)/DELETE
             /api/thingplug/{service}/devices/{device} (PUT/DELETE disconnect the old token's clients)

(The real platform's REST API lives at ``https://test.sktiot.com:9443/api/v1/...`` with other shapes,
SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame; this one is the emulator's console.) Unknown service/device -> 404, bad input -> 400,
name or token taken -> 409, each with a ``detail`` message.

Handlers are all ``async def`` so they run on the event loop serving the API (no threadpool
touching the model concurrently with the broker's hooks).

Must not: hold platform rules (``models.py``) or touch amqtt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from .registry import ConflictError, InvalidError, NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from .backend import ThingPlugBackend


class TelemetryPoint(BaseModel):
    ts: float = Field(description="epoch seconds (device 'ts' if it sent one, else arrival on the virtual clock)")
    data: dict[str, Any]


class RpcRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a wrong shape: 422
    method: str = Field("tp_user", description="cmd_type, e.g. tp_user, tp_reset, tp_reboot")
    params: Any = Field(None, description="JSON-RPC params, passed to the device unchanged")
    rpcMode: Literal["oneway", "twoway"] = "twoway"


class RpcCreated(BaseModel):
    id: int = Field(description="rpcReq.id the device sees (and prints in +SKTPCMD)")
    status: str


class RpcStatus(BaseModel):
    status: Literal["initiated", "pending", "finished", "failed"]
    result: Any = None


class ServiceIn(BaseModel):
    name: str
    descriptor: dict[str, Any] | None = None


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a wrong shape: 422
    name: str
    token: str | None = Field(None, description="issued by the platform when omitted")


class BrokerState(BaseModel):
    running: bool


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown field is a wrong shape: 422
    token: str | None = Field(None, description="the new token; issued by the platform when omitted")


class DeviceOut(BaseModel):
    service: str
    name: str
    token: str


class ErrorEntry(BaseModel):
    ts: float
    topic: str
    reason: str
    payload: str
    payload_len: int


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFoundError):
        return HTTPException(404, str(exc))
    if isinstance(exc, ConflictError):
        return HTTPException(409, str(exc))
    return HTTPException(400, str(exc))


_ERRORS = (NotFoundError, ConflictError, InvalidError)


def build_router(backend: "ThingPlugBackend") -> APIRouter:
    router = APIRouter(prefix="/api/thingplug", tags=["thingplug"])
    reg, store = backend.registry, backend.model.store

    def known(service: str, name: str) -> None:
        try:
            reg.get_device(service, name)
        except NotFoundError as exc:
            raise _http(exc) from None

    # --- the broker -------------------------------------------------------------------------------
    @router.get("/broker")
    async def get_broker() -> BrokerState:
        return BrokerState(running=backend.broker is not None)

    @router.post("/broker")
    async def set_broker(body: BrokerState) -> BrokerState:
        """``{"running": false}``: a platform outage (connected devices lose the link, new
        connections are refused); ``{"running": true}``: back on the same ports."""
        return BrokerState(running=await backend.set_running(body.running))

    # --- registry ---------------------------------------------------------------------------------
    @router.get("/services")
    async def list_services() -> list[dict[str, Any]]:
        return [s.to_json() for s in reg.services()]

    @router.post("/services", status_code=201)
    async def create_service(body: ServiceIn) -> dict[str, Any]:
        try:
            return reg.create_service(body.name, body.descriptor).to_json()
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.get("/services/{service}/descriptor")
    async def get_descriptor(service: str) -> dict[str, Any]:
        try:
            return reg.get_service(service).descriptor.to_json()
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.put("/services/{service}/descriptor")
    async def put_descriptor(service: str, descriptor: dict[str, Any] = Body(
            ..., examples=[{"attributes": [{"name": "LED", "commandable": True}],
                            "telemetries": [{"name": "temperature", "tag": "temperature"}]}])) -> dict[str, Any]:
        try:
            return reg.put_descriptor(service, descriptor).to_json()
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.get("/{service}/devices")
    async def list_devices(service: str) -> list[DeviceOut]:
        try:
            svc = reg.get_service(service)
        except _ERRORS as exc:
            raise _http(exc) from None
        return [DeviceOut(**svc.devices[n].to_json()) for n in sorted(svc.devices)]

    @router.post("/{service}/devices", status_code=201)
    async def create_device(service: str, body: DeviceIn) -> DeviceOut:
        try:
            return DeviceOut(**reg.create_device(service, body.name, body.token).to_json())
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.get("/{service}/devices/{device}")
    async def get_device(service: str, device: str) -> DeviceOut:
        try:
            return DeviceOut(**reg.get_device(service, device).to_json())
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.put("/{service}/devices/{device}")
    async def put_device(service: str, device: str, body: TokenIn) -> DeviceOut:
        """Give the device a new token (issued when omitted). Clients logged in with the old
        token are disconnected; the old token is refused from now on."""
        try:
            return DeviceOut(**(await backend.set_token(service, device, body.token)).to_json())
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.delete("/{service}/devices/{device}", status_code=204)
    async def delete_device(service: str, device: str) -> None:
        """Remove the device; clients logged in with its token are disconnected."""
        try:
            await backend.delete_device(service, device)
        except _ERRORS as exc:
            raise _http(exc) from None

    # --- data ---------------------------------------------------------------------------------------
    @router.get("/{service}/{device}/telemetry")
    async def get_telemetry(service: str, device: str) -> list[TelemetryPoint]:
        known(service, device)
        return [TelemetryPoint(**p) for p in store.telemetry(service, device)]

    @router.get("/{service}/{device}/attributes")
    async def get_attributes(service: str, device: str) -> dict[str, Any]:
        known(service, device)
        return store.attributes(service, device)

    @router.patch("/{service}/{device}/attributes")
    async def patch_attributes(service: str, device: str, attributes: dict[str, Any] = Body(
            ..., examples=[{"LED": "on"}])) -> dict[str, Any]:
        """Send ``setAttribute`` on /down (commandable attributes only); the device applies it and
        republishes the attribute, which is when GET shows the new value."""
        try:
            return await backend.set_attribute(service, device, attributes)
        except _ERRORS as exc:
            raise _http(exc) from None

    @router.post("/{service}/{device}/rpc")
    async def post_rpc(service: str, device: str, body: RpcRequest) -> RpcCreated:
        """Create the RPC (status ``initiated``, as answered here) and publish it on /down. GET shows
        ``pending`` once a subscribed device got it; an RPC for an unsubscribed device stays
        ``initiated`` and goes out when the device subscribes to its /down topic."""
        try:
            rpc = await backend.send_rpc(service, device, body.method, body.params, body.rpcMode)
        except _ERRORS as exc:
            raise _http(exc) from None
        return RpcCreated(id=rpc.id, status="initiated")

    @router.get("/{service}/{device}/rpc/{rpc_id}")
    async def get_rpc(service: str, device: str, rpc_id: int) -> RpcStatus:
        known(service, device)
        try:
            rpc = store.get_rpc(rpc_id, service, device)
        except NotFoundError as exc:
            raise _http(exc) from None
        return RpcStatus(status=rpc.status, result=rpc.result)

    @router.get("/{service}/{device}/errors")
    async def get_errors(service: str, device: str) -> list[ErrorEntry]:
        known(service, device)
        return [ErrorEntry(**e) for e in store.errors(service, device)]

    return router
