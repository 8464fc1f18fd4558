"""CTWing MQTT access server (mqtt.ctwing.cn:1883): an in-process amqtt 0.12 broker on loopback.

CTWing rules (guide 001 §4.2.2-4.2.3, docs/guides.md): client ID = device ID of a device of an
MQTT product, user name free, password = the device's feature string (一机一密) or the product's
(一型一密). A wrong password gets CONNACK 4 (bad user name or password), a client ID that is no
device of an MQTT product CONNACK 5 (not authorized), as MQTT 3.1.1 §3.2.2.3 defines them
(amqtt alone answers 5 to both: the codes are sent by ``../mqtt_gate.py``, which also owns the
sockets, closes misbehaving connections and runs keepalive on the virtual clock). Every PUBLISH
from a device is stored (protocol "mqtt", topic kept; for thing-model products the topic is the
service identifier). Devices do not hear each other: the platform is not a pub/sub hub, so the
topic plugin refuses broker fan-out (RECEIVE). Downlink commands are published only to their
device, on ``device_control`` (the topic a passthrough device subscribes, guide 001 §4.2, docs/guides.md),
once the device is connected and subscribed, one at a time in the order the shared command
model (``models.py``) gives; the PUBACK (QoS 1) or the write (QoS 0) settles each. A second
connection with a connected device's client ID takes over: the old one is closed first
(MQTT-3.1.4-2, ``../mqtt_takeover.py``), so downlinks follow the new connection. Optionally a
second listener speaks MQTT over TLS (the product page's 8883) with a self-signed certificate.

amqtt 0.12 loads plugins from the ``plugins:`` mapping of dotted class paths (``mqtt_plugins.py``);
each plugin finds its server through ``server_id`` in its Config (the module-level ``_SERVERS``
table here, since amqtt builds plugins from plain config values). Start-up: ``bind()`` makes the
listening sockets, ``attach()`` imports amqtt (and cryptography, for the certificate) in a worker
thread and serves them (``../prebind.py``); ``start()`` does both. Nothing here imports amqtt
before ``attach()``.

Must not: keep platform data of its own, bind anything but 127.0.0.1, or use wall-clock timers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..mqtt_takeover import ConnectionTracker
from ..prebind import endpoint, import_in_thread, listen_tcp, off_loop
from .registry import Registry
from .store import Command, Store

if TYPE_CHECKING:  # pragma: no cover
    from amqtt.broker import Broker

    from ..mqtt_gate import ConnectInfo, MqttGate

log = logging.getLogger(__name__)
BAD_CREDENTIALS, NOT_AUTHORIZED = 4, 5  # CONNACK return codes (MQTT 3.1.1 §3.2.2.3; mqtt_gate.py)

DOWNLINK_TOPIC = "device_control"
_SERVERS: dict[str, "CtwingMqttServer"] = {}
_ids = itertools.count(1)


class CtwingMqttServer:
    def __init__(self, registry: Registry, store: Store, clock: Any = None) -> None:
        self.registry, self.store = registry, store
        self.clock = clock if clock is not None else store.clock  # the gates' timers run on it
        self.server_id = f"ctwing-{next(_ids)}"
        self.broker: Broker | None = None
        self._connections = ConnectionTracker("ctwing mqtt")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._delivering: set[str] = set()
        self.tls_cert: Path | None = None
        self.tls_endpoint: tuple[str, int] | None = None
        self._gates: list[MqttGate] = []
        self._socks: dict[str, socket.socket] = {}
        self._host = "127.0.0.1"
        store.on_command_queued(self._command_queued)

    def authorize(self, info: "ConnectInfo") -> int:
        """The CONNACK code for a CONNECT (``MqttGate``): 0, 4 wrong feature string, 5 unknown."""
        verdict = self.registry.check_feature_string(info.client_id, info.password, "mqtt")
        if verdict == "ok":
            self.store.publish("login", platform="ctwing", device=info.client_id, protocol="mqtt")
            return 0
        log.info("ctwing mqtt: refused client %r (%s)", info.client_id,
                 "not registered" if verdict == "unknown" else "bad feature string")
        self.store.publish("login_refused", platform="ctwing", device=info.client_id, protocol="mqtt",
                           reason="not registered" if verdict == "unknown" else "bad feature string")
        return NOT_AUTHORIZED if verdict == "unknown" else BAD_CREDENTIALS

    async def start(self, host: str = "127.0.0.1", port: int = 0,
                    tls_port: int | None = None) -> tuple[str, int]:
        """Plain listener on ``port``; with ``tls_port`` also MQTT over TLS (self-signed cert,
        ``self.tls_cert`` is its PEM, ``self.tls_endpoint`` the address)."""
        bound = self.bind(host, port, tls_port)
        try:
            await self.attach()
        except BaseException:
            await self.stop()
            raise
        return bound

    def bind(self, host: str = "127.0.0.1", port: int = 0, tls_port: int | None = None) -> tuple[str, int]:
        """The listening sockets (plain, and TLS with ``tls_port``), served once ``attach()`` ran."""
        self._host = host
        self._socks = {"default": listen_tcp(host, port)}
        if tls_port is not None:
            try:
                self._socks["tls"] = listen_tcp(host, tls_port)
            except BaseException:
                self._socks.pop("default").close()
                raise
            self.tls_endpoint = endpoint(self._socks["tls"])
        return endpoint(self._socks["default"])

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._socks.values())

    async def attach(self) -> None:
        """Import amqtt, start the broker and serve the sockets ``bind()`` made through the gates."""
        await import_in_thread("amqtt.broker", f"{__package__}.mqtt_plugins", f"{__package__}.tls")
        from amqtt.broker import Broker

        from ..mqtt_gate import MqttGate, server_ssl_context
        from .tls import make_self_signed
        self._loop = asyncio.get_running_loop()
        _SERVERS[self.server_id] = self
        cfg = {"server_id": self.server_id}
        host, plugins = self._host, f"{__package__}.mqtt_plugins"
        # amqtt serves sessions handed over by the gates (its listeners bind nothing)
        listeners: dict[str, Any] = {"default": {"type": "external", "bind": f"{host}:0"}}
        gates: list[tuple[str, Any]] = [("default", None)]
        if "tls" in self._socks:
            self.tls_cert, key = await off_loop(make_self_signed)  # off the loop
            listeners["tls"] = {"type": "external", "bind": f"{host}:0"}
            gates.append(("tls", server_ssl_context(str(self.tls_cert), str(key))))
        config = {
            "listeners": listeners,
            "plugins": {
                f"{plugins}.CtwingAuthPlugin": dict(cfg),
                f"{plugins}.CtwingTopicPlugin": dict(cfg),
                f"{plugins}.CtwingEventPlugin": dict(cfg),
            },
        }
        self.broker = Broker(config, plugin_namespace=f"emulator.ctwing.{self.server_id}")
        await self.broker.start()
        for name, context in gates:
            gate = MqttGate(lambda: self.broker, name, self.clock, "ctwing mqtt", authorize=self.authorize,
                            ssl_context=context)
            self._gates.append(gate)
            await gate.start(host, 0, self._socks[name])

    async def stop(self) -> None:
        for gate in self._gates:
            await gate.stop()
        self._gates.clear()
        if self.broker is not None:
            await self.broker.shutdown()
            self.broker = None
        for device_id in self._connections.connected_ids():
            self._set_online(device_id, False)
        self._connections.clear()
        _SERVERS.pop(self.server_id, None)
        for sock in self._socks.values():  # those no gate took over (a stop before attach())
            sock.close()
        self._socks.clear()
        if self.tls_cert is not None:
            shutil.rmtree(self.tls_cert.parent, ignore_errors=True)
            self.tls_cert = None
        self.tls_endpoint = None

    # --- broker events -------------------------------------------------------------------
    def _is_device(self, client_id: str) -> bool:
        device = self.registry.device_by_id(client_id)
        return device is not None and self.registry.product_of(device).protocol == "mqtt"

    def _set_online(self, device_id: str, online: bool) -> None:
        if self._is_device(device_id):
            self.store.set_online(device_id, online)

    def client_connected(self, client_id: str) -> None:
        # counted, so a take-over (same client ID reconnecting) never leaves the device offline
        self._connections.connected(client_id, self.broker)
        self._set_online(client_id, True)
        self.kick(client_id)

    def client_disconnected(self, client_id: str) -> None:
        if self._connections.disconnected(client_id) == 0:
            self._set_online(client_id, False)

    async def take_over(self, client_id: str) -> None:
        """A new connection authenticated as ``client_id``: close the one it replaces first
        (MQTT-3.1.4-2; ``ConnectionTracker.take_over``)."""
        await self._connections.take_over(client_id)

    def uplink(self, client_id: str, payload: bytes, topic: str) -> None:
        if self._is_device(client_id):
            self.store.record_uplink(client_id, payload, "mqtt", topic=topic)

    # --- downlink ------------------------------------------------------------------------
    def _command_queued(self, cmd: Command) -> None:
        if self._loop is None or self._connections.count(cmd.device_id) == 0:
            return
        self._loop.call_soon_threadsafe(self.kick, cmd.device_id, "queued")

    def kick(self, device_id: str, trigger: str = "contact") -> None:
        """Start delivering this device's queued commands when the command model says so
        (``models.py``: reachable = connected here) and no delivery runs for it already."""
        if device_id in self._delivering or self._loop is None:
            return
        if not self.store.commands_model.should_deliver(device_id, trigger,
                                                        self._connections.count(device_id) > 0):
            return
        self._delivering.add(device_id)
        self._loop.create_task(self._deliver(device_id))

    def _subscribed_qos(self, device_id: str) -> int | None:
        if self.broker is None:
            return None
        for topic_filter, subs in self.broker.subscriptions.items():
            if self.broker._matches(DOWNLINK_TOPIC, topic_filter):  # noqa: SLF001
                for session, qos in subs:
                    if session.client_id == device_id:
                        return min(int(qos), 1)
        return None

    @staticmethod
    async def _handler_ready(handler: Any) -> bool:
        """Wait until amqtt's handler.start() has run its redelivery pass (it runs after the
        CLIENT_CONNECTED event; a PUBLISH sent earlier would be resent and its PUBACK lost)."""
        for _ in range(400):  # ~2 s of socket-readiness polling, not a protocol timer
            ready = getattr(handler, "_reader_ready", None)
            if ready is not None and ready.is_set() and (
                    handler.keepalive_timeout is None or getattr(handler, "_keepalive_task", None) is not None):
                for _ in range(3):
                    await asyncio.sleep(0)
                return True
            await asyncio.sleep(0.005)
        return False

    async def _deliver(self, device_id: str) -> None:
        model = self.store.commands_model
        try:
            while self.broker is not None:
                entry = self.broker.sessions.get(device_id)
                qos = self._subscribed_qos(device_id)
                if entry is None or qos is None or entry[0].transitions.state != "connected":
                    return
                if model.next_queued(device_id) is None or not await self._handler_ready(entry[1]):
                    return
                if self.broker.sessions.get(device_id) is not entry:
                    continue
                cmd = model.take_next(device_id)
                if cmd is None:
                    return
                try:
                    await entry[1].mqtt_publish(DOWNLINK_TOPIC, cmd.payload, qos, retain=False)
                except Exception as exc:  # noqa: BLE001 - the command records why
                    model.settle(cmd.id, False, f"publish failed: {exc}")
                    return
                model.settle(cmd.id, True)
        finally:
            self._delivering.discard(device_id)
