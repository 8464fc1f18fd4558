"""Standard (OMA-style) LwM2M clients against the CTWing platform (issue 15 items 2, 3, 4).

The peer is an aiocoap client written here the way Anjay / Wakaama / Zephyr behave, with its
own TLV and SenML handling (bytes built by hand and with cbor2/json, not the platform's codec):
/19/0/0 and /19/1/0 are *multiple* resources (OMA registry object 19), so notifications come as
TLV (LwM2M 1.0) or SenML (1.1+) and an opaque Write on /19/1/0 is refused with 4.00 (as Anjay
does); Writes are expected on resource instance /19/1/0/0 in TLV or SenML CBOR.
"""

from __future__ import annotations

import asyncio
import base64
import json

import cbor2
import pytest

pytest.importorskip("emulator.backends.lwm2m.server", reason="LwM2M component not in this tree")

import aiocoap  # noqa: E402
from aiocoap import Code  # noqa: E402
from aiocoap.resource import ObservableResource, Resource, Site  # noqa: E402

from emulator.backends import load_backend  # noqa: E402
from emulator.backends.base import BackendContext  # noqa: E402
from emulator.core.clock import VirtualClock  # noqa: E402
from emulator.net.internet import FakeInternet  # noqa: E402

pytestmark = pytest.mark.slow
IMEI = "868543060974334"
TLV, SENML_JSON, SENML_CBOR, OPAQUE = 11542, 110, 112, 42
DATA = bytes(range(10)) + b"\x88\x00 app"  # application bytes that look like TLV on purpose


def tlv_multiple_resource(rid: int, value: bytes) -> bytes:
    """1.0 §6.4.3 by hand: a multiple resource (type 0b10) holding resource instance 0 (0b01),
    8-bit ids and 8-bit lengths (values < 256 bytes) -- what Anjay sends for /19/0/0."""
    inst = bytes([0b01_0_01_000, 0, len(value)]) + value
    return bytes([0b10_0_01_000, rid, len(inst)]) + inst


def tlv_instance_value(body: bytes) -> tuple[int, bytes]:
    """Parse one resource-instance TLV (the Write the platform must send to /19/1/0/0)."""
    t = body[0]
    assert t >> 6 == 0b01, f"not a resource instance TLV: {body.hex()}"
    assert not t & 0x20, "16-bit identifier not expected"
    ltype = (t >> 3) & 3
    ident, pos = body[1], 2
    n = int.from_bytes(body[pos:pos + ltype], "big") if ltype else t & 7
    return ident, body[pos + ltype:pos + ltype + n]


class Uplink(ObservableResource):
    """/19/0/0: answers in TLV (1.0 client), or in the Accept the platform asked for."""

    def __init__(self, default_format: int):
        super().__init__()
        self.default_format = default_format
        self.observed = asyncio.Event()
        self.accepts: list[int | None] = []
        self.data = b""

    async def add_observation(self, request, serverobservation):
        self.accepts.append(request.opt.accept)
        await super().add_observation(request, serverobservation)
        self.observed.set()

    def encode(self, fmt: int) -> bytes:
        if fmt == TLV:
            return tlv_multiple_resource(0, self.data)
        if fmt == SENML_CBOR:
            return cbor2.dumps([{-2: "/19/0/0/", 0: "0", 8: self.data}])
        if fmt == SENML_JSON:  # RFC 8428 §4.3: vd is base64url without padding
            vd = base64.urlsafe_b64encode(self.data).decode().rstrip("=")
            return json.dumps([{"bn": "/19/0/0/", "n": "0", "vd": vd}]).encode()
        raise AssertionError(fmt)

    async def render_get(self, request):
        fmt = self.default_format if request.opt.accept is None else int(request.opt.accept)
        if fmt not in (TLV, SENML_CBOR, SENML_JSON):
            return aiocoap.Message(code=Code.NOT_ACCEPTABLE)
        return aiocoap.Message(code=Code.CONTENT, payload=self.encode(fmt), content_format=fmt)


