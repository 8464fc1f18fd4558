"""One mapping for ThingPlug RPCs and attributes: the console API routes and the scenario actions
call the same backend function, so the same request gives the same downlink and the same error."""

import asyncio
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from emulator.backends import load_backend
from emulator.backends.base import BackendContext
from emulator.backends.thingplug.registry import InvalidError, NotFoundError
from emulator.control import Control
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

SVC, DEV = "smarthome", "smartlight001"


@pytest.fixture
def parts():
    """A backend that is not started (no broker: RPCs stay ``initiated``), its API, the control plane."""
    backend = load_backend("thingplug")({}, BackendContext(VirtualClock(), FakeInternet(), ephemeral=True))
    app = FastAPI()
    app.include_router(backend.api_router())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
    return backend, client, Control(SimpleNamespace(backends={"thingplug": backend}))


async def _scenario(control, action, **args):
    result = control.platform("thingplug", action, args)
    return await result if asyncio.iscoroutine(result) else result


async def test_rpc_same_on_both_paths(parts):
    backend, client, control = parts
    r = await client.post(f"/api/thingplug/{SVC}/{DEV}/rpc", json={"method": "tp_user", "params": [{"cmd": "on"}]})
    assert r.status_code == 200 and r.json()["status"] == "initiated"
    rid = await _scenario(control, "send_rpc", service=SVC, device=DEV, method="tp_user", params=[{"cmd": "on"}])
    a, s = backend.model.store.get_rpc(r.json()["id"]), backend.model.store.get_rpc(rid)
    assert a.id != s.id
    assert (a.service, a.device, a.method, a.params, a.mode, a.status) == \
        (s.service, s.device, s.method, s.params, s.mode, s.status) == (SVC, DEV, "tp_user", [{"cmd": "on"}], "twoway", "initiated")


@pytest.mark.parametrize("device, body, status, error", [
    ("nobody", {"method": "tp_user"}, 404, NotFoundError),
    (DEV, {"method": "tp_nothing"}, 400, InvalidError),
])
async def test_rpc_errors_same_on_both_paths(parts, device, body, status, error):
    backend, client, control = parts
    r = await client.post(f"/api/thingplug/{SVC}/{device}/rpc", json=body)
    assert r.status_code == status
    with pytest.raises(error) as caught:
        await _scenario(control, "send_rpc", service=SVC, device=device, **body)
    assert r.json()["detail"] == str(caught.value)


async def test_attribute_same_on_both_paths(parts):
    backend, client, control = parts
    r = await client.patch(f"/api/thingplug/{SVC}/{DEV}/attributes", json={"LED": "on"})
    assert r.status_code == 200
    cmd_id = await _scenario(control, "set_attribute", service=SVC, device=DEV, attributes={"LED": "on"})
    api_msg, scen_msg = backend.model.store.commands(SVC, DEV)
    assert api_msg["cmdId"] == r.json()["cmdId"] and scen_msg["cmdId"] == cmd_id != api_msg["cmdId"]
    assert {k: v for k, v in api_msg.items() if k != "cmdId"} == {k: v for k, v in scen_msg.items() if k != "cmdId"}
    for bad, status in (({"NOPE": 1}, 400), ("on", 422)):
        r = await client.patch(f"/api/thingplug/{SVC}/{DEV}/attributes", json=bad)
        assert r.status_code == status
        with pytest.raises(InvalidError):  # a typed error, not a crash in dict()
            await _scenario(control, "set_attribute", service=SVC, device=DEV, attributes=bad)
    assert len(backend.model.store.commands(SVC, DEV)) == 2
