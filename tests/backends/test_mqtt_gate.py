"""Both embedded MQTT brokers (CTWing, ThingPlug) against misbehaving clients (issue 16 item 5)
and refused logins (issue 15 item 5), through ``emulator/backends/mqtt_gate.py``.

Raw sockets stand for broken clients (paho cannot send a password without a user name or a bad
UTF-8 client id); paho checks the CONNACK codes a real client library decodes. Connect and
keepalive timeouts run on the virtual clock: each test advances it explicitly.
"""

from __future__ import annotations

import asyncio
import queue

import paho.mqtt.client as mqtt
import pytest

from emulator.backends.base import BackendContext
from emulator.backends.ctwing.backend import CtwingBackend
from emulator.backends.mqtt_gate import CONNECT_TIMEOUT, raw_client_id
from emulator.backends.thingplug.backend import ThingPlugBackend
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

pytestmark = pytest.mark.slow

CTWING_ID = "16891291868543060025186"
CTWING_PW = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"
TP_TOKEN = "a0149f60b---------"
WAIT = 5.0  # bound on loopback I/O, not a protocol timer
PINGREQ, PINGRESP = b"\xc0\x00", b"\xd0\x00"


def connect_packet(client_id: bytes, user: bytes | None, password: bytes | None, keepalive: int = 60) -> bytes:
    """An MQTT 3.1.1 CONNECT (clean session) built field by field (the test's own bytes)."""
    flags = 0x02 | (0x80 if user is not None else 0) | (0x40 if password is not None else 0)
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + keepalive.to_bytes(2, "big")
    for field in (client_id, user, password):
        if field is not None:
            body += len(field).to_bytes(2, "big") + field
    return bytes([0x10, len(body)]) + body


BROKERS = {
    "ctwing": (lambda ctx: CtwingBackend({"lwm2m": False, "mqtt_tls": False, "ports": {}}, ctx),
               "ctwing_mqtt", CTWING_ID.encode(), b"device001", CTWING_PW.encode()),
    "thingplug": (lambda ctx: ThingPlugBackend({}, ctx),
                  "thingplug_mqtt", b"866425035073255_smartlight001", TP_TOKEN.encode(), None),
}


@pytest.fixture(params=sorted(BROKERS))
async def broker(request):
    make, key, cid, user, password = BROKERS[request.param]
    clock = VirtualClock()
    backend = make(BackendContext(clock, FakeInternet(), ephemeral=True))
    endpoints = await backend.start()
    try:
        yield {"name": request.param, "clock": clock, "port": endpoints[key][1],
               "cid": cid, "user": user, "password": password}
    finally:
        await backend.stop()


class Raw:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Raw":
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, n: int = 4) -> bytes:
        """Up to ``n`` bytes; b"" when the broker closed the connection."""
        try:
            return await asyncio.wait_for(self.reader.read(n), WAIT)
        except ConnectionResetError:
            return b""

    async def still_open(self) -> bool:
        """Negative check: nothing arrives and no EOF within a short loopback grace."""
        try:
            await asyncio.wait_for(self.reader.read(1), 0.2)
        except asyncio.TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.writer.close()


async def login(broker, keepalive: int = 60) -> Raw:
    raw = await Raw.open(broker["port"])
    await raw.send(connect_packet(broker["cid"], broker["user"], broker["password"], keepalive))
    assert await raw.read() == b"\x20\x02\x00\x00"  # CONNACK accepted
    return raw


@pytest.mark.parametrize("first", [PINGREQ, b"\x82\x08\x00\x01\x00\x03a/b\x00", b"\x30\x05\x00\x01tab",
                                   b"\xe0\x00", b"\x16\x03\x01\x00\x05hello"],
                         ids=["pingreq", "subscribe", "publish", "disconnect", "tls-hello"])
async def test_first_packet_other_than_connect_closes(broker, first):
    raw = await Raw.open(broker["port"])
    await raw.send(first)
    assert await raw.read() == b""  # closed, nothing answered (MQTT-3.1.0-1, MQTT-4.8.0-1)
    raw.close()
    (await login(broker)).close()  # the broker still serves


async def test_password_without_user_name_disconnects_without_connack(broker):
    raw = await Raw.open(broker["port"])
    await raw.send(connect_packet(broker["cid"], None, b"secret"))
    assert await raw.read() == b""  # MQTT-3.1.2-22: malformed, no CONNACK 4
    raw.close()


@pytest.mark.parametrize("cid", [b"\xff\xfe-bad", b"dev\xc3\x28", b"dev\x00nul"], ids=["ff", "bad-cont", "nul"])
async def test_client_id_not_utf8_gets_connack_2_and_close(broker, cid):
    raw = await Raw.open(broker["port"])
    await raw.send(connect_packet(cid, broker["user"], broker["password"]))
    assert await raw.read() == b"\x20\x02\x00\x02"  # identifier rejected
    assert await raw.read() == b""
    raw.close()


@pytest.mark.parametrize("name, level", [(b"MQIsdp", 3), (b"MQTT", 3), (b"MQTT", 5)],
                         ids=["mqtt-3.1", "level-3", "mqtt-5"])