class MultipleResource(Resource):
    """/19/1/0: Anjay refuses an opaque Write on a multiple resource with 4.00."""

    def __init__(self):
        super().__init__()
        self.refused: list[int | None] = []

    async def render_put(self, request):
        self.refused.append(request.opt.content_format)
        return aiocoap.Message(code=Code.BAD_REQUEST, payload=b"/19/1/0 is a multiple resource")


class ResourceInstance(Resource):
    """/19/1/0/0: accepts TLV (a resource instance entry) and SenML CBOR."""

    def __init__(self):
        super().__init__()
        self.writes: asyncio.Queue = asyncio.Queue()

    async def render_put(self, request):
        fmt = request.opt.content_format
        if fmt == TLV:
            ident, value = tlv_instance_value(request.payload)
            assert ident == 0
        elif fmt == SENML_CBOR:
            [record] = cbor2.loads(request.payload)
            assert record.get(-2, "") + record.get(0, "") == "/19/1/0/0", record
            value = record[8]
        else:
            return aiocoap.Message(code=Code.UNSUPPORTED_CONTENT_FORMAT)
        await self.writes.put((int(fmt), value))
        return aiocoap.Message(code=Code.CHANGED)


class OmaDevice:
    def __init__(self, uplink_format: int, objects=b'</>;rt="oma.lwm2m",</1/0>,</3/0>,</19/0>,</19/1>'):
        self.up, self.multi, self.inst = Uplink(uplink_format), MultipleResource(), ResourceInstance()
        self.objects = objects
        site = Site()
        site.add_resource(["19", "0", "0"], self.up)
        site.add_resource(["19", "1", "0"], self.multi)
        site.add_resource(["19", "1", "0", "0"], self.inst)
        self.site = site

    async def start(self, endpoint):
        self.ctx = await aiocoap.Context.create_server_context(self.site, bind=("127.0.0.1", 0),
                                                               transports=["simplesocketserver"])
        self.host, self.port = endpoint

    async def post(self, path, query=(), payload=b""):
        msg = aiocoap.Message(code=Code.POST, uri=f"coap://{self.host}:{self.port}/{path}", payload=payload)
        msg.opt.uri_query = tuple(query)
        return await self.ctx.request(msg).response


