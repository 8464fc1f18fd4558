"""The ThingPlug backend over real sockets: paho-mqtt 2.x devices/applications, mosquitto clients,
and the console API through httpx's ASGI transport (same event loop as the broker).

amqtt updates the store from a fire-and-forget hook, so API checks poll briefly (``eventually``):
that waits for a task on loopback, not for a protocol timer.
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import ssl

import httpx
import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI

from emulator.backends import load_backend
from emulator.backends.base import BackendContext
from emulator.backends.thingplug.backend import ThingPlugBackend
from emulator.backends.thingplug.models import FIRST_RPC_ID
from emulator.core.clock import VirtualClock
from emulator.errors import ConfigError
from emulator.net.internet import FakeInternet

pytestmark = pytest.mark.slow

SVC, DEV, TOKEN = "smarthome", "smartlight001", "a0149f60b---------"
BASE = f"/api/thingplug/{SVC}/{DEV}"
TEL, DOWN, UP = f"v1/dev/{SVC}/{DEV}/telemetry", f"v1/dev/{SVC}/{DEV}/down", f"v1/dev/{SVC}/{DEV}/up"
WAIT = 5.0


async def eventually(check, timeout: float = WAIT):
    """Poll ``check`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {check}")
        await asyncio.sleep(0.01)


class Peer:
    """A paho-mqtt client on its own network thread; waits happen in worker threads."""

    def __init__(self, port: int, token: str | None, client_id: str, ca_file: str | None = None) -> None:
        self.port = port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if token is not None:
            self.client.username_pw_set(token)
        if ca_file:
            self.client.tls_set(ca_certs=ca_file)
        self.connacks: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.client.on_connect = lambda c, u, flags, rc, props: self.connacks.put(rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put(rcs)
        self.client.on_message = lambda c, u, msg: self.messages.put((msg.topic, msg.payload))

    async def connect(self):
        self.client.connect_async("127.0.0.1", self.port)
        self.client.loop_start()
        return await asyncio.to_thread(self.connacks.get, True, WAIT)

    async def subscribe(self, topic: str, qos: int = 1):
        self.client.subscribe(topic, qos)
        return await asyncio.to_thread(self.subacks.get, True, WAIT)

    async def publish(self, topic: str, payload, qos: int = 1) -> None:
        info = self.client.publish(topic, payload if isinstance(payload, (bytes, str)) else json.dumps(payload), qos)
        await asyncio.to_thread(info.wait_for_publish, WAIT)

    async def message(self) -> tuple[str, bytes]:
        return await asyncio.to_thread(self.messages.get, True, WAIT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
async def backend():
    be = ThingPlugBackend({"services": {SVC: {"devices": {"lamp2": {"token": "TOKEN-LAMP2"}}}}},
                          BackendContext(VirtualClock(), FakeInternet(), ephemeral=True))
    await be.start()
    yield be
    await be.stop()


@pytest.fixture
async def api(backend):
    app = FastAPI()
    app.include_router(backend.api_router())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as client:
        yield client


@pytest.fixture
async def peers(backend):
    made: list[Peer] = []

    async def make(token=TOKEN, client_id="866425035073255_smartlight001", tls=False, subscribe=None):
        port = backend.endpoints["thingplug_mqtts" if tls else "thingplug_mqtt"][1]
        peer = Peer(port, token, client_id, backend.ca_file if tls else None)
        made.append(peer)
        rc = await peer.connect()
        assert rc == 0, f"CONNACK {rc}"
        if subscribe:
            assert (await peer.subscribe(subscribe))[0] == 1
        return peer

    yield make
    for peer in made:
        peer.close()


# --- connection ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("token", ["not-a-token", None])
async def test_unknown_token_gets_connack_bad_user_name_or_password(backend, token):
    peer = Peer(backend.endpoints["thingplug_mqtt"][1], token, "intruder")
    try:
        rc = await peer.connect()
        # MQTT 3.1.1 CONNACK return code 4: the token is the credential (user name field)
        assert (rc.value, str(rc)) == (0x86, "Bad user name or password")
    finally:
        peer.close()


async def test_any_client_id_is_accepted(peers):
    await peers(client_id="")  # paho sends an empty id; the broker assigns one
    await peers(client_id=TOKEN + "-x")


async def test_mqtts_with_generated_ca(backend, peers):
    dev = await peers(tls=True, subscribe=DOWN)
    await dev.publish(TEL, {"temperature": 12, "humidity": 34})
    await eventually(lambda: backend.model.store.telemetry(SVC, DEV))
    ctx = ssl.create_default_context()  # the system trust store does not know our CA
    reader = None
    with pytest.raises(ssl.SSLCertVerificationError):
        reader, _ = await asyncio.open_connection("127.0.0.1", backend.endpoints["thingplug_mqtts"][1],
                                                  ssl=ctx, server_hostname="test.sktiot.com")
    assert reader is None
    ctx = ssl.create_default_context(cafile=backend.ca_file)
    for name in ("test.sktiot.com", "api.sktiot.com"):
        _, writer = await asyncio.open_connection("127.0.0.1", backend.endpoints["thingplug_mqtts"][1],
                                                  ssl=ctx, server_hostname=name)
        writer.close()


# --- telemetry / attributes -------------------------------------------------------------------------------
async def test_telemetry_reaches_the_api(backend, api, peers):
    dev = await peers()
    await dev.publish(TEL, {"temperature": 30, "humidity": 20})
    await eventually(lambda: backend.model.store.telemetry(SVC, DEV))  # stamped when the hook runs
    backend.clock.advance(60)
    await dev.publish(TEL + "/csv", "31,21")
    await dev.publish(TEL, {"temperature": 29, "ts": 1600000000})
    await eventually(lambda: len(backend.model.store.telemetry(SVC, DEV)) == 3)
    r = await api.get(f"{BASE}/telemetry")
    assert r.status_code == 200
    assert r.json() == [
        {"ts": 1600000000, "data": {"temperature": 29}},
        {"ts": 1_700_000_000, "data": {"temperature": 30, "humidity": 20}},
        {"ts": 1_700_000_060, "data": {"temperature": 31, "humidity": 21}},
    ]


async def test_bad_payloads_are_not_stored_and_show_in_errors(backend, api, peers):
    dev = await peers()
    await dev.publish(TEL, {"pressure": 1013})
    await dev.publish(TEL + "/csv", "1,2,3")
    await dev.publish(TEL, "x" * 3000)
    await dev.publish(f"v1/dev/{SVC}/lamp2/telemetry", {"temperature": 1})
    await eventually(lambda: len(backend.model.store.errors(SVC, DEV)) == 4)
    errors = (await api.get(f"{BASE}/errors")).json()
    assert [e["topic"] for e in errors] == [TEL, TEL + "/csv", TEL, f"v1/dev/{SVC}/lamp2/telemetry"]
    assert "unknown telemetry keys ['pressure']" in errors[0]["reason"]
    assert "exceeds 2048" in errors[2]["reason"] and errors[2]["payload_len"] == 3000
    assert "may not publish" in errors[3]["reason"]
    assert (await api.get(f"{BASE}/telemetry")).json() == []
    assert (await api.get(f"/api/thingplug/{SVC}/lamp2/telemetry")).json() == []


async def test_foreign_topic_publish_is_not_forwarded(backend, peers):
    app = await peers(token="TOKEN-LAMP2", client_id="app", subscribe=f"v1/dev/{SVC}/+/telemetry")
    dev = await peers()
    await dev.publish(f"v1/dev/{SVC}/lamp2/telemetry", {"temperature": 66})  # not its own: dropped
    await dev.publish(TEL, {"temperature": 7})
    assert await app.message() == (TEL, b'{"temperature": 7}')


async def test_payloads_the_platform_rejects_are_not_relayed(backend, peers):
    # Before: amqtt relayed them to applications while the store rejected them.
    app = await peers(token="TOKEN-LAMP2", client_id="app", subscribe=f"v1/dev/{SVC}/#")
    dev = await peers()
    await dev.publish(TEL, {"pressure": 1013})  # not in the descriptor
    await dev.publish(TEL + "/csv", "1,2,3")  # 3 columns for 2
    await dev.publish(TEL, "x" * 3000)  # too big
    await dev.publish(f"v1/dev/{SVC}/{DEV}/up", "not json")
    await dev.publish(TEL, {"temperature": 8})
    assert await app.message() == (TEL, b'{"temperature": 8}')  # the first thing the app sees
    await eventually(lambda: len(backend.model.store.errors(SVC, DEV)) == 4)
    dev.client.publish(TEL, '{"pressure": 1}', qos=1, retain=True).wait_for_publish(WAIT)  # nor kept as retained
    late = await peers(token="TOKEN-LAMP2", client_id="late", subscribe=f"v1/dev/{SVC}/#")
    await dev.publish(TEL, {"temperature": 9})
    assert await late.message() == (TEL, b'{"temperature": 9}')


async def test_subscription_outside_the_service_is_refused(backend, peers):
    dev = await peers()
    rcs = await dev.subscribe("#")
    assert rcs[0].is_failure
    await eventually(lambda: backend.model.store.errors(SVC, DEV))


async def test_attributes_and_set_attribute(backend, api, peers):
    dev = await peers(subscribe=DOWN)
    r = await api.patch(f"{BASE}/attributes", json={"LED": "on"})
    assert r.status_code == 200, r.text
    topic, payload = await dev.message()
    assert topic == DOWN
    assert json.loads(payload) == {"serviceName": SVC, "deviceName": DEV, "cmdId": 1, "cmd": "setAttribute",
                                   "attribute": {"LED": "on"}}
    await dev.publish(f"v1/dev/{SVC}/{DEV}/attribute", {"LED": "on"})  # the device applies and reports
    await eventually(lambda: backend.model.store.attributes(SVC, DEV))
    assert (await api.get(f"{BASE}/attributes")).json() == {"LED": "on"}
    await api.put(f"/api/thingplug/services/{SVC}/descriptor",
                  json={"attributes": [{"name": "LED", "commandable": True}, {"name": "ver"}], "telemetries": []})
    r = await api.patch(f"{BASE}/attributes", json={"ver": "2"})
    assert r.status_code == 400 and "not commandable" in r.json()["detail"]
    r = await api.patch(f"{BASE}/attributes", json={"color": "red"})
    assert r.status_code == 400 and "unknown attribute" in r.json()["detail"]


# --- RPC --------------------------------------------------------------------------------------------------
async def test_rpc_round_trip(backend, api, peers):
    dev = await peers(subscribe=DOWN)
    r = await api.post(f"{BASE}/rpc", json={"method": "tp_user", "params": [20, 14]})
    assert r.status_code == 200 and r.json() == {"id": FIRST_RPC_ID, "status": "initiated"}
    topic, payload = await dev.message()
    assert topic == DOWN
    assert json.loads(payload) == {
        "serviceName": SVC, "deviceName": DEV, "cmd": "jsonRpc", "cmdId": 1,
        "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": [20, 14], "id": FIRST_RPC_ID}, "rpcMode": "twoway"}
    assert (await api.get(f"{BASE}/rpc/{FIRST_RPC_ID}")).json() == {"status": "pending", "result": None}
    await dev.publish(UP, {"cmd": "jsonRpc", "cmdId": 1, "result": "success",
                           "rpcRsp": {"jsonrpc": "2.0", "id": FIRST_RPC_ID, "result": {"status": "SUCCESS"}}})

    async def finished():
        return (await api.get(f"{BASE}/rpc/{FIRST_RPC_ID}")).json()["status"] == "finished"

    await eventually(finished)
    assert (await api.get(f"{BASE}/rpc/{FIRST_RPC_ID}")).json() == {"status": "finished", "result": {"status": "SUCCESS"}}

    r = await api.post(f"{BASE}/rpc", json={"method": "tp_reset", "params": {"reset": "on"}})
    second = r.json()["id"]
    assert second == FIRST_RPC_ID + 1
    await dev.message()
    await dev.publish(UP, {"cmd": "jsonRpc", "cmdId": 2, "result": "fail",
                           "rpcRsp": {"jsonrpc": "2.0", "id": second, "error": {"code": 106, "message": "FAIL"}}})
    await eventually(lambda: backend.model.store.get_rpc(second).status == "failed")
    assert (await api.get(f"{BASE}/rpc/{second}")).json() == {"status": "failed", "result": {"code": 106, "message": "FAIL"}}
    assert (await api.get(f"{BASE}/rpc/12345")).status_code == 404


async def test_rpc_waits_for_the_device_to_subscribe(backend, api, peers):
    r = await api.post(f"{BASE}/rpc", json={"method": "tp_user", "params": {"usertest": "ok"}})
    rpc_id = r.json()["id"]
    assert (await api.get(f"{BASE}/rpc/{rpc_id}")).json()["status"] == "initiated"
    dev = await peers(subscribe=f"v1/dev/{SVC}/{DEV}/#")
    topic, payload = await dev.message()
    assert topic == DOWN and json.loads(payload)["rpcReq"]["id"] == rpc_id
    await eventually(lambda: backend.model.store.get_rpc(rpc_id).status == "pending")


async def test_application_client_reads_telemetry_and_sends_rpc(backend, api, peers):
    dev = await peers(subscribe=DOWN)
    app = await peers(client_id="my-application", subscribe=TEL)
    await dev.publish(TEL, {"temperature": 25, "humidity": 40})
    assert await app.message() == (TEL, b'{"temperature": 25, "humidity": 40}')
    request = {"serviceName": SVC, "deviceName": DEV, "cmd": "jsonRpc", "cmdId": 20,
               "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": ["test"], "id": 6}, "rpcMode": "twoway"}
    await app.publish(DOWN, request)
    topic, payload = await dev.message()
    assert (topic, json.loads(payload)) == (DOWN, request)
    await dev.publish(UP, {"cmd": "jsonRpc", "cmdId": 1, "result": "success",
                           "rpcRsp": {"jsonrpc": "2.0", "id": 6, "result": "ok"}})
    await eventually(lambda: backend.model.store.has_rpc(6) and backend.model.store.get_rpc(6).status == "finished")
    assert (await api.get(f"{BASE}/rpc/6")).json() == {"status": "finished", "result": "ok"}


# --- registry API, wiring, scenario actions -----------------------------------------------------------------
async def test_registry_api(api):
    assert [s["name"] for s in (await api.get("/api/thingplug/services")).json()] == [SVC]
    r = await api.post("/api/thingplug/services", json={"name": "farm", "descriptor": {"telemetries": ["weight"]}})
    assert r.status_code == 201
    assert (await api.post("/api/thingplug/services", json={"name": "farm"})).status_code == 409
    assert (await api.get("/api/thingplug/services/farm/descriptor")).json() == {
        "attributes": [], "telemetries": [{"name": "weight", "tag": "weight"}]}
    r = await api.put("/api/thingplug/services/farm/descriptor", json={"telemetries": [{"nom": "x"}]})
    assert r.status_code == 400 and "needs a 'name'" in r.json()["detail"]
    r = await api.post("/api/thingplug/farm/devices", json={"name": "cow1"})
    assert r.status_code == 201 and len(r.json()["token"]) == 32
    assert (await api.get("/api/thingplug/farm/devices/cow1")).json() == r.json()
    assert [d["name"] for d in (await api.get("/api/thingplug/farm/devices")).json()] == ["cow1"]
    r = await api.get("/api/thingplug/nowhere/devices")
    assert r.status_code == 404 and "unknown service 'nowhere'" in r.json()["detail"]
    for path in (f"/api/thingplug/{SVC}/ghost/telemetry", f"/api/thingplug/{SVC}/ghost/attributes",
                 f"/api/thingplug/{SVC}/ghost/errors", f"/api/thingplug/{SVC}/devices/ghost"):
        r = await api.get(path)
        assert r.status_code == 404 and "unknown device 'ghost'" in r.json()["detail"], path
    assert (await api.post(f"/api/thingplug/{SVC}/ghost/rpc", json={"method": "tp_user"})).status_code == 404


def test_openapi_lists_exactly_the_routes(backend):
    app = FastAPI()
    app.include_router(backend.api_router())
    paths = {p: sorted(m.upper() for m in ops) for p, ops in app.openapi()["paths"].items()}
    assert paths == {
        "/api/thingplug/broker": ["GET", "POST"],
        "/api/thingplug/services": ["GET", "POST"],
        "/api/thingplug/services/{service}/descriptor": ["GET", "PUT"],
        "/api/thingplug/{service}/devices": ["GET", "POST"],
        "/api/thingplug/{service}/devices/{device}": ["DELETE", "GET", "PUT"],
        "/api/thingplug/{service}/{device}/telemetry": ["GET"],
        "/api/thingplug/{service}/{device}/attributes": ["GET", "PATCH"],
        "/api/thingplug/{service}/{device}/rpc": ["POST"],
        "/api/thingplug/{service}/{device}/rpc/{rpc_id}": ["GET"],
        "/api/thingplug/{service}/{device}/errors": ["GET"],
    }


async def test_start_registers_names_and_ports(backend):
    internet = backend.ctx.internet
    mqtt_ep, mqtts_ep = backend.endpoints["thingplug_mqtt"], backend.endpoints["thingplug_mqtts"]
    assert internet.connect_target("test.sktiot.com", 1883) == (mqtt_ep, "", None)
    assert internet.connect_target("test.sktiot.com", 8883) == (mqtts_ep, "", None)
    assert internet.connect_target("api.sktiot.com", 8883) == (mqtts_ep, "", None)
    ip = internet.resolve("api.sktiot.com")[0]
    assert internet.connect_target(ip, 8883) == (mqtts_ep, "", None)
    assert internet.connect_target("test.sktiot.com", 9443)[1] == "refused"


@pytest.mark.parametrize("config,why", [
    ({"service": {}}, "unknown config keys"),
    ({"services": {"s": {"descriptor": {"telemetries": "t"}}}}, "must be a list"),
    ({"services": {"s": {"devices": {"d": {"token": "a0149f60b---------"}}}}}, "token already belongs"),
])
def test_bad_config_is_a_config_error(config, why):
    with pytest.raises(ConfigError, match=why):
        ThingPlugBackend(config, BackendContext(VirtualClock(), FakeInternet()))


def test_registry_entry_and_default_ports():
    assert load_backend("thingplug") is ThingPlugBackend
    be = ThingPlugBackend({}, BackendContext(VirtualClock(), FakeInternet(), ephemeral=False))
    assert (be.port_for("thingplug_mqtt", 21883), be.port_for("thingplug_mqtts", 28883)) == (21883, 28883)


async def test_scenario_actions(backend, peers):
    actions = {a.name: a.run for a in backend.scenario_actions()}
    with pytest.raises(AssertionError, match="no telemetry of smarthome/smartlight001 contains"):
        await actions["expect_telemetry"]({"service": SVC, "device": DEV, "data": {"temperature": 30}})
    dev = await peers(subscribe=DOWN)
    await dev.publish(TEL, {"temperature": 30, "humidity": 20})
    await eventually(lambda: backend.model.store.telemetry(SVC, DEV))
    point = await actions["expect_telemetry"]({"service": SVC, "device": DEV, "data": {"temperature": 30}})
    assert point["data"]["humidity"] == 20
    rpc_id = await actions["send_rpc"]({"service": SVC, "device": DEV, "method": "tp_user", "params": [1]})
    assert json.loads((await dev.message())[1])["rpcReq"]["id"] == rpc_id
    cmd_id = await actions["set_attribute"]({"service": SVC, "device": DEV, "attributes": {"LED": "off"}})
    assert json.loads((await dev.message())[1])["cmdId"] == cmd_id
    with pytest.raises(AssertionError, match="expected to contain"):
        await actions["expect_attribute"]({"service": SVC, "device": DEV, "attributes": {"LED": "off"}})
    await dev.publish(f"v1/dev/{SVC}/{DEV}/attribute", {"LED": "off"})
    await eventually(lambda: backend.model.store.attributes(SVC, DEV))
    assert await actions["expect_attribute"]({"service": SVC, "device": DEV, "attributes": {"LED": "off"}}) == {"LED": "off"}
    backend.reset()
    assert backend.model.store.telemetry(SVC, DEV) == []


# --- independent clients: mosquitto_pub / mosquitto_sub --------------------------------------------------------
needs_mosquitto = pytest.mark.skipif(shutil.which("mosquitto_pub") is None or shutil.which("mosquitto_sub") is None,
                                     reason="mosquitto-clients (mosquitto_pub/mosquitto_sub) not installed")


async def _run(*argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 15)
    return proc.returncode, out.decode(errors="replace")


@needs_mosquitto
@pytest.mark.needs_mosquitto
async def test_mosquitto_clients(backend, api):
    port = str(backend.endpoints["thingplug_mqtt"][1])
    sub = asyncio.ensure_future(_run("mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-u", TOKEN, "-i", "app",
                                     "-t", TEL, "-C", "1", "-W", "10", "-v"))
    await eventually(lambda: backend.broker.has_subscriber(TEL))
    rc, out = await _run("mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-u", TOKEN, "-i", "dev", "-q", "1",
                         "-t", TEL, "-m", '{"temperature":30, "humidity":42}')
    assert rc == 0, out
    rc, out = await sub
    assert (rc, out.strip()) == (0, TEL + ' {"temperature":30, "humidity":42}')
    await eventually(lambda: backend.model.store.telemetry(SVC, DEV))
    assert (await api.get(f"{BASE}/telemetry")).json()[0]["data"] == {"temperature": 30, "humidity": 42}

    rc, out = await _run("mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-u", "wrong", "-t", TEL, "-m", "{}")
    assert rc != 0 and "bad user name or password" in out.lower(), out  # CONNACK 4

    tls_port = str(backend.endpoints["thingplug_mqtts"][1])
    rc, out = await _run("mosquitto_pub", "-h", "localhost", "-p", tls_port, "--cafile", backend.ca_file,
                         "-u", TOKEN, "-q", "1", "-t", TEL + "/csv", "-m", "1,2")
    assert rc == 0, out
    await eventually(lambda: len(backend.model.store.telemetry(SVC, DEV)) == 2)
