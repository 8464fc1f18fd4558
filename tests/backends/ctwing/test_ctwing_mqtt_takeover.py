"""CTWing MQTT: a second connection with the same client ID takes the device over.

MQTT 3.1.1 §3.1.4 (MQTT-3.1.4-2): "If the ClientId represents a Client already connected to the
Server then the Server MUST disconnect the existing Client". A module that reconnects before the
platform noticed its old link died must get its downlinks on the new connection, and the old
one must be dropped (on a module: +QMTSTAT: <id>,1), with a clean session or a kept one (guide
001 §4.2.3 configures AT+QMTCFG="session",0,0).
"""

from __future__ import annotations

import pytest

from emulator.backends.ctwing.mqtt_broker import CtwingMqttServer
from emulator.backends.ctwing.registry import Registry
from emulator.backends.ctwing.store import Store
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet
from emulator.net.mqtt_client import LOST_PEER, MqttSession
from emulator.testing.host import until

pytestmark = pytest.mark.slow

DEVICE = "16891291868543060025186"
PASSWORD = "nFSzM3tjRCOYygFWrlOb26eKsiwYtoRqgP862HcxVwU"


class Module:
    """One module's MQTT client (the emulator's own MqttSession) and what it heard."""

    def __init__(self, clock, net) -> None:
        self.lost: list[str] = []
        self.messages: list[tuple[str, bytes]] = []
        self.s = MqttSession(clock, net, on_lost=self.lost.append,
                             on_message=lambda t, p, *_: self.messages.append((t, p)))

    async def login(self, clean: bool) -> None:
        assert await self.s.open("mqtt.ctwing.cn", 1883) == "ok"
        assert (await self.s.connect(DEVICE, username="device001", password=PASSWORD, keepalive=0,
                                     clean_session=clean)).outcome == "accepted"
        assert (await self.s.subscribe([("device_control", 1)])).ok


@pytest.mark.parametrize("clean", [True, False])
async def test_second_connection_takes_over_and_gets_the_downlinks(clean):
    clock, net = VirtualClock(), FakeInternet()
    registry = Registry.from_config()
    store = Store(clock, registry)
    server = CtwingMqttServer(registry, store, clock)
    _, port = await server.start("127.0.0.1", 0)
    net.add_route("mqtt.ctwing.cn", 1883, ("127.0.0.1", port))
    old, new = Module(clock, net), Module(clock, net)
    try:
        await old.login(clean)
        await new.login(clean)
        await until(lambda: old.lost == [LOST_PEER])  # the old connection is dropped
        cmd = store.queue_command(DEVICE, b"on")
        await until(lambda: new.messages == [("device_control", b"on")])
        await until(lambda: store.command(cmd.id).status == "delivered")
        assert store.is_online(DEVICE)
        assert (await new.s.publish("data_report", b"up", qos=1)).ok
        await until(lambda: store.payloads(DEVICE) == [b"up"])
        assert old.messages == []
        await new.s.close()
        await until(lambda: not store.is_online(DEVICE))
    finally:
        await old.s.close()
        await new.s.close()
        await server.stop()