async def until(pred, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


@pytest.fixture
async def platform():
    made = []

    async def make(**product):
        clock = VirtualClock()
        config = {"lwm2m_options": {"dtls_port": None, "ack_timeout": 0.2, "max_retransmit": 1},
                  "products": [{"product_id": "15430077", "power_saving": "DRX", **product}]}
        backend = load_backend("ctwing")(config, BackendContext(clock, FakeInternet(), ephemeral=True))
        endpoints = await backend.start()
        made.append(backend)
        return backend, clock, endpoints["ctwing_lwm2m"]

    yield make
    for backend in made:
        await backend.stop()


async def register(dev, version="1.0", extra=()):
    resp = await dev.post("rd", ("b=U", f"lwm2m={version}", "lt=86400", f"ep={IMEI}", *extra), dev.objects)
    assert resp.code == Code.CREATED, resp
    return "/".join(resp.opt.location_path)


@pytest.mark.parametrize("product, uplink_format, version, accept", [
    ({"downlink_format": "tlv"}, TLV, "1.0", None),  # Wakaama / Anjay in 1.0 mode
    ({"downlink_format": "senml-cbor", "observe_accept": "senml-cbor"}, SENML_CBOR, "1.1", SENML_CBOR),
    ({"downlink_format": "senml-cbor", "observe_accept": "senml-json"}, SENML_CBOR, "1.2", SENML_JSON),
])
async def test_oma_client_uplink_stored_as_application_bytes_and_command_written_to_instance(
        platform, product, uplink_format, version, accept):
    backend, _clock, endpoint = await platform(**product)
    dev = OmaDevice(uplink_format)
    await dev.start(endpoint)
    try:
        await register(dev, version)
        device = backend.registry.device_by_imei(IMEI, product_id="15430077")
        await asyncio.wait_for(dev.up.observed.wait(), 5)
        assert dev.up.accepts == [accept]  # the product's observe_accept, or no Accept at all
        await asyncio.sleep(0.05)
        dev.up.data = DATA
        fmt = uplink_format if accept is None else accept
        dev.up.updated_state(aiocoap.Message(code=Code.CONTENT, payload=dev.up.encode(fmt), content_format=fmt))
        assert await until(lambda: backend.store.data(device.device_id))
        [record] = backend.store.data(device.device_id)
        assert base64.b64decode(record["base64"]) == DATA and record["content_format"] == fmt
        cmd = backend.store.queue_command(device.device_id, b'{"valve":1}')
        written = await asyncio.wait_for(dev.inst.writes.get(), 5)
        assert written == ({"tlv": TLV, "senml-cbor": SENML_CBOR}[product["downlink_format"]], b'{"valve":1}')
        assert await until(lambda: cmd.status == "delivered")
        assert dev.multi.refused == []
    finally:
        await dev.ctx.shutdown()


async def test_default_opaque_product_writes_19_1_0_which_an_oma_client_refuses(platform):
    """The default (EC800E and the guides) is unchanged: opaque on /19/1/0 -- which is why a
    product for Anjay/Wakaama needs downlink_format tlv or senml-cbor (README)."""
    backend, _clock, endpoint = await platform()
    dev = OmaDevice(TLV)
    await dev.start(endpoint)
    try:
        await register(dev)
        device = backend.registry.device_by_imei(IMEI, product_id="15430077")
        cmd = backend.store.queue_command(device.device_id, b"x")
        assert await until(lambda: cmd.status == "failed")
        assert dev.multi.refused == [OPAQUE] and dev.inst.writes.empty()
        assert "4.00" in cmd.reason
    finally:
        await dev.ctx.shutdown()


async def test_command_to_an_object_the_device_did_not_register_fails_at_once(platform):
    backend, _clock, endpoint = await platform(downlink_format="tlv")
    dev = OmaDevice(TLV, objects=b'</>;rt="oma.lwm2m",</1/0>,</3/0>,</19/0>')
    await dev.start(endpoint)
    try:
        await register(dev)
        device = backend.registry.device_by_imei(IMEI, product_id="15430077")
        cmd = backend.store.queue_command(device.device_id, b"x")
        assert await until(lambda: cmd.status == "failed")
        assert "did not register object /19 instance 1" in cmd.reason
        assert dev.multi.refused == [] and dev.inst.writes.empty()  # nothing was sent
    finally:
        await dev.ctx.shutdown()


@pytest.mark.parametrize("version, queue_params", [("1.1", ("Q",)), ("1.0", ())])
async def test_queue_mode_holds_the_command_until_the_next_message(platform, version, queue_params):
    """Queue mode (1.1 ``Q``; 1.0 ``b=UQ``) on a DRX product: once the client's awake window
    after its last message has passed (93 s, virtual clock), a command waits for its next
    message (as Leshan does), independently of the product's power-saving setting."""
    backend, clock, endpoint = await platform(downlink_format="tlv")
    dev = OmaDevice(TLV)
    await dev.start(endpoint)
    try:
        query = ("b=U", f"lwm2m={version}", "lt=86400", f"ep={IMEI}", *queue_params)
        if version == "1.0":
            query = ("b=UQ", *query[1:])
        resp = await dev.post("rd", query, dev.objects)
        assert resp.code == Code.CREATED
        location = "/".join(resp.opt.location_path)
        device = backend.registry.device_by_imei(IMEI, product_id="15430077")
        clock.advance(94)
        cmd = backend.store.queue_command(device.device_id, b"held")
        await asyncio.sleep(0.2)  # negative check: a sleeping queue-mode client gets nothing
        assert dev.inst.writes.empty() and cmd.status == "queued"
        assert (await dev.post(location)).code == Code.CHANGED  # the client's next message
        assert await asyncio.wait_for(dev.inst.writes.get(), 5) == (TLV, b"held")
        assert await until(lambda: cmd.status == "delivered")
    finally:
        await dev.ctx.shutdown()
