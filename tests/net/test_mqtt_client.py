"""MqttSession against real peers (amqtt broker, paho client) and a scripted broker.

Timers (retransmission, keepalive, CONNACK wait) are driven by advancing the VirtualClock.
"""

from __future__ import annotations

import asyncio

import pytest

from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet, Fault
from emulator.net.mqtt_client import LOST_CONNACK, LOST_PEER, LOST_PING, MqttSession
from emulator.testing.host import until
from emulator.testing.mqtt_peers import (
    PahoPeer,
    ScriptedBroker,
    amqtt_broker,
    self_signed_cert,
)

HOST = "broker.example.test"


def make(port: int, **callbacks):
    clock, net = VirtualClock(), FakeInternet()
    net.add_route(HOST, 1883, ("127.0.0.1", port))
    return clock, net, MqttSession(clock, net, **callbacks)


async def test_open_connect_publish_all_qos_reach_a_paho_subscriber():
    async with amqtt_broker() as (_, port):
        clock, net, s = make(port)
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await app.subscribe("up/#", 2)
            assert await s.open(HOST, 1883) == "ok"
            res = await s.connect("dev1", keepalive=60)
            assert (res.outcome, res.code) == ("accepted", 0)
            for qos in (0, 1, 2):
                ack = await s.publish(f"up/{qos}", f"q{qos}".encode(), qos=qos, packet_id=qos or None)
                assert ack.ok and ack.retries == 0
                topic, payload, _, _ = await app.next_message()
                # (amqtt 0.12 forwards at the subscription's QoS, not min(pub, sub): QoS is
                # checked against mosquitto in tests/modules/test_quectel_mqtt.py)
                assert (topic, payload) == (f"up/{qos}", f"q{qos}".encode())
            await s.disconnect()
            assert s.state == "closed"
        finally:
            app.close()


async def test_subscribe_receives_paho_messages_at_each_qos():
    async with amqtt_broker() as (_, port):
        got = []
        clock, net, s = make(port, on_message=lambda *a: got.append(a))
        app = PahoPeer(port)
        try:
            await app.wait_connected()
            await s.open(HOST, 1883)
            await s.connect("dev2")
            ack = await s.subscribe([("down/a", 0), ("down/b", 1), ("down/c", 2)], packet_id=7)
            assert ack.ok and ack.codes == (0, 1, 2)
            for i, t in enumerate(("down/a", "down/b", "down/c")):
                await app.publish(t, f"m{i}", qos=i)
            await until(lambda: len(got) == 3)
            assert [(t, p, q) for t, p, _, q, _ in got] == [("down/a", b"m0", 0), ("down/b", b"m1", 1),
                                                            ("down/c", b"m2", 2)]
            assert got[0][2] == 0 and got[1][2] != 0 and got[2][2] != 0  # packet ids only with QoS>0
            assert (await s.unsubscribe(["down/a"], packet_id=8)).ok
            await app.publish("down/a", "ignored")
            await app.publish("down/b", "after", qos=1)
            await until(lambda: len(got) == 4)
            assert got[3][:2] == ("down/b", b"after")
        finally:
            app.close()
            await s.close()


async def test_open_failures_dns_refused_and_dropped():
    clock, net = VirtualClock(), FakeInternet()
    s = MqttSession(clock, net)
    assert await s.open("nowhere.invalid", 1883) == "dns"
    assert await s.open("203.0.113.9", 1883) == "refused"  # a public IP with no route
    net.add_route("black.hole", 1883, ("127.0.0.1", 9))
    net.add_fault("black.hole", 1883, Fault("drop"))
    task = asyncio.create_task(s.open("black.hole", 1883, timeout=75))
    await asyncio.sleep(0.05)
    assert not task.done()
    clock.advance(75)
    assert await task == "timeout"


async def test_credentials_refused_then_broker_hangs_up():
    lost = []
    async with amqtt_broker(credentials=("user", "secret")) as (_, port):
        clock, net, s = make(port, on_lost=lost.append)
        assert await s.open(HOST, 1883) == "ok"
        res = await s.connect("dev3", username="user", password="wrong")
        assert (res.outcome, res.code) == ("refused", 5)
        await until(lambda: lost)
        assert lost == [LOST_CONNACK]
        clock2, net2, ok = make(port)
        await ok.open(HOST, 1883)
        assert (await ok.connect("dev4", username="user", password="secret")).outcome == "accepted"
        await ok.close()


async def test_broker_stop_reports_peer_loss_once():
    lost = []
    async with amqtt_broker() as (broker, port):
        clock, net, s = make(port, on_lost=lost.append)
        await s.open(HOST, 1883)
        await s.connect("dev5")
        await broker.shutdown()
        await until(lambda: lost)
    await asyncio.sleep(0.05)
    assert lost == [LOST_PEER] and s.state == "closed"
    assert not (await s.publish("t", b"x")).ok


