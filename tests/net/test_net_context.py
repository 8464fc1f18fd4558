"""Executors run on a NetContext alone: no ModemPort, no Emulator, no backend object.

Before: every executor took ``port: Any`` and reached through it (``port.emulator.internet``,
``port.emulator.backends["thingplug"].ca_file``, ``port.modem.state.lwm2m``,
``emulator.cut_hooks``). Here a NetContext is built by hand around a real loopback peer and the
executors are called as the runner calls them; what they tell the modem is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from emulator.core.clock import VirtualClock
from emulator.modules.handlers.mqtt_effects import (OPEN_DNS_FAILED, OPEN_OK, STAT_PEER_CLOSED, MqttClosed,
                                                    MqttOpen, MqttOpened)
from emulator.modules.handlers.quectel_tcpip_effects import (CloseSocket, NameResolved, OpenSocket,
                                                             ResolveName, SendData, SocketClosed, SocketData,
                                                             SocketOpened, SocketSent)
from emulator.net import mqtt_exec, sockets
from emulator.net.context import NetContext, Trust
from emulator.net.executors import find_executor
from emulator.net.internet import FakeInternet


class Rig:
    def __init__(self) -> None:
        self.told: list[object] = []
        self.tasks: set[asyncio.Task] = set()
        self.net = NetContext(name="m1", clock=VirtualClock(), internet=FakeInternet(),
                              stimulus=self._tell, spawn=self._spawn,
                              trust=Trust({"thingplug": "/nonexistent/ca.pem"}))
        self.seen = bytearray()
        self.peer_eof = asyncio.Event()

    def _tell(self, stimulus: object) -> bool:
        self.told.append(stimulus)
        return True

    def _spawn(self, coro):  # type: ignore[no-untyped-def]
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def run(self, effect: object) -> object:
        fn = find_executor(effect)
        assert fn is not None, type(effect).__name__
        result = fn(effect, self.net)
        return self._spawn(result) if asyncio.iscoroutine(result) else result

    async def told_a(self, kind: type, cond: Callable[[object], bool] = lambda s: True) -> object:
        for _ in range(2000):
            for stim in self.told:
                if isinstance(stim, kind) and cond(stim):
                    self.told.remove(stim)
                    return stim
            await asyncio.sleep(0.001)
        raise AssertionError(f"no {kind.__name__} in {self.told}")

    async def echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(4096):
                self.seen += chunk
                writer.write(chunk)
        except ConnectionError:
            pass
        finally:
            self.peer_eof.set()
            writer.close()


@pytest.fixture
async def rig():
    r = Rig()
    server = await asyncio.start_server(r.echo, "127.0.0.1", 0)
    r.net.internet.add_route("echo.test", None, ("127.0.0.1", server.sockets[0].getsockname()[1]), "echo")
    yield r
    for res in list(r.net.resources.values()):
        res.close() if not asyncio.iscoroutinefunction(res.close) else await res.close()
    for task in list(r.tasks):
        task.cancel()
    server.close()


async def test_a_socket_opens_sends_and_closes_on_the_context_alone(rig: Rig) -> None:
    rig.run(OpenSocket(0, 1, "TCP", "echo.test", 7))
    opened = await rig.told_a(SocketOpened)
    assert (opened.conn_id, opened.gen, opened.err) == (0, 1, 0) and opened.local_port > 0
    rig.run(SendData(0, 1, b"ping"))
    assert (await rig.told_a(SocketSent)).nbytes == 4
    assert (await rig.told_a(SocketData)).data == b"ping"
    assert "tcpip" in rig.net.resources  # the sessions live in the context's resources
    rig.run(CloseSocket(0, 1))
    await asyncio.wait_for(rig.peer_eof.wait(), 5)
    assert bytes(rig.seen) == b"ping"


async def test_a_name_that_does_not_resolve_and_a_lookup(rig: Rig) -> None:
    rig.run(OpenSocket(2, 1, "TCP", "nosuch.test", 7))
    assert (await rig.told_a(SocketOpened)).err == 565
    rig.run(ResolveName(5, "echo.test", ping=True))
    resolved = await rig.told_a(NameResolved)
    assert resolved.token == 5 and len(resolved.addresses) == 1 and resolved.reachable


async def test_a_listener_is_routed_and_unrouted_through_the_internet_api(rig: Rig) -> None:
    rig.run(OpenSocket(11, 1, "TCP LISTENER", "127.0.0.1", 0, local_port=2020, modem_ip="100.64.0.9"))
    opened = await rig.told_a(SocketOpened)
    assert sockets.listeners(rig.net) == {11: opened.real_port}
    assert rig.net.internet.connect_target("100.64.0.9", 2020)[0] == ("127.0.0.1", opened.real_port)
    rig.run(CloseSocket(11, 1))
    assert sockets.listeners(rig.net) == {}
    assert rig.net.internet.connect_target("100.64.0.9", 2020)[1] == "refused"


async def test_one_cut_resets_the_socket_and_the_mqtt_session_on_that_host(rig: Rig) -> None:
    """A QI socket and a QMT connection to the same host: one FakeInternet.cut resets both, and
    each executor tells the modem in its own words (SocketClosed; MqttClosed = +QMTSTAT 1)."""
    rig.run(OpenSocket(0, 1, "TCP", "echo.test", 7))
    assert (await rig.told_a(SocketOpened)).err == 0
    rig.run(MqttOpen(3, "echo.test", 1883))
    assert (await rig.told_a(MqttOpened)).result == OPEN_OK
    assert mqtt_exec.session_for(rig.net, MqttOpen(3, "echo.test", 1883)) is not None
    assert rig.net.internet.cut("echo.test", None) == 2
    closed = await rig.told_a(SocketClosed)
    assert (closed.conn_id, closed.gen) == (0, 1)
    assert (await rig.told_a(MqttClosed)).err_code == STAT_PEER_CLOSED
    assert "mqtt:qmt:3" not in rig.net.resources
    assert rig.net.internet.cut("echo.test", None) == 0  # nothing open any more


async def test_mqtt_open_to_a_name_that_does_not_resolve(rig: Rig) -> None:
    rig.run(MqttOpen(1, "nosuch.test", 1883))
    assert (await rig.told_a(MqttOpened)).result == OPEN_DNS_FAILED


def test_trust_reads_the_backends_ca_files_live() -> None:
    """The transport hands trust in as a mapping, read at connect time: a ThingPlug broker
    restarted from the console comes back with a fresh CA that the modem must trust."""
    from emulator.backends.base import Backend, BackendContext
    from emulator.transport.netwiring import BackendCAs

    class Platform(Backend):
        name = "thingplug"
    backend = Platform(None, BackendContext(clock=VirtualClock(), internet=FakeInternet()))
    backends: dict[str, Backend] = {"thingplug": backend}
    trust = Trust(BackendCAs(backends))
    assert trust.ca_file("thingplug") is None and dict(trust.ca_files) == {}
    backend.ca_file = "/tmp/run1/ca.pem"
    assert trust.ca_file("thingplug") == "/tmp/run1/ca.pem"
    backend.ca_file = "/tmp/run2/ca.pem"  # restarted
    assert dict(trust.ca_files) == {"thingplug": "/tmp/run2/ca.pem"}
    assert trust.ca_file("ctwing") is None
