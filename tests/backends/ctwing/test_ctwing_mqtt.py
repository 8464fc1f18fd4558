"""CTWing MQTT access server against real clients: paho-mqtt 2.x and mosquitto_pub/sub."""

import asyncio
import queue
import shutil
import threading

import paho.mqtt.client as mqtt
import pytest

from emulator.backends.ctwing.mqtt_broker import CtwingMqttServer
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import Store
from emulator.core.clock import VirtualClock

pytestmark = pytest.mark.slow

DEVICE = "16891291868543060025186"
PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


@pytest.fixture
async def env():
    clock = VirtualClock()
    registry = Registry.from_config()
    store = Store(clock, registry)
    server = CtwingMqttServer(registry, store, clock)
    addr = await server.start("127.0.0.1", 0)
    yield store, addr
    await server.stop()


class Device:
    """A paho client run on its own thread; blocking waits go through asyncio.to_thread."""

    def __init__(self, client_id, password, username="device001", clean_session=True):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
        self.c.username_pw_set(username, password)
        self.connack = queue.Queue()
        self.messages = queue.Queue()
        self.subacked = threading.Event()
        self.c.on_connect = lambda c, u, flags, rc, props: self.connack.put(rc)
        self.c.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.c.on_subscribe = lambda *a: self.subacked.set()

    async def connect(self, addr):
        await asyncio.to_thread(self.c.connect, *addr, 60)
        self.c.loop_start()
        return await asyncio.to_thread(self.connack.get, True, 5)

    async def subscribe(self, topic, qos=1):
        self.subacked.clear()
        self.c.subscribe(topic, qos)
        assert await asyncio.to_thread(self.subacked.wait, 5)

    async def publish(self, topic, payload, qos=1):
        info = self.c.publish(topic, payload, qos=qos)
        await asyncio.to_thread(info.wait_for_publish, 5)

    async def message(self, timeout=5):
        return await asyncio.to_thread(self.messages.get, True, timeout)

    async def close(self):
        self.c.disconnect()
        await asyncio.to_thread(self.c.loop_stop)


async def eventually(predicate, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


async def test_guide_connect_publish_and_offline(env):
    store, addr = env
    dev = Device(DEVICE, PASSWORD)
    rc = await dev.connect(addr)
    assert not rc.is_failure
    assert await eventually(lambda: store.is_online(DEVICE))
    await dev.publish("topic/data", b'{"temp":22.5,"humi":78}')  # guide 001 §4.2.3
    assert await eventually(lambda: store.data(DEVICE))
    rec = store.data(DEVICE)[0]
    assert rec["topic"] == "topic/data" and rec["protocol"] == "mqtt"
    assert store.payloads(DEVICE) == [b'{"temp":22.5,"humi":78}']
    await dev.close()
    assert await eventually(lambda: not store.is_online(DEVICE))


async def test_wrong_password_refused(env):
    store, addr = env
    dev = Device(DEVICE, PASSWORD[:-1] + "x")
    rc = await dev.connect(addr)
    # CONNACK 4 (MQTT 3.1.1 §3.2.2.3); paho 2 reports the 3.1.1 code as its v5 reason 0x86
    assert rc.is_failure and (rc.value, str(rc)) == (0x86, "Bad user name or password")
    await asyncio.sleep(0.1)
    assert not store.is_online(DEVICE)
    await dev.close()
    # the same client ID with the right feature string still gets in afterwards
    good = Device(DEVICE, PASSWORD)
    assert not (await good.connect(addr)).is_failure
    assert await eventually(lambda: store.is_online(DEVICE))
    await good.close()


async def test_unregistered_client_id_refused(env):
    store, addr = env
    dev = Device("16891291000000000000000", PASSWORD)
    rc = await dev.connect(addr)
    assert rc.is_failure and (rc.value, str(rc)) == (0x87, "Not authorized")  # CONNACK 5: no such device
    await dev.close()
    tcp_device = Device("15436586863318069987727", "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8")
    rc = await tcp_device.connect(addr)  # a device of a TCP product, with its own feature string
    assert rc.is_failure and (rc.value, str(rc)) == (0x87, "Not authorized")
    await tcp_device.close()


async def test_command_delivered_on_device_control(env):
    store, addr = env
    early = store.queue_command(DEVICE, b"queued-before-connect")
    dev = Device(DEVICE, PASSWORD)
    await dev.connect(addr)
    await dev.subscribe("device_control")
    assert await dev.message() == ("device_control", b"queued-before-connect")
    assert await eventually(lambda: early.status == "delivered")
    cmd = store.queue_command(DEVICE, bytes.fromhex("72656365697665646d657373616765"))
    assert await dev.message() == ("device_control", b"receivedmessage")
    assert await eventually(lambda: cmd.status == "delivered")
    await dev.close()


async def test_command_waits_for_subscription(env):
    store, addr = env
    dev = Device(DEVICE, PASSWORD)
    await dev.connect(addr)
    cmd = store.queue_command(DEVICE, b"later")
    await asyncio.sleep(0.2)
    assert cmd.status == "queued"  # not subscribed to device_control yet
    await dev.subscribe("device_control")
    assert await dev.message() == ("device_control", b"later")
    await dev.close()


async def test_devices_do_not_hear_each_other(env):
    store, addr = env
    other = store.registry.add_device({"product_id": "16891291", "device_number": "dev2", "password": "pw2"})
    a, b = Device(DEVICE, PASSWORD), Device(other.device_id, "pw2")
    await a.connect(addr)
    await b.connect(addr)
    await b.subscribe("#")
    await a.publish("device_control", b"spoof")
    await a.publish("data_report", b"x")
    assert await eventually(lambda: len(store.data(DEVICE)) == 2)
    with pytest.raises(queue.Empty):
        await b.message(timeout=0.3)
    cmd = store.queue_command(other.device_id, b"for-b-only")
    assert await b.message() == ("device_control", b"for-b-only")
    assert await eventually(lambda: cmd.status == "delivered")
    assert a.messages.empty()
    await a.close()
    await b.close()


@pytest.mark.needs_mosquitto
async def test_mosquitto_clients(env):
    if not (shutil.which("mosquitto_pub") and shutil.which("mosquitto_sub")):
        pytest.skip("mosquitto-clients not installed")
    store, addr = env
    host, port = addr
    pub = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-h", host, "-p", str(port), "-i", DEVICE, "-u", "anyone", "-P", PASSWORD,
        "-t", "data_report", "-m", "hello world", "-q", "1")
    assert await asyncio.wait_for(pub.wait(), 10) == 0
    assert await eventually(lambda: store.data(DEVICE))
    assert store.data(DEVICE)[-1]["base64"] == "aGVsbG8gd29ybGQ="

    bad = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-h", host, "-p", str(port), "-i", DEVICE, "-u", "x", "-P", "wrong",
        "-t", "data_report", "-m", "nope", stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(bad.communicate(), 10)
    assert bad.returncode != 0 and b"bad user name or password" in err.lower()
    assert len(store.data(DEVICE)) == 1

    sub = await asyncio.create_subprocess_exec(
        "mosquitto_sub", "-h", host, "-p", str(port), "-i", DEVICE, "-u", "device001", "-P", PASSWORD,
        "-t", "device_control", "-q", "1", "-C", "1", stdout=asyncio.subprocess.PIPE)
    assert await eventually(lambda: store.is_online(DEVICE))
    await asyncio.sleep(0.2)  # let SUBSCRIBE land; delivery also retries on subscribe
    cmd = store.queue_command(DEVICE, b"receivedmessage")
    out, _ = await asyncio.wait_for(sub.communicate(), 10)
    assert out.strip() == b"receivedmessage" and cmd.status == "delivered"


