"""CtwingBackend with the real LwM2M component plugged in (skipped where it is not merged yet).

The device is plain aiocoap on loopback: it registers with endpoint = IMEI (guide 001 §4.1.3.1),
serves 19/0/0 (observable uplink) and 19/1/0 (writable downlink).
"""

import asyncio

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


class Up(ObservableResource):
    def __init__(self):
        super().__init__()
        self.observed = asyncio.Event()

    async def add_observation(self, request, serverobservation):
        await super().add_observation(request, serverobservation)
        self.observed.set()

    async def render_get(self, request):
        return aiocoap.Message(payload=b"", content_format=42)


class Down(Resource):
    def __init__(self):
        super().__init__()
        self.writes = asyncio.Queue()

    async def render_put(self, request):
        await self.writes.put(request.payload)
        return aiocoap.Message(code=Code.CHANGED)


async def until(pred, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


async def test_lwm2m_device_through_the_shared_store():
    internet = FakeInternet()
    # the guide's product with power saving DRX: a queued command is written at once
    config = {"lwm2m_options": {"dtls_port": None}, "products": [{"product_id": "15430077", "power_saving": "DRX"}]}
    backend = load_backend("ctwing")(config, BackendContext(VirtualClock(), internet, ephemeral=True))
    endpoints = await backend.start()
    up, down = Up(), Down()
    site = Site()
    site.add_resource(["19", "0", "0"], up)
    site.add_resource(["19", "1", "0"], down)
    ctx = await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", 0),
                                                      transports=["simplesocketserver"])
    try:
        assert internet.connect_target("lwm2m.ctwing.cn", 5683)[0] == endpoints["ctwing_lwm2m"]
        host, port = endpoints["ctwing_lwm2m"]
        msg = aiocoap.Message(code=Code.POST, uri=f"coap://{host}:{port}/rd",
                              payload=b'</>;rt="oma.lwm2m",</1/0>,</3/0>,</19/0>,</19/1>')
        msg.opt.uri_query = ("b=U", "lwm2m=1.0", "lt=86400", f"ep={IMEI}")
        resp = await ctx.request(msg).response
        assert resp.code == Code.CREATED
        device = backend.registry.device_by_imei(IMEI, product_id="15430077")
        assert device.online
        await asyncio.wait_for(up.observed.wait(), 5)
        await asyncio.sleep(0.05)
        up.updated_state(aiocoap.Message(code=Code.CONTENT, payload=b"hello world", content_format=42))
        assert await until(lambda: backend.store.data(device.device_id))
        assert backend.store.data(device.device_id)[0]["base64"] == "aGVsbG8gd29ybGQ="
        cmd = backend.store.queue_command(device.device_id, b"receivedmessage")
        assert await asyncio.wait_for(down.writes.get(), 5) == b"receivedmessage"
        assert await until(lambda: cmd.status == "delivered")
        # a urn:imei: endpoint belongs to the DTLS product: refused over plain CoAP
        msg = aiocoap.Message(code=Code.POST, uri=f"coap://{host}:{port}/rd", payload=b"</19/0>")
        msg.opt.uri_query = ("lt=300", f"ep=urn:imei:{IMEI}")
        assert (await ctx.request(msg).response).code == Code.FORBIDDEN
    finally:
        await ctx.shutdown()
        await backend.stop()


async def _coap_client_openssl(endpoint, identity, key, path):
    host, port = endpoint
    proc = await asyncio.create_subprocess_exec(
        "coap-client-openssl", "-B", "3", "-u", identity, "-k", key, "-m", "post",
        "-e", "</19/0>,</19/1>", f"coaps://{host}:{port}/{path}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace")


