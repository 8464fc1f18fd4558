"""The ThingPlug MQTT broker: an in-process amqtt 0.12 broker on 127.0.0.1, plain and TLS.

All amqtt specifics live here (the model in ``models.py`` knows nothing of amqtt):

* config: listeners ``default`` (plain, SKT ThingPlug 2.0 SDKs SKT-ThingPlug2/device-sdk-linux, device-sdk-javame test broker port 1883) and ``mqtts`` (TLS,
  8883) are amqtt ``external`` listeners (they bind nothing; the gates below listen on
  127.0.0.1); ``plugins:`` is a mapping of class paths whose nested ``Config`` dataclass amqtt fills
  with dacite (0.11+), which is how the plugins get the model object; giving the mapping also
  drops amqtt's default logging/$SYS plugins.
* sockets: ``../mqtt_gate.py`` listens (plain and TLS) and hands each checked connection to
  amqtt's ``external`` listeners; it closes a connection whose first packet is not CONNECT, a
  CONNECT with a password but no user name, one that never sends CONNECT or goes silent past
  1.5 x keepalive (virtual clock), and answers a client id that is not UTF-8 with CONNACK 2.
* refused logins: the user name must be a device token; an unknown token (a missing user name
  included) gets CONNACK 4, bad user name or password (MQTT 3.1.1 §3.2.2.3), sent by the gate
  through :meth:`ThingPlugBroker.authorize` (amqtt alone can only answer 5); the client id is
  free on ThingPlug, so nothing here earns 5 (a token used for another device's ``/down`` is
  refused at SUBSCRIBE, below).
* ``_TokenAuthPlugin``: the same token rule inside amqtt (defence in depth). An accepted
  CONNECT whose client ID is already connected takes over: the old connection is closed first
  (MQTT-3.1.4-2, ``../mqtt_takeover.py``; ``_IngestPlugin`` reports connects and disconnects to
  it), so the module sees its old link drop and RPCs on ``/down`` reach the new connection.
* ``_TopicAclPlugin``: PUBLISH outside the token's own topics is not forwarded; SUBSCRIBE outside
  its service, or to another device's ``/down`` by name, gets SUBACK 0x80. amqtt's topic filter
  sees no payload, so a well-addressed but malformed payload (not matching the descriptor, too
  big, bad JSON) is stopped in ``_Broker._broadcast_message`` (amqtt's private fan-out, the one
  place that sees session, topic and payload): applications on the broker only see what the
  platform accepts, as the store does. The sender still gets its PUBACK (MQTT 3.1.1 has no way
  to refuse a QoS 1 PUBLISH); the reason is listed under ``.../errors``.
* ``_IngestPlugin``: ``on_broker_message_received`` sees every client PUBLISH (before the ACL) and
  hands it to ``model.publish``; the device's own SUBSCRIBE to its ``/down`` (its token, a filter
  naming the device) flushes queued RPCs; an application's service-wide wildcard does not.
  amqtt runs these hooks as fire-and-forget tasks, so the store is updated shortly *after* the
  PUBLISH was read: observers must poll.
* TLS: a throw-away CA and server certificate (``tls.py``) made at start (in a worker thread) in
  a temporary directory removed at stop; ``ca_file`` is the CA's PEM for clients.
* the bound ports are the gates' (port 0 = ephemeral), or listening sockets bound before
  (``start(sockets=...)``, ``../prebind.py``).
* known amqtt 0.12 behaviour left as it is: a client reconnecting before its old session is torn
  down waits 1 s (wall). (A refused CONNECT no longer reaches amqtt, so it cannot drop the old
  session of the same client id any more.)

Must not: bind anything but 127.0.0.1, or decide platform rules (that is ``models.py``).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin

from ..mqtt_gate import BAD_CREDENTIALS, ConnectInfo, MqttGate, server_ssl_context
from ..mqtt_takeover import ConnectionTracker
from ..prebind import off_loop
from .models import ThingPlugModel
from .protocol import down_topic
from .registry import NotFoundError
from .tls import make_certificates

log = logging.getLogger(__name__)


class _TokenAuthPlugin(BaseAuthPlugin):
    @dataclass
    class Config:
        owner: Any = None  # the ThingPlugBroker

    async def authenticate(self, *, session: Any) -> bool:
        owner: ThingPlugBroker = self.config.owner
        ok = owner.model.authenticate(session.username) is not None
        if not ok:
            log.info("ThingPlug: CONNECT from client %r refused: user name is not a device token", session.client_id)
            return False
        await owner.connections.take_over(session.client_id)
        return True


class _TopicAclPlugin(BaseTopicPlugin):
    @dataclass
    class Config:
        owner: Any = None

    async def topic_filtering(self, *, session: Any = None, topic: str | None = None, action: Any = None) -> bool:
        model: ThingPlugModel = self.config.owner.model
        token = getattr(session, "username", None)
        if action == Action.PUBLISH:
            return model.may_publish(token, topic or "")
        if action == Action.SUBSCRIBE:
            refusal = model.subscription_refusal(token, topic or "")
            device = model.authenticate(token)
            if refusal is not None and device is not None:
                model.store.add_error(device.service, device.name, model.now(),
                                      f"subscription to {topic!r} refused ({refusal})", topic or "")
            return refusal is None
        return True  # RECEIVE: whatever a client subscribed to may be delivered


class _IngestPlugin(BasePlugin):
    @dataclass
    class Config:
        owner: Any = None

    def _token(self, client_id: str | None) -> str | None:
        session = self.context.get_session(client_id) if client_id else None
        return getattr(session, "username", None)

    async def on_broker_message_received(self, *, client_id: str | None = None, message: Any = None) -> None:
        if message is None or not message.topic:
            return
        owner: ThingPlugBroker = self.config.owner
        try:
            outcome = owner.model.publish(self._token(client_id), message.topic, bytes(message.data or b""))
        except Exception:  # amqtt would swallow it silently (fire-and-forget task)
            log.exception("ThingPlug: PUBLISH from %r on %r crashed the platform model", client_id, message.topic)
            return
        if not outcome.accepted:
            log.info("ThingPlug: PUBLISH from %r on %r rejected: %s", client_id, message.topic, outcome.reason)

    async def on_broker_client_connected(self, *, client_id: str | None = None, client_session: Any = None) -> None:
        owner: ThingPlugBroker = self.config.owner
        if client_id:
            owner.connections.connected(client_id, owner._broker)

    async def on_broker_client_disconnected(self, *, client_id: str | None = None, client_session: Any = None) -> None:
        if client_id:
            self.config.owner.connections.disconnected(client_id)

    async def on_broker_client_subscribed(self, *, client_id: str | None = None, topic: str = "", qos: int = 0) -> None:
        owner: ThingPlugBroker = self.config.owner
        device = owner.model.authenticate(self._token(client_id))
        if device is None or not owner.is_device_filter(topic, device.service, device.name):
            return  # only the device's own subscription (not an application's wildcard) flushes
        for downlink in owner.model.queued_rpcs(device.service, device.name):
            await owner.publish(downlink.topic, downlink.payload)
            owner.model.rpc_delivered(downlink.rpc.id)


class _Broker(Broker):
    """amqtt's Broker with the platform's payload check on client PUBLISHes (see module doc)."""

    def __init__(self, config: Any, owner: "ThingPlugBroker") -> None:
        super().__init__(config)
        self._owner = owner

    def _refused(self, session: Any, topic: str | None, data: Any) -> bool:
        if session is None or topic is None:  # None: the platform's own publish
            return False
        refusal = self._owner.model.relay_refusal(getattr(session, "username", None), topic, bytes(data or b""))
        if refusal is not None:
            log.info("ThingPlug: PUBLISH on %r not relayed: %s", topic, refusal)
        return refusal is not None

    async def _broadcast_message(self, session: Any, topic: str | None, data: Any, force_qos: int | None = None) -> None:
        if not self._refused(session, topic, data):
            await super()._broadcast_message(session, topic, data, force_qos)

    async def retain_message(self, source_session: Any, topic_name: str | None, data: Any, qos: int | None = None) -> None:
        if not self._refused(source_session, topic_name, data):  # a rejected retained PUBLISH is not kept either
            await super().retain_message(source_session, topic_name, data, qos)


class ThingPlugBroker:
    """Owns the amqtt Broker; ``start()`` -> ``{"thingplug_mqtt": (ip, port), "thingplug_mqtts": ...}``."""

    def __init__(self, model: ThingPlugModel, mqtt_port: int = 0, mqtts_port: int = 0, host: str = "127.0.0.1",
                 clock: Any = None) -> None:
        self.model = model
        self.clock = clock  # the gates' connect / keepalive timers (VirtualClock)
        self._gates: list[MqttGate] = []
        self.host, self.mqtt_port, self.mqtts_port = host, mqtt_port, mqtts_port
        self.ca_file: str | None = None
        self._broker: Broker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tmp: Path | None = None
        self.connections = ConnectionTracker("ThingPlug")

    async def start(self, sockets: dict[str, socket.socket] | None = None) -> dict[str, tuple[str, int]]:
        """``sockets``: listening sockets for ``default`` / ``mqtts`` bound before (else the ports)."""
        amqtt_log = logging.getLogger("amqtt")
        if amqtt_log.level == logging.NOTSET:  # amqtt is chatty at INFO/WARNING about routine things
            amqtt_log.setLevel(logging.ERROR)
        self._tmp = Path(tempfile.mkdtemp(prefix="modemu-thingplug-"))
        try:  # key generation and PEM writing off the loop: the modems keep answering meanwhile
            ca_file, cert_file, key_file = await off_loop(make_certificates, self._tmp)
        except BaseException:
            self._cleanup_files()
            raise
        self.ca_file = str(ca_file)
        me = {"owner": self}
        config = {
            "listeners": {  # amqtt serves sessions the gates hand over; they bind nothing
                "default": {"type": "external", "bind": f"{self.host}:0"},
                "mqtts": {"type": "external", "bind": f"{self.host}:0"},
            },
            "plugins": {
                f"{__name__}._TokenAuthPlugin": me,
                f"{__name__}._TopicAclPlugin": me,
                f"{__name__}._IngestPlugin": me,
            },
        }
        self._loop = asyncio.get_running_loop()
        self._broker = _Broker(config, self)
        try:
            await self._broker.start()
        except Exception:
            self._cleanup_files()
            raise
        bound: dict[str, tuple[str, int]] = {}
        try:
            for name, context, port in (("default", None, self.mqtt_port),
                                        ("mqtts", server_ssl_context(str(cert_file), str(key_file)), self.mqtts_port)):
                gate = MqttGate(lambda: self._broker, name, self.clock, "ThingPlug", authorize=self.authorize,
                                ssl_context=context)
                self._gates.append(gate)
                bound[name] = await gate.start(self.host, port, (sockets or {}).get(name))
        except BaseException:
            await self.stop()
            raise
        return {"thingplug_mqtt": bound["default"], "thingplug_mqtts": bound["mqtts"]}

    def authorize(self, info: ConnectInfo) -> int:
        """The CONNACK code for a CONNECT (``MqttGate``): 0, or 4 when the user name is no token."""
        device = self.model.authenticate(info.username)
        if device is not None:
            self.model.events("login", platform="thingplug", device=f"{device.service}/{device.name}",
                               client_id=info.client_id)
            return 0
        log.info("ThingPlug: CONNECT from client %r refused: user name is not a device token", info.client_id)
        self.model.events("login_refused", platform="thingplug", device=None, client_id=info.client_id,
                           reason="user name is not a device token (CONNACK 4)")
        return BAD_CREDENTIALS

    async def stop(self) -> None:
        for gate in self._gates:
            await gate.stop()
        self._gates.clear()
        if self._broker is not None:
            broker, self._broker = self._broker, None
            await broker.shutdown()
        self.connections.clear()
        self._cleanup_files()

    def _cleanup_files(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def running(self) -> bool:
        return self._broker is not None

    async def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Publish as the platform (amqtt's internal broadcast; no client session involved).

        Safe to await from another thread's event loop (e.g. a console API served elsewhere): the
        broadcast is then handed to the broker's own loop, whose queues are not thread-safe.
        """
        if self._broker is None or self._loop is None:
            raise RuntimeError("ThingPlug broker is not running")
        coro = self._broker.internal_message_broadcast(topic, payload, qos)
        if asyncio.get_running_loop() is self._loop:
            await coro
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def kick(self, token: str) -> int:
        """Drop every connected client logged in with ``token`` (its device was deleted or given a
        new token): the broker closes the connection, the client sees it end. Returns how many."""
        if self._broker is None or self._loop is None:
            return 0
        broker = self._broker

        async def drop() -> int:
            hits = 0
            for session, handler in list(broker._sessions.values()):  # amqtt: no public accessor
                if session.username == token and session.transitions.is_connected() and handler is not None:
                    await handler.handle_connection_closed()  # the broker's client loop then closes it
                    hits += 1
            return hits
        if asyncio.get_running_loop() is self._loop:
            return await drop()
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(drop(), self._loop))

    def matches(self, topic: str, topic_filter: str) -> bool:
        return self._broker is not None and self._broker._matches(topic, topic_filter)

    def has_subscriber(self, topic: str, username: str | None = None) -> bool:
        """True if a connected client's subscription matches ``topic`` (only clients logged in
        as ``username`` count when it is given)."""
        if self._broker is None:
            return False
        for topic_filter, subscribers in self._broker.subscriptions.items():
            if self._broker._matches(topic, topic_filter) and any(
                    s.transitions.is_connected() and (username is None or s.username == username)
                    for s, _ in subscribers):
                return True
        return False

    def device_subscribed(self, service: str, device: str) -> bool:
        """The device itself listens on its /down: a connected client logged in with the device's
        token whose filter names this device (``v1/dev/<svc>/<dev>/down``, what the SDKs and
        modules subscribe, or ``v1/dev/<svc>/<dev>/#``). An application watching
        ``v1/dev/<svc>/#`` or ``.../+/down`` does not count, even with the device's token: an RPC
        marked delivered to it would never reach the device."""
        if self._broker is None:
            return False
        try:
            token = self.model.registry.get_device(service, device).token
        except NotFoundError:  # unknown device: nobody can be subscribed as it
            return False
        for topic_filter, subscribers in self._broker.subscriptions.items():
            if self.is_device_filter(topic_filter, service, device) and any(
                    s.transitions.is_connected() and s.username == token for s, _ in subscribers):
                return True
        return False

    def is_device_filter(self, topic_filter: str, service: str, device: str) -> bool:
        """A filter that names the device and covers its /down topic."""
        return (topic_filter.split("/")[:4] == ["v1", "dev", service, device]
                and self.matches(down_topic(service, device), topic_filter))
