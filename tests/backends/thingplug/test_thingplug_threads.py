"""The console API served from another thread (FastAPI TestClient) than the broker's event loop."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import warnings

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette's notice about httpx vs httpx2, irrelevant here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from emulator.backends.base import BackendContext
from emulator.backends.thingplug.backend import ThingPlugBackend
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

pytestmark = pytest.mark.slow
DOWN, UP = "v1/dev/smarthome/smartlight001/down", "v1/dev/smarthome/smartlight001/up"


def test_rpc_through_testclient_with_broker_on_its_own_loop():
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    backend = ThingPlugBackend({}, BackendContext(VirtualClock(), FakeInternet(), ephemeral=True))
    asyncio.run_coroutine_threadsafe(backend.start(), loop).result(10)
    messages: queue.Queue = queue.Queue()
    subscribed = threading.Event()
    dev = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev", protocol=mqtt.MQTTv311)
    dev.username_pw_set("a0149f60b---------")
    dev.on_connect = lambda c, u, f, rc, p: c.subscribe(DOWN, 1)
    dev.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    dev.on_message = lambda c, u, msg: messages.put(json.loads(msg.payload))
    try:
        dev.connect("127.0.0.1", backend.endpoints["thingplug_mqtt"][1])
        dev.loop_start()
        assert subscribed.wait(5)
        app = FastAPI()
        app.include_router(backend.api_router())
        with TestClient(app) as client:
            rpc_id = client.post("/api/thingplug/smarthome/smartlight001/rpc",
                                 json={"method": "tp_user", "params": [20, 14]}).json()["id"]
            request = messages.get(timeout=5)
            assert request["rpcReq"]["id"] == rpc_id and request["rpcReq"]["params"] == [20, 14]
            dev.publish(UP, json.dumps({"cmd": "jsonRpc", "cmdId": 1, "result": "success",
                                        "rpcRsp": {"jsonrpc": "2.0", "id": rpc_id, "result": "ok"}}), 1)
            deadline = time.monotonic() + 5  # waits for the broker thread's hook, not a protocol timer
            while True:
                status = client.get(f"/api/thingplug/smarthome/smartlight001/rpc/{rpc_id}").json()
                if status["status"] == "finished" or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            assert status == {"status": "finished", "result": "ok"}
    finally:
        dev.disconnect()
        dev.loop_stop()
        asyncio.run_coroutine_threadsafe(backend.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
