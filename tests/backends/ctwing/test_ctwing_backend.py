"""CtwingBackend wiring: endpoints, fake-internet names/routes, extra servers, scenario actions."""

import asyncio

import pytest

from emulator.backends import load_backend
from emulator.backends.base import BackendContext
from emulator.backends.ctwing import tcp_codec as codec
from emulator.core.clock import VirtualClock
from emulator.errors import ConfigError
from emulator.net.internet import FakeInternet

pytestmark = pytest.mark.slow

TCP_ID = "15436586863318069987727"
TCP_PW = "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8"
IMEI = "868543060974334"


class FakeLwm2m:
    def __init__(self):
        self.started_with = None
        self.stopped = False

    async def start(self, backend):
        self.started_with = backend
        return {"ctwing_lwm2m": ("127.0.0.1", 40001), "ctwing_lwm2m_dtls": ("127.0.0.1", 40002)}

    async def stop(self):
        self.stopped = True


@pytest.fixture
async def backend():
    cls = load_backend("ctwing")
    internet = FakeInternet()
    b = cls({"lwm2m": False}, BackendContext(VirtualClock(), internet, ephemeral=True))
    extra = FakeLwm2m()
    b.extra_servers.append(extra)
    endpoints = await b.start()
    yield b, internet, endpoints, extra
    await b.stop()


async def test_endpoints_and_extra_servers(backend):
    b, internet, endpoints, extra = backend
    assert set(endpoints) == {"ctwing_mqtt", "ctwing_mqtts", "ctwing_tcp", "ctwing_lwm2m", "ctwing_lwm2m_dtls"}
    assert all(host == "127.0.0.1" and port > 0 for host, port in endpoints.values())
    assert extra.started_with is b and b.registry is extra.started_with.registry
    await b.stop()
    assert extra.stopped


async def test_fake_internet_routes(backend):
    b, internet, endpoints, extra = backend
    mqtt, tcp = endpoints["ctwing_mqtt"], endpoints["ctwing_tcp"]
    for host, port, target in [
        ("mqtt.ctwing.cn", 1883, mqtt), ("2000033383.non-nb.ctwing.cn", 1883, mqtt),
        ("180.106.148.146", 1883, mqtt), ("180.106.148.146", 8843, tcp),
        ("tcp.ctwing.cn", 8996, tcp), ("dmp-tcp.cuiot.cn", 8843, tcp),
    ]:
        assert internet.connect_target(host, port) == (target, "", None), (host, port)
    for name in ("mqtt.ctwing.cn", "dmp-tcp.cuiot.cn", "tcp.ctwing.cn", "2000033383.non-nb.ctwing.cn"):
        assert internet.resolve(name) == ["180.106.148.146"]
    mqtts = endpoints["ctwing_mqtts"]
    for host in ("mqtt.ctwing.cn", "2000033383.non-nb.ctwing.cn", "180.106.148.146"):
        assert internet.connect_target(host, 8883) == (mqtts, "", None), host
    assert internet.connect_target("mqtt.ctwing.cn", 80)[1] == "refused"
    plain, dtls = ("127.0.0.1", 40001), ("127.0.0.1", 40002)
    for host, port, target in [
        ("lwm2m.ctwing.cn", 5683, plain), ("221.229.214.202", 5683, plain), ("dmp-coap.cuiot.cn", 5683, plain),
        ("240E:980:8120:28:84F4:C0C2:4A95:85F9", 5683, plain), ("153.35.119.75", 5683, plain),
        ("2000033383.nb.ctwing.cn", 5684, dtls), ("lwm2m.ctwing.cn", 5684, dtls), ("221.229.214.202", 5684, dtls),
    ]:
        assert internet.connect_target(host, port) == (target, "", None), (host, port)
    assert internet.resolve("dmp-coap.cuiot.cn") == ["153.35.119.75"]
    assert internet.resolve("lwm2m.ctwing.cn")[0] == "221.229.214.202"


async def test_no_lwm2m_names_without_an_lwm2m_server():
    internet = FakeInternet()
    b = load_backend("ctwing")({"lwm2m": False, "mqtt_tls": False},
                               BackendContext(VirtualClock(), internet, ephemeral=True))
    endpoints = await b.start()
    try:
        assert internet.resolve("lwm2m.ctwing.cn") == [] and internet.resolve("mqtt.ctwing.cn")
        assert "ctwing_mqtts" not in endpoints and internet.connect_target("mqtt.ctwing.cn", 8883)[1] == "refused"
    finally:
        await b.stop()