async def test_persistent_session_keeps_device_control(env):
    # guide 001 §4.2.3 connects with clean_session=0: the subscription survives a reconnect
    store, addr = env
    dev = Device(DEVICE, PASSWORD, clean_session=False)
    await dev.connect(addr)
    await dev.subscribe("device_control")
    await dev.close()
    assert await eventually(lambda: not store.is_online(DEVICE))
    cmd = store.queue_command(DEVICE, b"while-offline")
    await asyncio.sleep(0.1)
    assert cmd.status == "queued"
    again = Device(DEVICE, PASSWORD, clean_session=False)
    await again.connect(addr)
    assert await again.message() == ("device_control", b"while-offline")
    assert await eventually(lambda: cmd.status == "delivered")
    await again.close()


@pytest.fixture
async def tls_env():
    clock = VirtualClock()
    registry = Registry.from_config()
    store = Store(clock, registry)
    server = CtwingMqttServer(registry, store, clock)
    await server.start("127.0.0.1", 0, tls_port=0)
    yield store, server
    cert_dir = server.tls_cert.parent
    await server.stop()
    assert not cert_dir.exists()


async def test_tls_listener_with_paho(tls_env):
    store, server = tls_env
    dev = Device(DEVICE, PASSWORD)
    dev.c.tls_set(ca_certs=str(server.tls_cert))
    assert not (await dev.connect(server.tls_endpoint)).is_failure
    await dev.publish("data_report", b"over tls")
    assert await eventually(lambda: store.payloads(DEVICE) == [b"over tls"])
    await dev.close()
    bad = Device(DEVICE, "wrong")
    bad.c.tls_set(ca_certs=str(server.tls_cert))
    assert (await bad.connect(server.tls_endpoint)).is_failure
    await bad.close()


@pytest.mark.needs_mosquitto
async def test_tls_listener_with_mosquitto_pub(tls_env):
    if not shutil.which("mosquitto_pub"):
        pytest.skip("mosquitto-clients not installed")
    store, server = tls_env
    host, port = server.tls_endpoint
    pub = await asyncio.create_subprocess_exec(
        "mosquitto_pub", "-h", host, "-p", str(port), "--cafile", str(server.tls_cert), "-i", DEVICE,
        "-u", "device001", "-P", PASSWORD, "-t", "data_report", "-m", "tls hello", "-q", "1")
    assert await asyncio.wait_for(pub.wait(), 10) == 0
    assert await eventually(lambda: store.payloads(DEVICE) == [b"tls hello"])
