"""Shared helpers of the LwM2M tests (a uniquely named module, so no clash with other backends'
test helpers): the in-memory Lwm2mPlatformHooks and an independent aiocoap "device"."""

from __future__ import annotations

import asyncio
from collections import deque

import aiocoap
from aiocoap import Code
from aiocoap.resource import ObservableResource, Resource, Site

IMEI = "868543060974334"
PSK = b"TYvoiTk34D3NZ6GN"  # docs/guides.md, CTWing DTLS device
DEV = "dev-" + IMEI
LINKS = b'</>;rt="oma.lwm2m",</1/0>,</19/0>,</19/1>'


class MemoryHooks:
    """What the CTWing registry will do, in a few dicts; records every callback."""

    def __init__(self) -> None:
        self.devices = {IMEI: "dev-" + IMEI}  # IMEI -> device_id
        self.psks = {IMEI: PSK}
        self.events: list[tuple] = []
        self.uplinks: list[tuple[str, bytes, bool]] = []
        self.queues: dict[str, deque] = {}
        self.results: list[tuple[str, int, bool, str]] = []
        self._waiters: list[tuple[callable, asyncio.Future]] = []
        self.formats: list[int | None] = []  # Content-Format of each uplink
        self.write_format = "opaque"  # what downlink_format answers (a product's setting)
        self.accept = None  # what observe_accept answers

    def downlink_format(self, device_id):
        return self.write_format

    def observe_accept(self, device_id):
        return self.accept

    def authorize(self, endpoint, dtls_identity):
        imei = endpoint.rsplit(":", 1)[-1]
        return self.devices.get(imei)

    def psk_for(self, identity):
        return self.psks.get(identity)

    def on_registered(self, device_id, reg):
        self._record(("registered", device_id, reg.location))

    def on_deregistered(self, device_id, reason):
        self._record(("deregistered", device_id, reason))

    def on_uplink(self, device_id, payload, confirmable, content_format=None):
        self.uplinks.append((device_id, payload, confirmable))
        self.formats.append(content_format)
        self._record(("uplink", device_id, payload, confirmable))

    def next_downlink(self, device_id):
        q = self.queues.get(device_id)
        return q.popleft() if q else None

    def downlink_result(self, device_id, command_id, ok, reason):
        self.results.append((device_id, command_id, ok, reason))
        self._record(("result", device_id, command_id, ok))

    def queue(self, device_id, command_id, payload):
        self.queues.setdefault(device_id, deque()).append((command_id, payload))

    def _record(self, event):
        self.events.append(event)
        for pred, fut in list(self._waiters):
            if not fut.done() and pred(event):
                fut.set_result(event)

    async def wait_for(self, pred, timeout=5.0):
        """Wait (bounded, for network I/O only) until an event matching ``pred`` is recorded."""
        for event in self.events:
            if pred(event):
                return event
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        return await asyncio.wait_for(fut, timeout)


class Uplink(ObservableResource):
    def __init__(self):
        super().__init__()
        self.observed = asyncio.Event()

    async def add_observation(self, request, serverobservation):
        await super().add_observation(request, serverobservation)
        self.observed.set()

    async def render_get(self, request):
        return aiocoap.Message(payload=b"helloworld", content_format=42)


class Downlink(Resource):
    def __init__(self, code=Code.CHANGED):
        super().__init__()
        self.code = code
        self.writes: asyncio.Queue = asyncio.Queue()

    async def render_put(self, request):
        await self.writes.put((request.payload, request.opt.content_format, request.mtype))
        return aiocoap.Message(code=self.code)


class Device:
    def __init__(self, write_code=Code.CHANGED):
        self.uplink = Uplink()
        self.downlink = Downlink(write_code)
        site = Site()
        site.add_resource(["19", "0", "0"], self.uplink)
        site.add_resource(["19", "1", "0"], self.downlink)
        self.site = site
        self.ctx: aiocoap.Context | None = None

    async def __aenter__(self):
        self.ctx = await aiocoap.Context.create_server_context(
            self.site, bind=("127.0.0.1", 0), transports=["simplesocketserver"])
        return self

    async def __aexit__(self, *exc):
        await self.ctx.shutdown()

    async def send(self, server, code, path, query=(), payload=b""):
        host, port = server.endpoints["ctwing_lwm2m"]
        msg = aiocoap.Message(code=code, uri=f"coap://{host}:{port}/{path}", payload=payload)
        for q in query:
            msg.opt.uri_query = msg.opt.uri_query + (q,)
        return await self.ctx.request(msg).response


async def register(dev, server, ep=IMEI, lt="86400", links=LINKS):
    query = [f"ep={ep}", f"lt={lt}", "b=U", "lwm2m=1.0"] if ep else [f"lt={lt}"]
    return await dev.send(server, Code.POST, "rd", query, links)