async def test_scenario_actions_over_tcp(backend):
    b, internet, endpoints, extra = backend
    actions = {a.name: a.run for a in b.scenario_actions()}
    assert set(actions) == {"queue_command", "expect_uplink", "command_status", "device_online"}
    actions["device_online"]({"device": TCP_ID, "online": False})
    with pytest.raises(AssertionError, match="offline, expected online"):
        actions["device_online"]({"device": TCP_ID, "online": True, "wait": 0})
    cmd_id = actions["queue_command"]({"device": TCP_ID, "payload_hex": "72656365697665646d657373616765"})
    assert b.store.command(cmd_id).status == "queued"

    reader, writer = await asyncio.open_connection(*endpoints["ctwing_tcp"])
    writer.write(codec.encode(codec.Login(TCP_ID, TCP_PW)))
    assert await asyncio.wait_for(reader.readexactly(3 + 18), 5) == \
        bytes.fromhex("050000" "03000f72656365697665646d657373616765")
    actions["device_online"]({"device": TCP_ID, "online": True})
    writer.write(bytes.fromhex("02000b68656c6c6f20776f726c64"))
    await writer.drain()
    for _ in range(100):
        if b.store.data(TCP_ID):
            break
        await asyncio.sleep(0.01)
    actions["expect_uplink"]({"device": TCP_ID, "payload": "hello world"})
    actions["expect_uplink"]({"device": TCP_ID, "base64": "aGVsbG8gd29ybGQ="})
    actions["expect_uplink"]({"device": TCP_ID, "payload_hex": "68656c6c6f20776f726c64"})
    with pytest.raises(AssertionError, match="no uplink b'bye'.*hello world"):
        actions["expect_uplink"]({"device": TCP_ID, "payload": "bye", "wait": 0})
    with pytest.raises(AssertionError, match="no uplink b'bye'"):  # waits for in-flight data first
        await actions["expect_uplink"]({"device": TCP_ID, "payload": "bye", "wait": 0.05})
    with pytest.raises(ValueError, match="base64"):
        actions["expect_uplink"]({"device": TCP_ID, "base64": "@@"})
    writer.close()


async def test_actions_by_imei_and_errors(backend):
    b, *_ = backend
    actions = {a.name: a.run for a in b.scenario_actions()}
    cmd_id = actions["queue_command"]({"device": IMEI, "payload": "hi"})
    assert b.store.command(cmd_id).device_id == b.registry.device_by_imei(IMEI).device_id
    with pytest.raises(KeyError, match="unknown CTWing device"):
        actions["queue_command"]({"device": "nope", "payload": "x"})
    with pytest.raises(ValueError, match="payload"):
        actions["queue_command"]({"device": IMEI})


async def test_reset_wipes_data_not_registry(backend):
    b, *_ = backend
    b.store.record_uplink(TCP_ID, b"x", "tcp")
    b.reset()
    assert b.store.data(TCP_ID) == [] and b.registry.device_by_id(TCP_ID)


def test_bad_config_is_a_config_error():
    cls = load_backend("ctwing")
    with pytest.raises(ConfigError, match="ctwing backend config"):
        cls({"products": [{"product_id": "1", "name": "x", "protocol": "nb"}]},
            BackendContext(VirtualClock(), FakeInternet(), ephemeral=True))



async def test_command_status_action(backend):
    b, *_ = backend
    actions = {a.name: a.run for a in b.scenario_actions()}
    cmd_id = actions["queue_command"]({"device": TCP_ID, "payload": "x"})
    assert actions["command_status"]({"id": str(cmd_id)})["status"] == "queued"
    assert actions["command_status"]({"id": cmd_id, "status": "queued"})["payload_hex"] == "78"
    with pytest.raises(AssertionError, match="is queued, expected delivered"):
        actions["command_status"]({"id": cmd_id, "status": "delivered", "wait": 0})
    pending = actions["command_status"]({"id": cmd_id, "status": "delivered", "wait": 1})
    b.store.mark_sent(cmd_id)
    b.store.mark_delivered(cmd_id)  # happens while the action waits (delivery is real I/O)
    assert (await pending)["status"] == "delivered"
    with pytest.raises(ValueError, match="no command"):
        actions["command_status"]({"id": 999})
    with pytest.raises(ValueError, match="needs 'id'"):
        actions["command_status"]({})


async def test_one_imei_in_two_lwm2m_products(backend):
    """Guide 001 §4.1.3.1 and §4.1.3.2 use the same module (IMEI) in a plain and a DTLS product."""
    b, *_ = backend
    actions = {a.name: a.run for a in b.scenario_actions()}
    plain = b.registry.device_by_imei(IMEI, "15430077")
    dtls = b.registry.device_by_imei(IMEI, "16899569")
    assert plain.device_id != dtls.device_id
    b.store.record_uplink(dtls.device_id, b"helloworld", "lwm2m")  # both offline: plain resolves first
    assert actions["expect_uplink"]({"device": IMEI, "payload": "helloworld"})["size"] == 10
    assert actions["expect_uplink"]({"device": IMEI, "product": "16899569", "payload": "helloworld"})
    with pytest.raises(AssertionError, match="no uplink"):
        actions["expect_uplink"]({"device": IMEI, "product": "15430077", "payload": "helloworld", "wait": 0})
    assert actions["expect_uplink"]({"device": IMEI, "product": "15430077", "payload": "helloworld",
                                     "absent": True}) is None
    with pytest.raises(AssertionError, match="should not be"):
        actions["expect_uplink"]({"device": IMEI, "payload": "helloworld", "absent": True})
    cmd_id = actions["queue_command"]({"device": IMEI, "product": "16899569", "payload": "x"})
    assert b.store.command(cmd_id).device_id == dtls.device_id
    with pytest.raises(ValueError, match="no device .* in product 16891291"):
        actions["queue_command"]({"device": IMEI, "product": "16891291", "payload": "x"})
