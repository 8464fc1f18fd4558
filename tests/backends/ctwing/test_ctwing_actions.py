"""One mapping for CTWing commands: the console API and the scenario action resolve the same device
and queue the same command (``backends/ctwing/actions.py``), with the README's status codes."""

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from emulator.backends import load_backend
from emulator.backends.base import BackendContext
from emulator.backends.ctwing.actions import BadCommandBody
from emulator.backends.ctwing.models import MAX_PAYLOAD
from emulator.backends.ctwing.registry import UnknownDeviceError
from emulator.control import Control
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

IMEI = "868543060974334"  # a device in the plain (15430077) and the DTLS (16899569) LwM2M product
MQTT_ID = "16891291868543060025186"


@pytest.fixture
def parts():
    """One backend (not started: no servers needed to queue), its console API and the control
    plane that scenario ``platform:`` steps and the harness go through."""
    clock = VirtualClock()
    backend = load_backend("ctwing")({"lwm2m": False}, BackendContext(clock, FakeInternet(), ephemeral=True))
    app = FastAPI()
    app.include_router(backend.api_router())
    control = Control(SimpleNamespace(backends={"ctwing": backend}))
    return clock, backend, TestClient(app), control


def _scenario(control, **args):
    return control.platform("ctwing", "queue_command", args)


def _same(backend, api_id, scenario_id):
    a, s = backend.store.command(api_id), backend.store.command(scenario_id)
    assert a.id != s.id
    assert (a.device_id, a.payload, a.ttl, a.status) == (s.device_id, s.payload, s.ttl, s.status)
    return a


@pytest.mark.parametrize("online", [None, "15430077", "16899569", "both-dtls-last"])
def test_api_and_scenario_resolve_the_same_device(parts, online):
    clock, backend, client, control = parts
    plain = backend.registry.device_by_imei(IMEI, "15430077")
    dtls = backend.registry.device_by_imei(IMEI, "16899569")
    if online == "both-dtls-last":
        backend.store.set_online(plain.device_id, True)
        clock.advance(5)
        backend.store.set_online(dtls.device_id, True)
        want = dtls  # both online: the one online most recently
    elif online is not None:
        want = plain if online == "15430077" else dtls
        backend.store.set_online(want.device_id, True)
    else:
        want = plain  # never online: registry order
    r = client.post(f"/api/ctwing/devices/{IMEI}/commands", json={"payload_hex": "0a0b", "ttl": 60})
    assert r.status_code == 201 and set(r.json()) == {"id", "status"}
    cmd = _same(backend, r.json()["id"], _scenario(control, device=IMEI, payload_hex="0a0b", ttl=60))
    assert cmd.device_id == want.device_id and cmd.payload == b"\x0a\x0b" and cmd.ttl == 60
    assert backend.queue_command(IMEI, {"payload_hex": "0a0b", "ttl": 60}).device_id == want.device_id


def test_by_device_id_and_product(parts):
    clock, backend, client, control = parts
    r = client.post(f"/api/ctwing/devices/{MQTT_ID}/commands", json={"payload": "{\"switch\":1}"})
    assert r.status_code == 201
    cmd = _same(backend, r.json()["id"], _scenario(control, device=MQTT_ID, payload="{\"switch\":1}"))
    assert cmd.device_id == MQTT_ID and cmd.ttl == 7200.0
    dtls = backend.registry.device_by_imei(IMEI, "16899569")
    assert backend.store.command(_scenario(control, device=IMEI, product="16899569", payload="x")).device_id \
        == dtls.device_id
    with pytest.raises(ValueError, match="no device .* in product 16891291"):
        backend.queue_command(IMEI, {"payload": "x"}, product="16891291")


@pytest.mark.parametrize("ident, body, status, error", [
    ("000000000000000", {"payload": "x"}, 404, UnknownDeviceError),      # unknown device first ...
    ("000000000000000", {"ttl": 5}, 404, UnknownDeviceError),            # ... even with a bad body
    (IMEI, {"ttl": 5}, 422, BadCommandBody),                             # no payload key: shape
    (IMEI, {"payload_hex": "zz"}, 400, ValueError),                      # refused values
    (IMEI, {"payload": ""}, 400, ValueError),
    (IMEI, {"payload": "x", "ttl": -1}, 400, ValueError),
    (IMEI, {"payload": "x", "ttl": "soon"}, 400, ValueError),
    (IMEI, {"payload": "x" * (MAX_PAYLOAD + 1)}, 400, ValueError),
])
def test_errors_are_the_same_on_both_paths(parts, ident, body, status, error):
    clock, backend, client, control = parts
    r = client.post(f"/api/ctwing/devices/{ident}/commands", json=body)
    assert r.status_code == status, r.text
    with pytest.raises(error) as caught:
        backend.queue_command(ident, body)
    assert r.json()["detail"] == str(caught.value)
    with pytest.raises(error):  # the scenario step: the same typed error, its text the failure message
        _scenario(control, device=ident, **body)
    assert [c for d in backend.registry.all_devices() for c in backend.store.commands(d.device_id)] == []