@pytest.mark.needs_libcoap
@pytest.mark.needs_dtls
async def test_dtls_product_registers_with_guide_psk():
    import shutil
    from emulator.backends.lwm2m import dtls_adapter
    if shutil.which("coap-client-openssl") is None or not dtls_adapter.DTLS_AVAILABLE:
        pytest.skip("needs coap-client-openssl (libcoap3-bin) and python-mbedtls")
    live = []  # the emulator's event bus (observe/bus.py: /api/events, serve's lines)
    backend = load_backend("ctwing")({}, BackendContext(VirtualClock(), FakeInternet(), ephemeral=True,
                                                        publish=lambda kind, **f: live.append({"type": kind, **f})))
    endpoints = await backend.start()
    try:
        dtls_dev = backend.registry.device_by_imei(IMEI, product_id="16899569")
        # guide 001 §4.1.3.2: endpoint urn:imei:<IMEI>, PSK id = IMEI, PSK TYvoiTk34D3NZ6GN
        out = await _coap_client_openssl(endpoints["ctwing_lwm2m_dtls"], IMEI, "TYvoiTk34D3NZ6GN",
                                         f"rd?ep=urn:imei:{IMEI}&lt=300&b=U")
        assert "ERR" not in out and "4." not in out, out
        assert dtls_dev.online
        # the screenshot's spelling (capital I) is not the PSK: the handshake fails
        backend.store.set_online(dtls_dev.device_id, False)
        seen = []
        backend.event_listeners.append(seen.append)
        out = await _coap_client_openssl(endpoints["ctwing_lwm2m_dtls"], IMEI, "TYvoITk34D3NZ6GN",
                                         f"rd?ep=urn:imei:{IMEI}&lt=300&b=U")
        assert not dtls_dev.online
        assert "bad record mac" in out.lower(), out  # refused at once with an alert
        # the failure is in the backend's event list (and the console API) with identity + reason
        assert seen == backend.events and len(seen) == 1
        assert (seen[0]["type"], seen[0]["identity"], seen[0]["alert"]) == (
            "dtls_handshake_failed", IMEI, "bad_record_mac")
        from fastapi import FastAPI
        from fastapi.testclient import TestClient
        app = FastAPI()
        app.include_router(backend.api_router())
        assert TestClient(app).get("/api/ctwing/events").json() == seen
        # ... and on the live event stream, as a refused login with the identity and the reason
        [refused] = [e for e in live if e["type"] == "login_refused" and e.get("protocol") == "lwm2m-dtls"]
        assert (refused["platform"], refused["device"], refused["alert"]) == ("ctwing", IMEI, "bad_record_mac")
        assert "wrong PSK" in refused["reason"]
        # a plain-IMEI endpoint over DTLS belongs to the plain product: refused
        out = await _coap_client_openssl(endpoints["ctwing_lwm2m_dtls"], IMEI, "TYvoiTk34D3NZ6GN",
                                         f"rd?ep={IMEI}&lt=300&b=U")
        assert "4.03" in out, out
    finally:
        await backend.stop()


async def test_auto_subscribe_off_means_no_platform_observe():
    """Auto-subscribe (自动订阅, guide 001 §4.1.2) "no": the device registers and is online, but
    the platform does not observe 19/0/0 by itself (the flag used to be stored and ignored)."""
    internet = FakeInternet()
    config = {"lwm2m_options": {"dtls_port": None}, "products": [
        {"product_id": "15430099", "name": "manual", "protocol": "lwm2m", "auto_subscribe": False}],
        "devices": [{"product_id": "15430099", "name": "d", "imei": "868543060970000"}]}
    backend = load_backend("ctwing")(config, BackendContext(VirtualClock(), internet, ephemeral=True))
    endpoints = await backend.start()
    up = Up()
    site = Site()
    site.add_resource(["19", "0", "0"], up)
    ctx = await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", 0),
                                                      transports=["simplesocketserver"])
    try:
        host, port = endpoints["ctwing_lwm2m"]
        for imei, observed in (("868543060970000", False), (IMEI, True)):  # manual, then the guide's
            msg = aiocoap.Message(code=Code.POST, uri=f"coap://{host}:{port}/rd", payload=b"</19/0>,</19/1>")
            msg.opt.uri_query = ("lt=300", f"ep={imei}")
            assert (await ctx.request(msg).response).code == Code.CREATED
            assert backend.registry.device_by_imei(imei).online
            assert await until(up.observed.is_set, 0.5) is observed, imei
    finally:
        await ctx.shutdown()
        await backend.stop()


async def test_psm_product_holds_downlinks_until_the_device_talks():
    """Power-saving mode PSM (省电模式, guide 001 §4.1.1): a queued command waits for the
    device's next uplink (or Update), as §4.1.3.1 / §4.1.5.2 describe; DRX writes at once."""
    internet = FakeInternet()
    config = {"lwm2m_options": {"dtls_port": None}, "products": [
        {"product_id": "15430098", "name": "psm", "protocol": "lwm2m", "power_saving": "PSM"}],
        "devices": [{"product_id": "15430098", "name": "d", "imei": "868543060970002"}]}
    backend = load_backend("ctwing")(config, BackendContext(VirtualClock(), internet, ephemeral=True))
    endpoints = await backend.start()
    up, down = Up(), Down()
    site = Site()
    site.add_resource(["19", "0", "0"], up)
    site.add_resource(["19", "1", "0"], down)
    ctx = await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", 0),
                                                      transports=["simplesocketserver"])
    try:
        host, port = endpoints["ctwing_lwm2m"]
        msg = aiocoap.Message(code=Code.POST, uri=f"coap://{host}:{port}/rd", payload=b"</19/0>,</19/1>")
        msg.opt.uri_query = ("lt=300", "ep=868543060970002")
        assert (await ctx.request(msg).response).code == Code.CREATED
        await asyncio.wait_for(up.observed.wait(), 5)
        device = backend.registry.device_by_imei("868543060970002")
        cmd = backend.store.queue_command(device.device_id, b"later")
        await asyncio.sleep(0.3)
        assert down.writes.empty() and cmd.status == "queued"
        up.updated_state(aiocoap.Message(code=Code.CONTENT, payload=b"wake", content_format=42))
        assert await asyncio.wait_for(down.writes.get(), 5) == b"later"
        assert await until(lambda: cmd.status == "delivered")
    finally:
        await ctx.shutdown()
        await backend.stop()
