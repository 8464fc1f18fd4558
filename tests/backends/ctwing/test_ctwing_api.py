"""CTWing console API (FastAPI router) through TestClient and, with live servers, httpx ASGI."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from emulator.backends.ctwing.api import make_router
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import Store
from emulator.core.clock import VirtualClock

IMEI = "868543060974334"
TCP_ID = "15436586863318069987727"
MQTT_ID = "16891291868543060025186"


@pytest.fixture
def parts():
    clock = VirtualClock()
    registry = Registry.from_config()
    store = Store(clock, registry)
    app = FastAPI()
    app.include_router(make_router(registry, store))
    return clock, registry, store, TestClient(app)


def test_device_list_and_detail(parts):
    clock, registry, store, client = parts
    devices = client.get("/api/ctwing/devices").json()
    assert {d["device_id"] for d in devices} >= {TCP_ID, MQTT_ID}
    body = client.get(f"/api/ctwing/devices/{MQTT_ID}").json()
    assert body["online"] is False and body["protocol"] == "mqtt" and body["name"] == "device001"
    assert body["product_id"] == "16891291" and body["imei"] is None
    store.set_online(MQTT_ID, True)
    assert client.get(f"/api/ctwing/devices/{MQTT_ID}").json()["online"] is True
    only = client.get("/api/ctwing/devices", params={"product_id": "15436586"}).json()
    assert [d["device_id"] for d in only] == [TCP_ID]


def test_lwm2m_device_by_imei(parts):
    clock, registry, store, client = parts
    body = client.get(f"/api/ctwing/devices/{IMEI}").json()
    assert body["imei"] == IMEI and body["protocol"] == "lwm2m" and len(body["device_id"]) == 32
    assert body["endpoint"] == IMEI and body["imsi"] == "460115472446714"
    store.record_uplink(body["device_id"], b"hello world", "lwm2m")
    data = client.get(f"/api/ctwing/devices/{IMEI}/data").json()
    assert data[0]["base64"] == "aGVsbG8gd29ybGQ=" and data[0]["protocol"] == "lwm2m"


def test_unknown_device_404(parts):
    client = parts[3]
    for path in ("/api/ctwing/devices/123", "/api/ctwing/devices/123/data", "/api/ctwing/devices/123/commands"):
        resp = client.get(path)
        assert resp.status_code == 404 and "unknown CTWing device '123'" in resp.json()["detail"]
    assert client.post("/api/ctwing/devices/123/commands", json={"payload": "x"}).status_code == 404


def test_commands(parts):
    clock, registry, store, client = parts
    resp = client.post(f"/api/ctwing/devices/{TCP_ID}/commands", json={"payload": "receivedmessage"})
    assert resp.status_code == 201 and resp.json()["status"] == "queued"
    first = resp.json()["id"]
    resp = client.post(f"/api/ctwing/devices/{TCP_ID}/commands", json={"payload_hex": "72 65"})
    assert resp.json()["id"] == first + 1
    cmds = client.get(f"/api/ctwing/devices/{TCP_ID}/commands").json()
    assert [c["payload_hex"] for c in cmds] == ["72656365697665646d657373616765", "7265"]
    for bad in ({"payload_hex": "zz"}, {"payload_hex": "abc"}, {"payload": ""}):
        resp = client.post(f"/api/ctwing/devices/{TCP_ID}/commands", json=bad)
        assert resp.status_code == 400, bad
    for shape in ({}, [], "receivedmessage"):  # not an object with payload / payload_hex: 422
        assert client.post(f"/api/ctwing/devices/{TCP_ID}/commands", json=shape).status_code == 422, shape
    assert len(store.commands(TCP_ID)) == 2  # nothing bogus queued


def test_registry_writes(parts):
    clock, registry, store, client = parts
    resp = client.post("/api/ctwing/products", json={"product_id": "17000001", "name": "meter2",
                                                     "protocol": "lwm2m", "endpoint_format": "urn:imei-imsi:"})
    assert resp.status_code == 201 and resp.json()["endpoint_format"] == "urn:imei-imsi:"
    assert client.post("/api/ctwing/products", json={"product_id": "17000001", "name": "again"}).status_code == 409
    assert client.post("/api/ctwing/products", json={"product_id": "x", "name": "bad"}).status_code == 400
    assert any(p["product_id"] == "17000001" for p in client.get("/api/ctwing/products").json())
    resp = client.post("/api/ctwing/devices", json={"product_id": "17000001", "name": "m2",
                                                    "imei": "868543060974335", "imsi": "460115472446715"})
    assert resp.status_code == 201 and resp.json()["endpoint"] == "urn:imei-imsi:868543060974335-460115472446715"
    dev, _ = registry.lwm2m_device_for_endpoint("urn:imei-imsi:868543060974335-460115472446715")
    assert dev.name == "m2"
    resp = client.post("/api/ctwing/devices", json={"product_id": "17000001", "imei": "1"})
    assert resp.status_code == 400 and "IMEI" in resp.json()["detail"]
    resp = client.post("/api/ctwing/devices", json={"product_id": "15436586", "device_number": "abc"})
    assert resp.json()["device_id"] == "15436586abc" and len(resp.json()["password"]) == 43


@pytest.mark.slow
async def test_api_command_reaches_tcp_device():
    from emulator.backends.ctwing.tcp_server import CtwingTcpServer
    clock = VirtualClock()
    registry = Registry.from_config()
    store = Store(clock, registry)
    server = CtwingTcpServer(registry, store, clock)
    addr = await server.start()
    app = FastAPI()
    app.include_router(make_router(registry, store))
    try:
        reader, writer = await asyncio.open_connection(*addr)
        from emulator.backends.ctwing import tcp_codec as codec
        writer.write(codec.encode(codec.Login(TCP_ID, "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8")))
        assert await asyncio.wait_for(reader.readexactly(3), 5) == b"\x05\x00\x00"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            assert (await http.get(f"/api/ctwing/devices/{TCP_ID}")).json()["online"] is True
            resp = await http.post(f"/api/ctwing/devices/{TCP_ID}/commands", json={"payload": "receivedmessage"})
            assert resp.json()["status"] == "delivered"
            assert (await asyncio.wait_for(reader.readexactly(18), 5)).hex() == \
                "03000f72656365697665646d657373616765"
        writer.close()
    finally:
        await server.stop()


def test_dtls_psk_identity_must_be_unique(parts):
    """The DTLS server finds the PSK by identity alone (the endpoint comes after the handshake):
    a second DTLS device with the guide's IMEI as identity would never complete a handshake
    with its own PSK, so adding it is refused with a reason; nothing is stored."""
    clock, registry, store, client = parts
    assert client.post("/api/ctwing/products", json={"product_id": "17000002", "name": "imsi_dtls",
                                                     "protocol": "lwm2m", "endpoint_format": "urn:imei-imsi:",
                                                     "dtls": True}).status_code == 201
    before = len(registry.devices)
    resp = client.post("/api/ctwing/devices", json={"product_id": "17000002", "name": "twin", "imei": IMEI,
                                                    "imsi": "460115472446714", "psk": "hex:0102030405060708"})
    assert resp.status_code == 400 and "identit" in resp.json()["detail"], resp.text
    assert len(registry.devices) == before
    assert registry.psk_for_identity(IMEI)[1] == b"TYvoiTk34D3NZ6GN"
    resp = client.post("/api/ctwing/devices", json={"product_id": "17000002", "name": "own", "imei": "868543060970001",
                                                    "imsi": "460115472440001", "psk": "hex:0102030405060708"})
    assert resp.status_code == 201 and resp.json()["psk_identity"] == "868543060970001"
