"""amqtt plugins of the CTWing MQTT access server (``mqtt_broker.py``): login check, no fan-out
between devices, and the broker's events (connect, disconnect, subscribe, PUBLISH) handed to the
server named by ``server_id`` in each plugin's Config.

Imported only when the broker starts (it imports amqtt). Must not: keep state or decide platform
rules (the server, registry and store do).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BasePlugin, BaseTopicPlugin

from .mqtt_broker import _SERVERS, CtwingMqttServer

log = logging.getLogger("emulator.backends.ctwing.mqtt_broker")


class _PluginMixin:
    @dataclass
    class Config:
        server_id: str = ""

    @property
    def server(self) -> "CtwingMqttServer":
        """The owning server; after stop() a stand-in that ignores late broker events."""
        return _SERVERS.get(self.config.server_id) or _STOPPED  # type: ignore[attr-defined]


class _Stopped:
    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None


_STOPPED: Any = _Stopped()


class CtwingAuthPlugin(_PluginMixin, BaseAuthPlugin):
    async def authenticate(self, *, session: Any) -> bool:
        if self.config.server_id not in _SERVERS:  # type: ignore[attr-defined]
            return False
        verdict = self.server.registry.check_feature_string(session.client_id or "", session.password, "mqtt")
        if verdict != "ok":
            log.info("ctwing mqtt: refused client %r (%s)", session.client_id,
                     "not registered" if verdict == "unknown" else "bad feature string")
            return False
        await self.server.take_over(session.client_id)
        return True


class CtwingTopicPlugin(_PluginMixin, BaseTopicPlugin):
    async def topic_filtering(self, *, session: Any = None, topic: str | None = None,
                              action: Action | None = None) -> bool:
        return action != Action.RECEIVE


class CtwingEventPlugin(_PluginMixin, BasePlugin):
    async def on_broker_client_connected(self, *, client_id: str, client_session: Any) -> None:
        self.server.client_connected(client_id)

    async def on_broker_client_disconnected(self, *, client_id: str, client_session: Any) -> None:
        self.server.client_disconnected(client_id)

    async def on_broker_client_subscribed(self, *, client_id: str, topic: str, qos: int) -> None:
        self.server.kick(client_id, "subscribed")

    async def on_broker_message_received(self, *, client_id: str, message: Any) -> None:
        if message is None or not message.topic:
            return
        self.server.uplink(client_id, bytes(message.data or b""), message.topic)
