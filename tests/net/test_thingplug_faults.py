"""ThingPlug edge cases found by the issue-3 audit, end to end (modem in process, embedded amqtt
platform, console API over ASGI, paho as the application): a token used with another device id,
the console's ``cut`` fault on an open link, an RPC without params, an application reusing an
RPC id."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from emulator.api.app import create_app
from emulator.testing.thingplug_rig import app_client, poll, thingplug_emulator

from .test_thingplug_exec import DEV, SVC, TOPIC, connect, connected, errors, send_data, telemetry

pytestmark = pytest.mark.slow
OTHER = {"services": {SVC: {"devices": {"smartlight002": {"token": "TOKEN-002"}}}}}


@pytest.mark.parametrize("device", ["smartlight002", "notregistered"])
async def test_token_of_another_device_is_refused(device: str) -> None:
    # Before: the SUBSCRIBE to v1/dev/smarthome/<device>/down was allowed (same service), the
    # modem printed +SKTPCON: 0, then every AT+SKTPDAT got OK while the ACL dropped the data.
    async with thingplug_emulator(config=OTHER) as (emu, hosts):
        h = hosts["bg96"]
        await connect(h, device=device)  # the guide's token (smartlight001's)
        assert await h.expect(b"\r\n") == b"5\r\n"
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -25\r\n\r\nOK\r\n"
        assert b"status: disconnected" in await h.at("AT+SKTPCON")
        assert await h.at('AT+SKTPDAT=1,"telemetry",0') == b"\r\nERROR\r\n"
        await poll(lambda: errors(emu), "refusal recorded")
        assert "token belongs to device 'smartlight001'" in errors(emu)[0]["reason"]
        store = emu.backends["thingplug"].model.store
        assert telemetry(emu) == [] and store.telemetry(SVC, device) == []
        await connected(h, token="TOKEN-002", device="smartlight002")  # its own token works
        assert await send_data(h, b'{"temperature":3}') == b"\r\nOK\r\n"
        await poll(lambda: store.telemetry(SVC, "smartlight002"), "smartlight002 telemetry")


async def test_application_may_still_watch_the_service() -> None:
    async with thingplug_emulator(config=OTHER) as (emu, hosts):
        model = emu.backends["thingplug"].model
        assert model.may_subscribe("TOKEN-002", f"v1/dev/{SVC}/{DEV}/telemetry")
        assert model.may_subscribe("TOKEN-002", f"v1/dev/{SVC}/+/down")
        assert model.may_subscribe("TOKEN-002", f"v1/dev/{SVC}/smartlight002/down")
        assert not model.may_subscribe("TOKEN-002", f"v1/dev/{SVC}/{DEV}/down")


@pytest.mark.parametrize("module", ["bg96", "wm-n400mse"])
async def test_console_cut_resets_the_link(module: str) -> None:
    # Before: the cut fault reset only AT+QI* sockets; the ThingPlug link stayed up.
    async with thingplug_emulator((module,)) as (emu, hosts):
        h, backend = hosts[module], emu.backends["thingplug"]
        await connected(h, module)
        sep = b"=" if module == "wm-n400mse" else b": "
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as console:
            resp = await console.post("/api/network/faults",
                                      json={"host": "test.sktiot.com", "port": 1883, "kind": "cut"})
            assert resp.status_code == 200, resp.text
            assert await h.expect(b"+SKTPCON" + sep + b"-1\r\n")
            await poll(lambda: not backend.broker.device_subscribed(SVC, DEV), "broker saw the reset")
            err = await h.at("AT+SKTPERR=1") + await h.quiet(0.05)
            assert b"-3\r\n" in err
            assert (await console.delete("/api/network/faults")).status_code == 200
        await connected(h, module)
        if module == "wm-n400mse":
            assert await h.at('AT+SKTPDAT=1,telemetry,0,{"temperature":4}') == b"\r\nOK\r\n"
        else:
            assert await send_data(h, b'{"temperature":4}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry after the cut")


async def test_cut_of_another_route_leaves_the_link_alone() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        assert emu.internet.cut("test.sktiot.com", 8883) == 0  # the MQTTS route, not the one in use
        assert b"+SKTPCON" not in await h.quiet(0.2)
        assert await send_data(h, b'{"temperature":5}') == b"\r\nOK\r\n"


async def test_rpc_without_params_has_no_content_field() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        rpc = await emu.backends["thingplug"].send_rpc(SVC, DEV, "tp_reboot")
        urc = await h.expect(b"+SKTPCMD: ")
        assert urc + await h.expect(b"\r\n") == b"\r\n+SKTPCMD: tp_reboot,%d,1\r\n" % rpc.id


async def test_application_reusing_a_finished_rpc_id_gets_a_new_rpc() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        store = emu.backends["thingplug"].model.store
        app = app_client(emu)
        try:
            await app.wait_connected()
            for attempt, (result, status) in enumerate([(0, "finished"), (1, "failed")]):
                request = {"serviceName": SVC, "deviceName": DEV, "cmd": "jsonRpc", "cmdId": attempt,
                           "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": [attempt], "id": 6}}
                await app.publish(f"{TOPIC}/down", json.dumps(request), qos=1)
                await h.expect(b"+SKTPCMD: tp_user,6,1,[%d]\r\n" % attempt)
                h.send(b'AT+SKTPRES=1,"tp_user",6,%d\r' % result)
                await h.expect(b"\r\n> ")
                h.send(b"\x1a")
                await h.expect(b"+SKTPCMD: tp_user,6,3\r\n")
                await poll(lambda: store.get_rpc(6).status == status, f"rpc 6 {status}")
                assert store.get_rpc(6).params == [attempt]
            assert errors(emu) == []
        finally:
            app.close()


async def test_registry_token_change_and_delete_take_effect_on_a_live_link() -> None:
    # Before: no API could change a token or delete a device; a registry change left the old
    # token's link up while the ACL silently dropped its (OK'd) data.
    async with thingplug_emulator(config=OTHER) as (emu, hosts):
        h = hosts["bg96"]
        await connected(h, token="TOKEN-002", device="smartlight002")
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as console:
            path = f"/api/thingplug/{SVC}/devices/smartlight002"
            r = await console.put(path, json={"token": "TOKEN-NEW"})
            assert r.status_code == 200 and r.json() == {"service": SVC, "name": "smartlight002", "token": "TOKEN-NEW"}
            assert await h.expect(b"+SKTPCON: -1\r\n")
            assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -3\r\n\r\nOK\r\n"
            await connect(h, token="TOKEN-002", device="smartlight002")
            assert await h.expect(b"\r\n") == b"4\r\n"  # the old token is refused: CONNACK 4
            await connected(h, token="TOKEN-NEW", device="smartlight002")
            assert (await console.put(path, json={"token": "a0149f60b---------"})).status_code == 409
            assert (await console.put(f"/api/thingplug/{SVC}/devices/ghost", json={})).status_code == 404
            assert (await console.delete(path)).status_code == 204
            assert await h.expect(b"+SKTPCON: -1\r\n")
            await connect(h, token="TOKEN-NEW", device="smartlight002")
            assert await h.expect(b"\r\n") == b"4\r\n"  # a deleted device's token: CONNACK 4
            assert (await console.get(path)).status_code == 404
            assert (await console.delete(path)).status_code == 404
            r = await console.put(f"/api/thingplug/{SVC}/devices/{DEV}", json={})
            assert r.status_code == 200 and len(r.json()["token"]) == 32  # issued by the platform


async def test_rpc_for_an_offline_device_waits_even_if_an_application_watches_down() -> None:
    # Before: an application subscribed to v1/dev/smarthome/# made the platform think the device
    # was subscribed: the RPC went "pending" to the application only and never reached the modem.
    async with thingplug_emulator() as (emu, hosts):
        h, backend = hosts["bg96"], emu.backends["thingplug"]
        store = backend.model.store
        app = app_client(emu)
        try:
            await app.wait_connected()  # logged in with the device's own token, as the guide's app
            queued = await backend.send_rpc(SVC, DEV, "tp_user", [0])
            await app.subscribe(f"v1/dev/{SVC}/#", 1)  # must not flush the queue to the app
            rpc = await backend.send_rpc(SVC, DEV, "tp_user", [1])  # must not go out to the app only
            await asyncio.sleep(0.1)
            assert store.get_rpc(queued.id).status == store.get_rpc(rpc.id).status == "initiated"
            await connected(h)
            await h.expect(b"+SKTPCMD: tp_user,%d,1,[0]\r\n" % queued.id)
            await h.expect(b"+SKTPCMD: tp_user,%d,1,[1]\r\n" % rpc.id)
            await poll(lambda: store.get_rpc(rpc.id).status == "pending", "pending once the device has it")
        finally:
            app.close()


async def test_rpc_method_must_be_a_cmd_type_the_module_can_answer() -> None:
    # Before: POST .../rpc {"method": "turn_on"} reached the modem as +SKTPCMD: turn_on,...; no
    # AT+SKTPRES could answer it (ERROR, AT+SKTPERR still 0) and the RPC stayed pending forever.
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as console:
            r = await console.post(f"/api/thingplug/{SVC}/{DEV}/rpc", json={"method": "turn_on", "params": [1]})
            assert r.status_code == 400 and "tp_user" in r.json()["detail"]
            assert emu.backends["thingplug"].model.store.rpcs(SVC, DEV) == []
        assert b"+SKTPCMD" not in await h.quiet(0.1)
        assert await h.at('AT+SKTPRES=1,"turn_on",1,0') == b"\r\nERROR\r\n"
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -14\r\n\r\nOK\r\n"


@pytest.mark.parametrize("module", ["bg96", "wm-n400mse"])
async def test_console_stops_and_restarts_the_broker(module: str) -> None:
    # Before: "broker stopped" could only be staged from Python (backend.stop()).
    async with thingplug_emulator((module,)) as (emu, hosts):
        h, sep = hosts[module], (b"=" if module == "wm-n400mse" else b": ")
        ports = dict(emu.endpoints)
        routes = [emu.internet.route("test.sktiot.com", p) for p in (1883, 8883)]
        await connected(h, module)
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as console:
            assert (await console.get("/api/thingplug/broker")).json() == {"running": True}
            r = await console.post("/api/thingplug/broker", json={"running": False})
            assert r.json() == {"running": False}
            assert await h.expect(b"+SKTPCON" + sep + b"-1\r\n", 10)
            assert b"-3\r\n" in await h.at("AT+SKTPERR=1") + await h.quiet(0.05)
            await connect(h, module)  # nobody listens: the network attempt fails
            assert await h.expect(b"\r\n") == b"-1\r\n"
            r = await console.post("/api/thingplug/broker", json={"running": True})
            assert r.json() == {"running": True} and emu.backends["thingplug"].endpoints == ports
            # the restart keeps the routes (a user --route or a standing fault on them survives)
            assert [emu.internet.route("test.sktiot.com", p) for p in (1883, 8883)] == routes
            assert all(a is b for a, b in zip(routes, [emu.internet.route("test.sktiot.com", p)
                                                       for p in (1883, 8883)]))
        await connected(h, module, tls=True)  # same ports, a fresh certificate the modem trusts
        if module == "wm-n400mse":
            assert await h.at('AT+SKTPDAT=1,telemetry,0,{"temperature":6}') == b"\r\nOK\r\n"
        else:
            assert await send_data(h, b'{"temperature":6}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry after the restart")
