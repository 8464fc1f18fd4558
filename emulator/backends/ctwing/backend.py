"""Wiring of the embedded CTWing (AEP) platform: registry + store + access servers + API + DNS.

``CtwingBackend`` owns one :class:`Registry` and one :class:`Store` shared by every access
protocol; it starts the MQTT and TCP servers itself and any ``extra_servers`` (the LwM2M server
is plugged in this way: objects with ``async start(backend) -> {key: endpoint}`` and
``async stop()``), then registers the host names and public IPs the guide dials
(guide 001 §4 access table, §4.2.3, §4.3.3; docs/guides.md) on the fake internet.

When the LwM2M component (``emulator.backends.lwm2m.server``) is installed, a
:class:`~.lwm2m_link.CtwingLwm2mPlugin` is added to ``extra_servers`` automatically (config
``lwm2m: false`` turns it off, ``lwm2m_options: {...}`` go to ``Lwm2mServer``); the endpoint keys
``ctwing_lwm2m`` / ``ctwing_lwm2m_dtls`` any extra server returns get the guide's LwM2M names
and addresses routed to them. Config: ``products``/``devices`` (registry overrides),
``defaults: false`` (empty registry), ``mqtt_tls: false`` (no 8883 listener),
``command_response_timeout`` (seconds a sent command may wait for the device's answer),
``ports: {ctwing_mqtt, ctwing_mqtts, ctwing_tcp, ctwing_lwm2m, ctwing_lwm2m_dtls}``.

Must not: implement protocol logic (servers do) or keep data outside the store.
"""

from __future__ import annotations

import base64
import binascii
import asyncio
import importlib.util
from typing import Any, Callable, Mapping

from ..base import LOOPBACK, Backend, BackendContext, Endpoint, ScenarioAction
from .actions import command_payload, queue_command, resolve_devices
from ..prebind import BringUp
from .lwm2m_link import CtwingLwm2mPlugin
from .mqtt_broker import CtwingMqttServer
from .registry import Registry
from .store import RESPONSE_TIMEOUT, Command, Store
from .tcp_server import CtwingTcpServer

MQTT_IP = "180.106.148.146"  # mqtt.ctwing.cn / dmp-tcp.cuiot.cn (guide 001 §4 access table)
# Assumed: the tenant host 2000033383.non-nb.ctwing.cn (guide 001 §4.2.1) resolves to the same
# address as mqtt.ctwing.cn; the guide never shows its address.
MQTT_NAMES = ("mqtt.ctwing.cn", "2000033383.non-nb.ctwing.cn")
TCP_NAMES = {"tcp.ctwing.cn": 8996, "dmp-tcp.cuiot.cn": 8843}  # guide 001 §4.3.3 / §4 table
TCP_IP_PORTS = (8843, 8996)
# LwM2M (guide 001 §4 table, §4.1.3, §7): lwm2m.ctwing.cn = 221.229.214.202 (5683 plain, 5684 DTLS),
# dmp-coap.cuiot.cn = 153.35.119.75:5683, the IPv6 address of §7, and the tenant DTLS host
# 2000033383.nb.ctwing.cn:5684 (§4.1.3.2), ASSUMED to resolve to 221.229.214.202.
LWM2M_IP, LWM2M_IP6, COAP_IP = "221.229.214.202", "240e:980:8120:28:84f4:c0c2:4a95:85f9", "153.35.119.75"
LWM2M_ROUTES = {
    "ctwing_lwm2m": [("lwm2m.ctwing.cn", 5683), (LWM2M_IP, 5683), (LWM2M_IP6, 5683),
                     ("dmp-coap.cuiot.cn", 5683), (COAP_IP, 5683)],
    "ctwing_lwm2m_dtls": [("lwm2m.ctwing.cn", 5684), (LWM2M_IP, 5684), (LWM2M_IP6, 5684),
                          ("2000033383.nb.ctwing.cn", 5684)],
}


def lwm2m_component_available() -> bool:
    try:
        return importlib.util.find_spec("emulator.backends.lwm2m.server") is not None
    except ImportError:
        return False
EVENTS_KEPT = 200  # security events kept for the console


