"""Platforms started with ``attach_later`` (``emulator/backends/prebind.py``): the endpoints exist
when ``start()`` returns, a client that comes before the library is attached waits (TCP backlog,
UDP receive buffer) and is answered once it is; a stop in between leaves nothing listening; a
failing bring-up refuses clients instead of leaving them waiting."""

from __future__ import annotations

import asyncio
import socket

import pytest

from emulator.backends import load_backend, prebind
from emulator.backends.base import BackendContext
from emulator.core.clock import VirtualClock
from emulator.net.internet import FakeInternet

THINGPLUG_TOKEN = "a0149f60b---------"  # thingplug/registry.py DEFAULT_TOKEN


def _ctx(gate: asyncio.Event) -> BackendContext:
    return BackendContext(VirtualClock(), FakeInternet(), ephemeral=True, attach_later=gate)


def _paho_connack(port: int) -> int:
    """A paho-mqtt CONNECT (blocking: run it in a thread); the CONNACK's return code."""
    import threading

    import paho.mqtt.client as mqtt
    done, codes = threading.Event(), []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev1")
    client.username_pw_set(THINGPLUG_TOKEN)
    client.on_connect = lambda _c, _u, _f, reason, _p: (codes.append(reason.value), done.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(20), "no CONNACK"
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]


async def test_a_client_before_the_broker_is_attached_waits_and_gets_its_connack() -> None:
    gate = asyncio.Event()
    backend = load_backend("thingplug")({}, _ctx(gate))
    endpoints = await backend.start()
    try:
        assert backend.broker is None and backend.bringup.pending  # nothing of amqtt serves yet
        client = asyncio.ensure_future(asyncio.to_thread(_paho_connack, endpoints["thingplug_mqtt"][1]))
        await asyncio.sleep(0.3)  # connected (backlog) but unanswered: the broker is not there
        assert not client.done()
        gate.set()
        assert await client == 0  # CONNACK, accepted
        await backend.ready()
        assert backend.broker is not None and backend.ca_file
    finally:
        await backend.stop()


async def test_a_datagram_before_the_lwm2m_server_is_attached_is_answered_once_it_is() -> None:
    aiocoap = pytest.importorskip("aiocoap")
    gate = asyncio.Event()
    backend = load_backend("ctwing")({}, _ctx(gate))
    endpoints = await backend.start()
    ctx = await aiocoap.Context.create_client_context()
    try:
        host, port = endpoints["ctwing_lwm2m"]
        msg = aiocoap.Message(code=aiocoap.POST, uri=f"coap://{host}:{port}/rd",
                              uri_query=("ep=868543060974334", "lt=300", "lwm2m=1.0", "b=U"),
                              payload=b'</>;rt="oma.lwm2m",</3/0>,</19/0/0>')
        answer = asyncio.ensure_future(ctx.request(msg).response)
        await asyncio.sleep(0.2)
        assert not answer.done()  # the datagram waits in the bound socket
        gate.set()
        assert str((await asyncio.wait_for(answer, 20)).code).startswith("2.01")
    finally:
        await ctx.shutdown()
        await backend.stop()


async def test_stopped_before_the_attach_nothing_stays_bound() -> None:
    gate = asyncio.Event()
    backend = load_backend("ctwing")({}, _ctx(gate))
    endpoints = await backend.start()
    await backend.stop()
    gate.set()
    await asyncio.sleep(0.05)
    for key, (host, port) in endpoints.items():
        kind = socket.SOCK_DGRAM if "lwm2m" in key else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((host, port))  # free again (raises if something still holds it)


async def test_a_bring_up_that_fails_refuses_clients_and_says_so(monkeypatch, caplog) -> None:
    async def broken(*_names: str) -> None:
        raise ImportError("no amqtt here")
    monkeypatch.setattr("emulator.backends.thingplug.backend.import_in_thread", broken)
    backend = load_backend("thingplug")({}, _ctx(asyncio.Event()))
    backend.ctx.attach_later.set()
    endpoints = await backend.start()
    with pytest.raises(ImportError):
        await backend.ready()
    assert "ThingPlug MQTT broker could not start: no amqtt here" in caplog.text
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(*endpoints["thingplug_mqtt"])
    await backend.stop()


def test_listen_tcp_is_loopback_and_listening() -> None:
    sock = prebind.listen_tcp("127.0.0.1", 0)
    try:
        with socket.create_connection(prebind.endpoint(sock), timeout=5):
            pass  # accepted by the kernel although nobody calls accept()
    finally:
        sock.close()


async def test_a_modem_dialling_thingplug_tls_at_start_up_gets_the_ca_once_the_platform_is_up() -> None:
    """serve binds ThingPlug's TLS listener before its CA exists; a modem's TpConnect in that
    window must wait for the CA and verify against it (it used to find none and skip the check)."""
    from emulator.config import Config, ModemSpec
    from emulator.transport.runner import Emulator
    emu = Emulator(Config(), modems=[ModemSpec("bg96", "bg96")], ephemeral=True, with_pty=False,
                   with_tcp=False, backends=["thingplug"], follow_wall=False)
    emu.attach_later = asyncio.Event()
    await emu.start()
    try:
        trust = emu.ports["bg96"].net.trust
        assert trust.ca_file("thingplug") is None  # bound, not up: no CA yet
        asking = asyncio.ensure_future(trust.ca_file_when_up("thingplug"))
        await asyncio.sleep(0.05)
        assert not asking.done()  # it waits for the platform ...
        emu.attach_later.set()
        ca = await asyncio.wait_for(asking, 20)
        assert ca and ca == emu.backends["thingplug"].ca_file  # ... and gets its CA
    finally:
        await emu.stop()
