"""AT+SKTP* end to end: modems in process, the embedded ThingPlug platform (amqtt) on loopback,
paho-mqtt as the application (guide 000; WIZnet's BG96 ThingPlug guide, Wiznet/wiznet-iot-shield-mbed-kr docs/mbed_guide_bg96_cloud_thingplug.md-§3)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import FastAPI

from emulator.core.stimuli import NetworkAttach, NetworkDetach
from emulator.testing.thingplug_rig import FINAL, app_client, connect_line, poll, thingplug_emulator

pytestmark = pytest.mark.slow
SVC, DEV = "smarthome", "smartlight001"
TOPIC = f"v1/dev/{SVC}/{DEV}"


def telemetry(emu) -> list[dict]:
    return emu.backends["thingplug"].model.store.telemetry(SVC, DEV)


def errors(emu) -> list[dict]:
    return emu.backends["thingplug"].model.store.errors(SVC, DEV)


async def connect(host, module: str = "bg96", **kw) -> bytes:
    assert (await host.at(connect_line(module, **kw))).endswith(b"\r\nOK\r\n")
    return await host.expect(b"+SKTPCON" + (b"=" if module == "wm-n400mse" else b": "))


async def connected(host, module: str = "bg96", **kw) -> None:
    await connect(host, module, **kw)
    assert await host.expect(b"\r\n") == (b"0\r\n")


async def send_data(host, data: bytes, kind: str = "telemetry", fmt: int = 0) -> bytes:
    host.send(f'AT+SKTPDAT=1,"{kind}",{fmt}\r'.encode())
    await host.expect(b"\r\n> ")
    host.send(data + b"\x1a")
    return await host.expect(FINAL)


async def api(emu, method: str, path: str, **kw) -> httpx.Response:
    app = FastAPI()
    app.include_router(emu.backends["thingplug"].api_router())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tp") as client:
        return await client.request(method, path, **kw)


@pytest.mark.parametrize("module", ["bg96", "amm5918k"])
async def test_guide_flow_quoted_dialect(module: str) -> None:
    async with thingplug_emulator((module,)) as (emu, hosts):
        h = hosts[module]
        assert await h.at("AT+SKTPCON") == b"\r\nstatus: disconnected\r\n\r\nOK\r\n"
        await connected(h, module)
        assert b"status: connected" in await h.at("AT+SKTPCON")
        status = await h.at("AT+SKTP")
        assert b"port: 1883" in status and b"device_token: ....----" in status and b"_smartlight001" in status
        # the broker knows the modem by the client id it printed
        assert await send_data(h, b'{"temperature":30, "humidity":20}') == b"\r\nOK\r\n"
        assert (await poll(lambda: telemetry(emu), "telemetry"))[0]["data"] == {"temperature": 30, "humidity": 20}
        assert b'thingplug_data: {"temperature":30, "humidity":20}' in await h.at("AT+SKTPDAT")
        backend = emu.backends["thingplug"]
        rpc = await backend.send_rpc(SVC, DEV, "tp_user", [{"LED": "on"}])
        assert await h.expect(b'+SKTPCMD: tp_user,%d,1,[{"LED":"on"}]\r\n' % rpc.id)
        h.send(b'AT+SKTPRES=1,"tp_user",%d,0\r' % rpc.id)
        await h.expect(b"\r\n> ")
        h.send(b'{"LED":"on"}\x1a')
        assert await h.expect(b"+SKTPCMD: tp_user,%d,3\r\n" % rpc.id) == \
            b"\r\nOK\r\n\r\n+SKTPCMD: tp_user,%d,3\r\n" % rpc.id
        status = await poll(lambda: backend.model.store.get_rpc(rpc.id).status == "finished" and
                            backend._act_rpc_status({"id": rpc.id}), "rpc finished")
        assert status == {"status": "finished", "result": {"LED": "on"}}
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: 0\r\n\r\nOK\r\n"
        # setAttribute from the platform -> +SKTPCMD set_attr; the modem republishes the attribute
        cmd = await backend.set_attribute(SVC, DEV, {"LED": "off"})
        assert await h.expect(b'+SKTPCMD: set_attr,%d,3,{"LED":"off"}\r\n' % cmd["cmdId"])
        assert await send_data(h, b'{"LED":"off"}', "attribute") == b"\r\nOK\r\n"
        await poll(lambda: backend.model.store.attributes(SVC, DEV) == {"LED": "off"}, "attribute")
        # disconnect: +SKTPCON: -1 and the broker no longer has the device on /down
        assert await h.at("AT+SKTPCON=0") == b"\r\nOK\r\n"
        assert await h.expect(b"+SKTPCON: -1\r\n")
        await poll(lambda: not backend.broker.device_subscribed(SVC, DEV), "broker saw the disconnect")


async def test_guide_flow_woori_inline() -> None:
    async with thingplug_emulator(("wm-n400mse",)) as (emu, hosts):
        h = hosts["wm-n400mse"]
        await connected(h, "wm-n400mse")
        out = await h.at('AT+SKTPDAT=1,telemetry,0,{"temperature":30, "humidity":20}')
        assert out == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry")
        backend = emu.backends["thingplug"]
        rpc = await backend.send_rpc(SVC, DEV, "tp_user", [{"LED": "on"}])
        await h.expect(b'+SKTPCMD=tp_user,%d,1,[{"LED":"on"}]\r\n' % rpc.id)
        assert await h.at(b"AT+SKTPRES=1,tp_user,%d,0" % rpc.id) == b"\r\nOK\r\n"
        await h.expect(b"+SKTPCMD=tp_user,%d,3\r\n" % rpc.id)
        await poll(lambda: backend.model.store.get_rpc(rpc.id).status == "finished", "rpc finished")
        assert backend.model.store.get_rpc(rpc.id).result == {"status": "SUCCESS"}


async def test_csv_is_decoded_in_descriptor_order() -> None:
    async with thingplug_emulator() as (emu, hosts):
        await connected(hosts["bg96"])
        assert await send_data(hosts["bg96"], b"25.5,60", fmt=1) == b"\r\nOK\r\n"
        points = await poll(lambda: telemetry(emu), "csv telemetry")
        assert points[0]["data"] == {"temperature": 25.5, "humidity": 60}


async def test_application_reads_telemetry_and_drives_rpc_over_mqtt() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        app = app_client(emu)
        try:
            await app.wait_connected()
            await app.subscribe(f"{TOPIC}/telemetry", 1)
            await app.subscribe(f"{TOPIC}/up", 1)
            assert await send_data(h, b'{"temperature":30, "humidity":20}') == b"\r\nOK\r\n"
            topic, payload, *_ = await app.next_message()
            assert topic == f"{TOPIC}/telemetry" and json.loads(payload) == {"temperature": 30, "humidity": 20}
            request = {"serviceName": SVC, "deviceName": DEV, "cmd": "jsonRpc", "cmdId": 7, "rpcMode": "twoway",
                       "rpcReq": {"jsonrpc": "2.0", "method": "tp_user", "params": [20, 14], "id": 6}}
            await app.publish(f"{TOPIC}/down", json.dumps(request), qos=1)
            await h.expect(b"+SKTPCMD: tp_user,6,1,[20,14]\r\n")
            h.send(b'AT+SKTPRES=1,"tp_user",6,1\r')
            await h.expect(b"\r\n> ")
            h.send(b"\x1a")
            await h.expect(b"+SKTPCMD: tp_user,6,3\r\n")
            topic, payload, *_ = await app.next_message()
            body = json.loads(payload)
            assert topic == f"{TOPIC}/up" and body["result"] == "fail" and body["rpcRsp"]["id"] == 6
            store = emu.backends["thingplug"].model.store
            await poll(lambda: store.get_rpc(6).status == "failed", "mqtt rpc failed")
        finally:
            app.close()


async def test_wrong_token_is_refused_with_connack_4() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connect(h, token="not-a-token")
        assert await h.expect(b"\r\n") == b"4\r\n"  # CONNACK 4: bad user name or password
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -24\r\n\r\nOK\r\n"
        assert await h.at("AT+SKTPERR=2") == b"\r\n+SKTPE: Bad user name or password\r\n\r\nOK\r\n"
        assert b"status: disconnected" in await h.at("AT+SKTPCON")
        assert await h.at('AT+SKTPDAT=1,"telemetry",0') == b"\r\nERROR\r\n"


async def test_wrong_service_is_refused_and_nothing_stored() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connect(h, service="otherservice")
        assert await h.expect(b"\r\n") == b"5\r\n"
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -25\r\n\r\nOK\r\n"
        assert await h.at('AT+SKTPDAT=1,"telemetry",0') == b"\r\nERROR\r\n"
        await poll(lambda: errors(emu), "refusal recorded")
        assert "subscription" in errors(emu)[0]["reason"] and telemetry(emu) == []
        assert emu.backends["thingplug"].model.store.telemetry("otherservice", DEV) == []


async def test_payload_not_matching_descriptor_is_not_stored() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        # the broker acknowledges it (MQTT cannot refuse a QoS 1 PUBLISH), the platform keeps it
        # out of the store and away from application subscribers
        assert await send_data(h, b'{"pressure":1013}') == b"\r\nOK\r\n"
        assert await send_data(h, b"1,2,3", fmt=1) == b"\r\nOK\r\n"
        resp = await poll(lambda: len(errors(emu)) == 2, "two error entries")
        assert resp and telemetry(emu) == []
        listed = (await api(emu, "GET", f"/api/thingplug/{SVC}/{DEV}/errors")).json()
        assert "unknown telemetry keys ['pressure']" in listed[0]["reason"]
        assert "CSV has 3 values" in listed[1]["reason"]
        assert (await api(emu, "GET", f"/api/thingplug/{SVC}/{DEV}/telemetry")).json() == []


async def test_bad_data_at_the_modem() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        big = b'{"temperature":"' + b"x" * 2100 + b'"}'
        assert await send_data(h, big) == b"\r\nERROR\r\n"
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -14\r\n\r\nOK\r\n"
        assert await send_data(h, b"") == b"\r\nERROR\r\n"  # Ctrl+Z with no data
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -6\r\n\r\nOK\r\n"
        assert await send_data(h, b"{not json") == b"\r\nERROR\r\n"
        h.send(b'AT+SKTPDAT=1,"telemetry",0\r')
        await h.expect(b"\r\n> ")
        h.send(b'{"temperature":1}\x1b')  # ESC: nothing is sent
        assert await h.expect(b"OK\r\n") == b"\r\nOK\r\n"
        assert await send_data(h, b'{"temperature":2}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "the one good point")
        await asyncio.sleep(0.1)
        assert [p["data"] for p in telemetry(emu)] == [{"temperature": 2}] and errors(emu) == []


async def test_every_ok_is_stored() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        oks = 0
        for i in range(30):
            if await send_data(h, b'{"temperature":%d}' % i) == b"\r\nOK\r\n":
                oks += 1
        assert oks == 30
        await poll(lambda: len(telemetry(emu)) == 30, "30 points")
        assert sorted(p["data"]["temperature"] for p in telemetry(emu)) == list(range(30))


async def test_broker_stop_reports_loss_and_reconnect_after_restart() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        backend = emu.backends["thingplug"]
        await backend.stop()
        assert await h.expect(b"+SKTPCON: -1\r\n", 10)
        assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -3\r\n\r\nOK\r\n"
        assert await h.at('AT+SKTPDAT=1,"telemetry",0') == b"\r\nERROR\r\n"
        await connect(h)  # nobody listens: network failure
        assert await h.expect(b"\r\n") == b"-1\r\n"
        emu.endpoints.update(await backend.start())  # new ports; routes follow
        await connected(h)
        assert await send_data(h, b'{"temperature":5}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry after restart")


async def test_network_detach_drops_link_and_auto_reconnect_brings_it_back() -> None:
    async with thingplug_emulator(("wm-n400mse",)) as (emu, hosts):
        h, port = hosts["wm-n400mse"], emu.ports["wm-n400mse"]
        backend = emu.backends["thingplug"]
        assert await h.at("AT+SKTPATC=1") == b"\r\nOK\r\n"
        await connected(h, "wm-n400mse")
        port.stimulus(NetworkDetach())
        assert await h.expect(b"+SKTPCON=-1\r\n")
        await poll(lambda: not backend.broker.device_subscribed(SVC, DEV), "broker saw the drop")
        assert await h.at("AT+SKTPERR=1") == b"\r\nOK\r\n"  # Woori-net: OK first, then the value
        assert await h.expect(b"+SKTPE=-3\r\n") == b"\r\n+SKTPE=-3\r\n"
        emu.advance(30)  # still detached: no attempt
        assert b"+SKTPCON" not in await h.quiet(0.1)
        port.stimulus(NetworkAttach())
        emu.advance(5)
        await h.expect(b"+SKTPCON=0\r\n")
        assert await h.at('AT+SKTPDAT=1,telemetry,0,{"temperature":7}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry after reconnect")


async def test_auto_reconnect_after_broker_restart() -> None:
    async with thingplug_emulator(("wm-n400mse",)) as (emu, hosts):
        h = hosts["wm-n400mse"]
        backend = emu.backends["thingplug"]
        await h.at("AT+SKTPATC=1")
        await connected(h, "wm-n400mse")
        await backend.stop()
        await h.expect(b"+SKTPCON=-1\r\n", 10)
        emu.advance(5)  # attempt fails silently while the broker is down
        await asyncio.sleep(0.2)
        emu.advance(5)
        emu.endpoints.update(await backend.start())
        for _ in range(3):
            emu.advance(5)
            await asyncio.sleep(0.2)
            if b"+SKTPCON=0" in h.buf[h.pos:]:
                break
        await h.expect(b"+SKTPCON=0\r\n")


async def test_console_api_detach_drops_the_link_on_bg96() -> None:
    from emulator.api.app import create_app

    async with thingplug_emulator() as (emu, hosts):
        h, backend = hosts["bg96"], emu.backends["thingplug"]
        await connected(h)
        transport = httpx.ASGITransport(app=create_app(emu))
        async with httpx.AsyncClient(transport=transport, base_url="http://emu") as console:
            resp = await console.post("/api/modems/bg96/network", json={"action": "detach"})
            assert resp.status_code < 300, resp.text
            assert await h.expect(b"+SKTPCON: -1\r\n")
            await poll(lambda: not backend.broker.device_subscribed(SVC, DEV), "broker saw the drop")
            assert await h.at("AT+SKTPERR=1") == b"\r\n+SKTPE: -3\r\n\r\nOK\r\n"
            assert await h.at('AT+SKTPDAT=1,"telemetry",0') == b"\r\nERROR\r\n"
            await console.post("/api/modems/bg96/network", json={"action": "attach"})
        emu.advance(10)
        assert b"+SKTPCON" not in await h.quiet(0.2)  # BG96 has no auto-reconnect
        await connected(h)  # the host reconnects itself


@pytest.mark.parametrize("module", ["bg96", "wm-n400mse"])
async def test_mqtts_on_8883_with_generated_ca(module: str) -> None:
    async with thingplug_emulator((module,)) as (emu, hosts):
        h = hosts[module]
        await connected(h, module, tls=True)
        status = await h.at("AT+SKTP")
        status += await h.quiet(0.05)
        assert b"8883" in status and b"MQTTS" in status
        if module == "wm-n400mse":
            assert await h.at('AT+SKTPDAT=1,telemetry,0,{"temperature":9}') == b"\r\nOK\r\n"
        else:
            assert await send_data(h, b'{"temperature":9}') == b"\r\nOK\r\n"
        await poll(lambda: telemetry(emu), "telemetry over TLS")


def test_bench_counts_every_message() -> None:
    from bench.thingplug import run

    result = run(20)
    assert result["ok"] == result["received"] == result["stored"] == 20
    assert result["msgs_per_s"] > 0 and result["latency_median_ms"] > 0


async def test_disconnect_while_connecting_leaves_nothing_behind() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h, port = hosts["bg96"], emu.ports["bg96"]
        h.send(connect_line("bg96").encode() + b"\r")
        h.send(b"AT+SKTPCON=0\r")  # before the broker could answer
        await h.expect(b"+SKTPCON: -1\r\n")
        await asyncio.sleep(0.3)
        assert b"+SKTPCON" not in await h.quiet(0.1)
        assert "thingplug" not in port.resources
        assert not emu.backends["thingplug"].broker.device_subscribed(SVC, DEV)
        await connected(h)


async def test_keepalive_runs_on_virtual_time() -> None:
    async with thingplug_emulator() as (emu, hosts):
        h = hosts["bg96"]
        await connected(h)
        link = emu.ports["bg96"].resources["thingplug"]
        sent = link.session.sent_packets
        for _ in range(370):  # 3 keepalive periods (120 s): PINGREQ each, PINGRESP back in time
            emu.advance(1)
            await asyncio.sleep(0.002)
        assert link.session.sent_packets - sent == 3
        assert b"+SKTPCON" not in await h.quiet(0.1)
        assert await send_data(h, b'{"temperature":1}') == b"\r\nOK\r\n"