class CtwingBackend(Backend):
    name = "ctwing"

    def __init__(self, config: Mapping[str, Any] | None, ctx: BackendContext) -> None:
        super().__init__(config, ctx)
        self.registry = Registry.from_config(self.config)
        self.store = Store(ctx.clock, self.registry,
                           float(self.config.get("command_response_timeout", RESPONSE_TIMEOUT)))
        self.store.publish = publish = ctx.publish  # live events (observe/bus.py)
        self.store.on_uplink(lambda dev, rec: publish("uplink", platform="ctwing", device=dev, **rec))
        self.store.on_online_changed(lambda dev, on: publish("online", platform="ctwing", device=dev, online=on))
        self.store.on_command_queued(self.store._status)
        self.store.on_command_expired(self.store._status)
        self.mqtt = CtwingMqttServer(self.registry, self.store, ctx.clock)
        self.tcp = CtwingTcpServer(self.registry, self.store, ctx.clock)
        self.extra_servers: list[Any] = []
        if self.config.get("lwm2m", True) and lwm2m_component_available():
            self.extra_servers.append(CtwingLwm2mPlugin(**dict(self.config.get("lwm2m_options", {}))))
        self._started_extras: list[Any] = []
        self.bringup = BringUp()
        self.endpoints: dict[str, Endpoint] = {}
        # security events of the platform's servers (failed DTLS handshakes), newest last, for
        # GET /api/ctwing/events: read ``events`` or add a callable to ``event_listeners``; each
        # also goes to the live event bus as a ``login_refused`` (``record_event``)
        self.events: list[dict[str, Any]] = []
        self.event_listeners: list[Callable[[dict[str, Any]], None]] = []

    def record_event(self, event: dict[str, Any]) -> None:
        self.events.append(dict(event))
        del self.events[:-EVENTS_KEPT]
        if event.get("type") == "dtls_handshake_failed":  # on the live stream: a refused login
            self.store.publish("login_refused", platform="ctwing", device=event.get("identity"),
                               protocol="lwm2m-dtls", reason=event.get("reason"), alert=event.get("alert"),
                               peer=event.get("peer"))
        for listener in list(self.event_listeners):
            listener(dict(event))

    async def start(self) -> dict[str, Endpoint]:
        """Every listener is bound (the TCP server serves at once); amqtt and the LwM2M server
        attach now, or with ``attach_later`` right after (``../prebind.py``). A failure stops
        what was started."""
        try:
            tls_port = self.port_for("ctwing_mqtts", 38883) if self.config.get("mqtt_tls", True) else None
            mqtt = self.mqtt.bind(LOOPBACK, self.port_for("ctwing_mqtt", 31883), tls_port)
            tcp = await self.tcp.start(LOOPBACK, self.port_for("ctwing_tcp", 28996))
            self.endpoints = {"ctwing_mqtt": mqtt, "ctwing_tcp": tcp}
            if self.mqtt.tls_endpoint is not None:
                self.endpoints["ctwing_mqtts"] = self.mqtt.tls_endpoint
            for server in self.extra_servers:
                self._started_extras.append(server)
                self.endpoints.update(await server.start(self))
            await self.bringup.start("CTWing MQTT server", self.mqtt.attach, self.mqtt.sockets,
                                     cleanup=self.mqtt.stop, later=self.ctx.attach_later)
        except BaseException:
            await self.stop()
            raise
        self._register_routes(mqtt, tcp)
        return dict(self.endpoints)

    async def ready(self) -> None:
        """Every server attached (the LwM2M plugin's too)."""
        await self.bringup.wait()
        for server in self._started_extras:
            if hasattr(server, "ready"):
                await server.ready()

    def _register_lwm2m_routes(self) -> None:
        if not any(key in self.endpoints for key in LWM2M_ROUTES):
            return
        net = self.ctx.internet
        net.add_name("lwm2m.ctwing.cn", LWM2M_IP, LWM2M_IP6)
        net.add_name("dmp-coap.cuiot.cn", COAP_IP)
        net.add_name("2000033383.nb.ctwing.cn", LWM2M_IP)
        for key, targets in LWM2M_ROUTES.items():
            if key in self.endpoints:
                for host, port in targets:
                    net.add_route(host, port, self.endpoints[key], key.replace("_", " "))

    def _register_routes(self, mqtt: Endpoint, tcp: Endpoint) -> None:
        net = self.ctx.internet
        mqtts = self.endpoints.get("ctwing_mqtts")
        for host in (*MQTT_NAMES, MQTT_IP):
            if host != MQTT_IP:
                net.add_name(host, MQTT_IP)
            net.add_route(host, 1883, mqtt, "ctwing mqtt")
            if mqtts is not None:  # TLS:2000033383.non-nb.ctwing.cn:8883 (guide 001 §4.2.1)
                net.add_route(host, 8883, mqtts, "ctwing mqtts")
        for name, port in TCP_NAMES.items():
            net.add_name(name, MQTT_IP)
            net.add_route(name, port, tcp, "ctwing tcp")
        for port in TCP_IP_PORTS:
            net.add_route(MQTT_IP, port, tcp, "ctwing tcp")
        self._register_lwm2m_routes()

    async def stop(self) -> None:
        await self.bringup.cancel()
        for server in reversed(self._started_extras):
            await server.stop()
        self._started_extras.clear()
        await self.tcp.stop()
        await self.mqtt.stop()
        self.bringup.close_sockets()

    def reset(self) -> None:
        self.store.reset()

    def api_router(self) -> Any:
        from .api import make_router  # fastapi: imported when the console API mounts it, not at start
        return make_router(self.registry, self.store, self.events)

    # --- platform operations (API and scenarios: actions.py, written once) -----------------
    def queue_command(self, ident: str, body: Mapping[str, Any], product: str | None = None) -> Command:
        """Queue a downlink for the device ``ident`` means (device ID, else IMEI, best first;
        ``product`` narrows an IMEI): the function ``POST /api/ctwing/devices/{id}/commands``
        runs too. UnknownDeviceError, BadCommandBody (shape) or ValueError (values)."""
        return queue_command(self.registry, self.store, ident, body, product)

    # --- scenario actions ----------------------------------------------------------------
    def _device(self, args: Mapping[str, Any]):  # noqa: ANN202
        return self._devices(args)[0]

    def _devices(self, args: Mapping[str, Any]) -> list[Any]:
        """The device(s) an action means: ``device`` (device ID or LwM2M IMEI) within
        ``product`` if given, by the console API's rule (``actions.resolve_devices``)."""
        if "device" not in args:
            raise ValueError("ctwing action needs 'device' (device ID or LwM2M IMEI)")
        return resolve_devices(self.registry, str(args["device"]), args.get("product"))

    def _queue_command(self, args: Mapping[str, Any]) -> int:
        if "device" not in args:
            raise ValueError("ctwing action needs 'device' (device ID or LwM2M IMEI)")
        return self.queue_command(str(args["device"]), args, args.get("product")).id

    @staticmethod
    def _eventually(check: Callable[[], Any], args: Mapping[str, Any]) -> Any:
        """``check()`` now; if it fails, a coroutine retrying it for ``wait`` wall seconds
        (default 2): the message may still be in flight on loopback (amqtt reports a PUBLISH
        from its own task). Not a protocol timer; ``wait: 0`` fails at once."""
        try:
            return check()
        except AssertionError:
            wait = float(args.get("wait", 2.0))
            if wait <= 0:
                raise

        async def retry() -> Any:
            deadline = asyncio.get_running_loop().time() + wait
            while True:
                await asyncio.sleep(0.01)
                try:
                    return check()
                except AssertionError:
                    if asyncio.get_running_loop().time() >= deadline:
                        raise
        return retry()

    def _expect_uplink(self, args: Mapping[str, Any]) -> Any:
        if args.get("absent"):  # the opposite: nothing like it was stored (bad input stores nothing)
            try:
                record = self._find_uplink(args)
            except AssertionError:
                return None
            raise AssertionError(f"ctwing: uplink stored although it should not be: {record}")
        return self._eventually(lambda: self._find_uplink(args), args)

    def _find_uplink(self, args: Mapping[str, Any]) -> dict[str, Any]:
        devices = self._devices(args)
        device = devices[0]
        if args.get("base64") is not None:
            try:
                want = base64.b64decode(str(args["base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(f"base64 {args['base64']!r} is not valid base64") from None
        else:
            want = command_payload(dict(args))
        for candidate in devices:
            for record, payload in zip(self.store.data(candidate.device_id),
                                       self.store.payloads(candidate.device_id)):
                if payload == want:
                    return record
        stored = self.store.payloads(device.device_id)
        shown = ", ".join(repr(p) for p in stored[-5:]) or "nothing"
        raise AssertionError(f"ctwing: no uplink {want!r} stored for device {device.device_id}; "
                             f"latest stored: {shown}")

    def _command_status(self, args: Mapping[str, Any]) -> Any:
        return self._eventually(lambda: self._check_command(args), args)

    def _check_command(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if "id" not in args:
            raise ValueError("ctwing.command_status needs 'id' (what queue_command returned)")
        try:
            cmd = self.store.command(int(args["id"]))
        except (KeyError, ValueError, TypeError):
            raise ValueError(f"ctwing: no command {args['id']!r}") from None
        want = args.get("status")
        if want is not None and cmd.status != str(want):
            raise AssertionError(f"ctwing: command {cmd.id} is {cmd.status}"
                                 f"{' (' + cmd.reason + ')' if cmd.reason else ''}, expected {want}")
        return cmd.to_dict()

    def _device_online(self, args: Mapping[str, Any]) -> Any:
        return self._eventually(lambda: self._check_online(args), args)

    def _check_online(self, args: Mapping[str, Any]) -> bool:
        device = self._device(args)
        want = bool(args.get("online", True))
        if device.online != want:
            raise AssertionError(f"ctwing: device {device.device_id} is "
                                 f"{'online' if device.online else 'offline'}, expected "
                                 f"{'online' if want else 'offline'}")
        return device.online

    def scenario_actions(self) -> list[ScenarioAction]:
        return [
            ScenarioAction("queue_command", self._queue_command,
                           "{device, product?, payload|payload_hex, ttl?} -> command id; queue a downlink"),
            ScenarioAction("expect_uplink", self._expect_uplink,
                           "{device, product?, payload|payload_hex|base64, wait?, absent?}: assert the platform stored it (absent: did not)"),
            ScenarioAction("command_status", self._command_status,
                           "{id, status?, wait?}: the command's record; asserts its status when given"),
            ScenarioAction("device_online", self._device_online,
                           "{device, online: bool, wait?}: assert the device's online state"),
        ]
