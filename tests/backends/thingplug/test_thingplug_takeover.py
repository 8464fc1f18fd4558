"""ThingPlug broker: a second CONNECT with the same client ID takes the first one over.

MQTT 3.1.1 §3.1.4 (MQTT-3.1.4-2): "If the ClientId represents a Client already connected to the
Server then the Server MUST disconnect the existing Client". A module that reconnects before the
platform noticed its old link died must see its old link dropped and get its RPCs (on ``/down``)
on the new connection, with a clean session and with a kept one. Checked with paho-mqtt clients.
"""

from __future__ import annotations

import asyncio
import json
import queue

import paho.mqtt.client as mqtt
import pytest

from emulator.backends.base import BackendContext
from emulator.backends.thingplug.backend import ThingPlugBackend
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

pytestmark = pytest.mark.slow

SVC, DEV, TOKEN = "smarthome", "smartlight001", "a0149f60b---------"
DOWN, UP = f"v1/dev/{SVC}/{DEV}/down", f"v1/dev/{SVC}/{DEV}/up"
CLIENT_ID = "866425035073255_smartlight001"
WAIT = 5.0


class Device:
    """A paho client logged in with the device token; records its disconnects and messages."""

    def __init__(self, port: int, clean: bool) -> None:
        self.port = port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=CLIENT_ID,
                                  protocol=mqtt.MQTTv311, clean_session=clean)
        self.client.username_pw_set(TOKEN)
        self.connacks: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.dropped: queue.Queue = queue.Queue()
        self.client.on_connect = lambda c, u, flags, rc, props: self.connacks.put(rc)
        self.client.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put(rcs)
        self.client.on_message = lambda c, u, msg: self.messages.put((msg.topic, msg.payload))
        self.client.on_disconnect = lambda c, u, flags, rc, props: self.dropped.put(rc)

    async def login(self) -> None:
        self.client.connect_async("127.0.0.1", self.port)
        self.client.loop_start()
        assert await asyncio.to_thread(self.connacks.get, True, WAIT) == 0
        self.client.subscribe(DOWN, 1)
        assert (await asyncio.to_thread(self.subacks.get, True, WAIT))[0] == 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("clean", [True, False])
async def test_second_connect_with_same_client_id_takes_over(clean):
    backend = ThingPlugBackend({}, BackendContext(VirtualClock(), FakeInternet(), ephemeral=True))
    await backend.start()
    port = backend.endpoints["thingplug_mqtt"][1]
    old, new = Device(port, clean), Device(port, clean)
    old.client.reconnect_delay_set(60, 120)  # paho must not come back on its own during the test
    try:
        await old.login()
        await new.login()
        # the first connection is closed by the broker (not by paho: no DISCONNECT was asked for)
        assert await asyncio.to_thread(old.dropped.get, True, WAIT) != 0
        old.client.loop_stop()
        rpc = await backend.send_rpc(SVC, DEV, "tp_user", [1])
        topic, payload = await asyncio.to_thread(new.messages.get, True, WAIT)
        assert topic == DOWN and json.loads(payload)["rpcReq"]["id"] == rpc.id
        assert backend.model.store.get_rpc(rpc.id).status == "pending"
        assert old.messages.empty()
        # the new connection is fully alive: its RPC result lands on the platform
        info = new.client.publish(UP, json.dumps({"cmd": "jsonRpc", "cmdId": 1, "result": "success",
                                                  "rpcRsp": {"jsonrpc": "2.0", "id": rpc.id, "result": "ok"}}), 1)
        await asyncio.to_thread(info.wait_for_publish, WAIT)
        for _ in range(500):
            if backend.model.store.get_rpc(rpc.id).status == "finished":
                break
            await asyncio.sleep(0.01)
        assert backend.model.store.get_rpc(rpc.id).status == "finished"
    finally:
        old.close()
        new.close()
        await backend.stop()