async def test_publish_retransmits_on_virtual_clock_then_fails():
    fake = ScriptedBroker(puback=False)
    port = await fake.start()
    retries = []
    try:
        clock, net, s = make(port, on_retry=lambda k, pid, n: retries.append((k, pid, n)))
        await s.open(HOST, 1883)
        await s.connect("dev6", pkt_timeout=5, retry_times=2)
        task = asyncio.create_task(s.publish("t", b"x", qos=1, packet_id=42))
        await until(lambda: fake.kinds().count("Publish") == 1)
        clock.advance(4.9)
        assert retries == []
        clock.advance(0.1)
        await until(lambda: fake.kinds().count("Publish") == 2)
        assert fake.received[-1].dup_flag and fake.received[-1].packet_id == 42
        clock.advance(5)
        await until(lambda: fake.kinds().count("Publish") == 3)
        clock.advance(5)
        ack = await asyncio.wait_for(task, 2)
        assert not ack.ok and ack.retries == 2
        assert retries == [("publish", 42, 1), ("publish", 42, 2)]
    finally:
        await s.close()
        await fake.stop()


async def test_keepalive_pingreq_follows_virtual_clock_and_missing_pingresp_is_loss():
    fake = ScriptedBroker(pingresp=False)
    port = await fake.start()
    lost = []
    try:
        clock, net, s = make(port, on_lost=lost.append)
        await s.open(HOST, 1883)
        await s.connect("dev7", keepalive=30, pkt_timeout=5)
        await until(lambda: fake.kinds() == ["Connect"])
        clock.advance(29)
        await asyncio.sleep(0.05)
        assert "PingReq" not in fake.kinds()
        clock.advance(1)
        await until(lambda: "PingReq" in fake.kinds())
        clock.advance(5)
        assert lost == [LOST_PING]
    finally:
        await fake.stop()


async def test_connack_timeout_is_loss():
    fake = ScriptedBroker(connack=None)
    port = await fake.start()
    lost = []
    try:
        clock, net, s = make(port, on_lost=lost.append)
        await s.open(HOST, 1883)
        task = asyncio.create_task(s.connect("dev8", pkt_timeout=5))
        await until(lambda: fake.kinds() == ["Connect"])
        clock.advance(5)
        assert (await asyncio.wait_for(task, 2)).outcome == "timeout"
        assert lost == [LOST_CONNACK]
    finally:
        await fake.stop()


async def test_connect_packet_carries_will_credentials_and_version():
    fake = ScriptedBroker()
    port = await fake.start()
    try:
        clock, net, s = make(port)
        await s.open(HOST, 1883)
        await s.connect("dev9", username="u", password="p", keepalive=77, clean_session=False, version=3,
                        will=("will/t", b"bye", 1, True))
        connect = fake.received[0]
        vh, pl = connect.variable_header, connect.payload
        assert (vh.proto_name, vh.proto_level, vh.keep_alive) == ("MQIsdp", 3, 77)
        assert not vh.clean_session_flag and vh.will_flag and vh.will_qos == 1 and vh.will_retain_flag
        assert (pl.client_id, pl.username, pl.password, pl.will_topic, pl.will_message) == \
            ("dev9", "u", "p", "will/t", b"bye")
    finally:
        await s.close()
        await fake.stop()


@pytest.mark.parametrize("used", [set(), {1, 2}])
def test_next_packet_id_skips_ids_in_flight(used):
    s = MqttSession(VirtualClock(), FakeInternet())
    s._inflight = {("publish", pid): object() for pid in used}  # noqa: SLF001
    assert s.next_packet_id() == (3 if used else 1)


async def test_tls_open_verifies_the_broker_against_the_ca_file(tmp_path):
    cert, key = self_signed_cert(tmp_path, HOST)
    other, _ = self_signed_cert(tmp_path, "someone.else.test")
    async with amqtt_broker(tls=(cert, key)) as (_, port):
        clock, net, s = make(port)
        net.add_route(HOST, 8883, ("127.0.0.1", port))
        assert await s.open(HOST, 8883, tls=True, ca_file=str(other)) == "error"  # unknown issuer
        assert await s.open(HOST, 8883, tls=True, ca_file=str(cert)) == "ok"
        assert (await s.connect("tls-dev")).outcome == "accepted"
        assert (await s.publish("t", b"x", qos=1)).ok
        await s.close()
        assert await s.open(HOST, 8883, tls=True) == "ok"  # no CA configured: no verification
        await s.close()
