"""CTWing part of ``bench ceiling``: uplinks/s straight into the embedded platform's own server
library next to the same count through an EC800E, in turns, ratio modem / direct with min-max.

* MQTT: a paho-mqtt client logs in as the guide's MQTT device (``bench.mqtt``'s client ID and
  feature string) and publishes ``MESSAGES`` QoS 1 to ``topic/data`` back to back (paho's own
  in-flight window), until the platform stored them all; vs ``bench.mqtt.run`` at QoS 1 (each
  ``AT+QMTPUBEX`` waits for its ``+QMTPUBEX`` result).
* LwM2M: an aiocoap device (``simplesocketserver`` on 127.0.0.1, like the tests' devices)
  registers as ``bench.lwm2m``'s IMEI (``POST /rd``, 19/0 and 19/1 announced), answers the
  platform's observe of 19/0/0 with an observable resource and then sends each uplink as a CON
  2.05 notification (aiocoap adds the token and the Observe option), the next one once the store
  kept the last; vs ``bench.lwm2m.run`` (each CON ``AT+QLWNOTIFY`` waits for its ``report_ack``).
  Registration and the observe are outside the timing on both sides.

The TCP access protocol's ceiling is ``bench.ceiling_tcp``.

Must not: bind or dial outside loopback, hand-encode CoAP or MQTT, or be imported by ``emulator``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from typing import Any, Callable

import aiocoap
from aiocoap import CON, Code
from aiocoap.resource import ObservableResource, Resource, Site

from bench import Row
from bench.ceiling_tcp import direct as tcp_direct
from bench.ceiling_tcp import through_modem as tcp_modem
from bench.lwm2m import HELLO, IMEI
from bench.lwm2m import run as lwm2m_modem
from bench.mqtt import CLIENT, PASSWORD
from bench.mqtt import run as mqtt_modem
from bench.rig import StoreCounter, emulator, paired_rows, poll

LINKS = b'</>;rt="oma.lwm2m",</1/0>,</3/0>,</19/0>,</19/1>'
# the device's own aiocoap log: it warns once that a server socket sends the Register
DEVICE_LOG = "bench.ceiling.lwm2m-device"


async def _mqtt_direct(messages: int) -> float:
    import paho.mqtt.client as mqtt
    async with emulator([], ["ctwing"]) as (emu, _hosts):
        store = emu.backends["ctwing"].store
        connected: queue.Queue = queue.Queue()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT)
        client.username_pw_set("device001", PASSWORD)
        client.on_connect = lambda c, u, flags, rc, props: connected.put(rc)
        client.connect("127.0.0.1", emu.endpoints["ctwing_mqtt"][1], keepalive=60)
        client.loop_start()
        try:
            await poll(lambda: not connected.empty(), "CONNACK", 10.0)
            if (rc := connected.get_nowait()) != 0:
                raise RuntimeError(f"CTWing MQTT CONNACK {rc}")
            stored = StoreCounter(store, CLIENT)
            t0 = time.perf_counter()
            for seq in range(messages):
                client.publish("topic/data", b'{"seq":%06d,"qos":1}' % seq, 1)
            await stored.reach(messages)
            return messages / (time.perf_counter() - t0)
        finally:
            client.disconnect()
            client.loop_stop()


class _Uplink(ObservableResource):
    """/19/0/0 of the device: the first GET answers "helloworld", later states are notifications."""

    def __init__(self) -> None:
        super().__init__()
        self.observed = asyncio.Event()

    async def add_observation(self, request: aiocoap.Message, serverobservation: Any) -> None:
        await super().add_observation(request, serverobservation)
        self.observed.set()

    async def render_get(self, request: aiocoap.Message) -> aiocoap.Message:
        return aiocoap.Message(payload=bytes.fromhex(HELLO), content_format=42)

    def notify(self, payload: bytes) -> None:
        self.updated_state(aiocoap.Message(mtype=CON, code=Code.CONTENT, payload=payload, content_format=42))


class _Downlink(Resource):
    async def render_put(self, request: aiocoap.Message) -> aiocoap.Message:
        return aiocoap.Message(code=Code.CHANGED)


async def _lwm2m_direct(notifies: int) -> float:
    async with emulator([], ["ctwing"]) as (emu, _hosts):
        backend = emu.backends["ctwing"]
        up = _Uplink()
        site = Site()
        site.add_resource(["19", "0", "0"], up)
        site.add_resource(["19", "1", "0"], _Downlink())
        logging.getLogger(DEVICE_LOG).setLevel(logging.ERROR)
        ctx = await aiocoap.Context.create_server_context(site, bind=("127.0.0.1", 0), loggername=DEVICE_LOG,
                                                          transports=["simplesocketserver"])
        try:
            host, port = emu.endpoints["ctwing_lwm2m"]
            reg = aiocoap.Message(code=Code.POST, uri=f"coap://{host}:{port}/rd", payload=LINKS)
            reg.opt.uri_query = (f"ep={IMEI}", "lt=86400", "b=U", "lwm2m=1.0")
            if (resp := await asyncio.wait_for(ctx.request(reg).response, 10.0)).code != Code.CREATED:
                raise RuntimeError(f"LwM2M register: {resp.code}")
            await asyncio.wait_for(up.observed.wait(), 10.0)
            device_id = backend.registry.device_by_imei(IMEI).device_id
            stored = StoreCounter(backend.store, device_id)
            up.notify(b"warm-up")  # outside the timing: the platform's observation is running
            await stored.reach(1)
            t0 = time.perf_counter()
            for seq in range(notifies):
                up.notify(b"%010d" % seq)
                await stored.reach(seq + 2)
            return notifies / (time.perf_counter() - t0)
        finally:
            await ctx.shutdown()


def _turns(repeats: int, direct: Callable[[], float], modem: Callable[[], float]) -> tuple[list[float], list[float]]:
    d, m = [], []
    for _ in range(repeats):
        d.append(direct())
        m.append(modem())
    return d, m


def _mqtt_modem_rate(messages: int) -> float:
    out = mqtt_modem(messages, (1,))[1]
    if out["stored"] != messages:
        raise RuntimeError(f"mqtt qos 1: platform kept {out['stored']} of {messages}")
    return out["per_s"]


def _lwm2m_modem_rate(notifies: int) -> float:
    out = lwm2m_modem(notifies)
    if out["stored"] != notifies:
        raise RuntimeError(f"lwm2m: platform kept {out['stored']} of {notifies}")
    return out["per_s"]


def rows(messages: int, repeats: int) -> list[Row]:
    """The CTWing rows of ``bench ceiling``: MQTT, LwM2M and TCP, each direct vs modem."""
    out: list[Row] = []
    d, m = _turns(repeats, lambda: asyncio.run(_mqtt_direct(messages)), lambda: _mqtt_modem_rate(messages))
    out += paired_rows("ceiling", "CTWing MQTT", "paho -> embedded amqtt (CTWing MQTT), QoS 1, stored", d,
                       "EC800E AT+QMTPUBEX QoS 1 -> the same broker, stored", m)
    d, m = _turns(repeats, lambda: asyncio.run(_lwm2m_direct(messages)), lambda: _lwm2m_modem_rate(messages))
    out += paired_rows("ceiling", "CTWing LwM2M", "aiocoap device -> CTWing LwM2M server, CON notify, stored", d,
                       "EC800E CON AT+QLWNOTIFY -> the same server, report_ack", m)
    d, m = _turns(repeats, lambda: asyncio.run(tcp_direct(messages)), lambda: asyncio.run(tcp_modem(messages)))
    out += paired_rows("ceiling", "CTWing TCP", "asyncio client -> CTWing TCP server (tcp_codec), stored", d,
                       "EC800E AT+QISEND uplink frames -> the same server, stored", m)
    return out