async def test_unsupported_protocol_level_gets_connack_1_and_close(broker, name, level):
    """MQTT-3.1.2-2: a protocol level the server does not support -> CONNACK 1 (unacceptable
    protocol version) and disconnect; a module set to MQTT 3.1 (AT+QMTCFG="version",0,3 sends
    "MQIsdp" level 3) learns why (+QMTCONN: 0,0,1) instead of losing the link unanswered."""
    body = len(name).to_bytes(2, "big") + name + bytes([level, 0xC2]) + (60).to_bytes(2, "big")
    for field in (broker["cid"], broker["user"] or b"u", broker["password"] or b"p"):
        body += len(field).to_bytes(2, "big") + field
    raw = await Raw.open(broker["port"])
    await raw.send(bytes([0x10, len(body)]) + body)
    assert await raw.read() == b"\x20\x02\x00\x01"
    assert await raw.read() == b""
    raw.close()


async def test_socket_that_never_sends_connect_is_closed_on_the_virtual_clock(broker):
    raw = await Raw.open(broker["port"])
    await asyncio.sleep(0.05)  # let the accept reach the broker (loopback)
    broker["clock"].advance(CONNECT_TIMEOUT - 0.5)
    assert await raw.still_open()
    broker["clock"].advance(0.5)
    assert await raw.read() == b""
    raw.close()


async def test_half_a_connect_is_closed_on_the_connect_timeout(broker):
    raw = await Raw.open(broker["port"])
    await raw.send(connect_packet(broker["cid"], broker["user"], broker["password"])[:7])
    await asyncio.sleep(0.05)
    broker["clock"].advance(CONNECT_TIMEOUT)
    assert await raw.read() == b""
    raw.close()


async def test_silent_past_one_and_a_half_keepalive_is_closed(broker):
    clock = broker["clock"]
    raw = await login(broker, keepalive=10)
    clock.advance(14)
    assert await raw.still_open()
    await raw.send(PINGREQ)
    assert await raw.read(2) == PINGRESP  # the ping was read: activity at t=14
    clock.advance(14.9)
    assert await raw.still_open()  # 14.9 s after the ping, under 15
    clock.advance(0.2)
    assert await raw.read() == b""  # MQTT-3.1.2-24
    raw.close()


async def test_keepalive_zero_is_never_timed_out(broker):
    raw = await login(broker, keepalive=0)
    broker["clock"].advance(86400)
    assert await raw.still_open()
    await raw.send(PINGREQ)
    assert await raw.read(2) == PINGRESP
    raw.close()


# --- CONNACK codes with paho ---------------------------------------------------------------------

def paho_connack(port: int, client_id: str, user: str | None, password: str | None):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if user is not None:
        client.username_pw_set(user, password)
    got: queue.Queue = queue.Queue()
    client.on_connect = lambda c, u, flags, rc, props: got.put(rc)
    client.connect("127.0.0.1", port, 60)
    client.loop_start()
    try:
        return got.get(True, WAIT)
    finally:
        client.disconnect()
        client.loop_stop()


CODES = [
    # broker, client id, user, password -> paho's reason for the MQTT 3.1.1 CONNACK code
    ("ctwing", CTWING_ID, "device001", CTWING_PW, "Success"),
    ("ctwing", CTWING_ID, "device001", CTWING_PW[:-1] + "X", "Bad user name or password"),  # 4
    ("ctwing", CTWING_ID, None, None, "Bad user name or password"),  # no feature string at all: 4
    ("ctwing", "16891291000000000000000", "device001", CTWING_PW, "Not authorized"),  # 5
    ("ctwing", "15436586863318069987727", "x", "ny6f1tSA41DQUVPD6P8g4iOk9zWNg5LGa9LIzPymuE8",
     "Not authorized"),  # a TCP product's device on MQTT: 5
    ("thingplug", "any-client", TP_TOKEN, None, "Success"),
    ("thingplug", "any-client", "not-a-token", None, "Bad user name or password"),  # 4
]


@pytest.mark.parametrize("broker,cid,user,password,reason", CODES, indirect=["broker"])
async def test_connack_codes_with_paho(broker, cid, user, password, reason):
    rc = await asyncio.to_thread(paho_connack, broker["port"], cid, user, password)
    assert str(rc) == reason


def test_raw_client_id_offsets():
    body = connect_packet(b"abc", b"u", b"p")[2:]
    assert raw_client_id(body) == b"abc"
    assert raw_client_id(body[:13]) is None  # cut inside the client id
    assert raw_client_id(b"\x00") is None


async def test_connect_split_at_every_byte_and_coalesced_with_the_next_packet(broker):
    """The gate reads exactly the CONNECT and replays it to amqtt: a CONNECT in two writes at
    each split point is accepted, and a PINGREQ in the same write as the CONNECT is answered."""
    packet = connect_packet(broker["cid"], broker["user"], broker["password"])
    for cut in range(1, len(packet)):
        raw = await Raw.open(broker["port"])
        await raw.send(packet[:cut])
        await asyncio.sleep(0)
        await raw.send(packet[cut:] + PINGREQ)
        assert await asyncio.wait_for(raw.reader.readexactly(6), WAIT) == b"\x20\x02\x00\x00" + PINGRESP, cut
        raw.close()
        await raw.writer.wait_closed()
