"""The LwM2M executors (emulator/net/lwm2m_exec.py) in the real runner, with a stand-in client.

The real ``Lwm2mClient`` (aiocoap) is built elsewhere; here a recording fake with the same
surface checks the glue: FakeInternet routing, result mapping, platform requests waiting for
the host's AT answers, CON outcomes, and that the client is closed at deregistration.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from emulator.config import Config, ModemSpec
from emulator.net import lwm2m_exec
from emulator.transport.runner import Emulator

HELLO = "68656c6c6f776f726c64"
CONFIG = 'AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5683,"868543060974334",86400,3,0'


class FakeClient:
    instances: list["FakeClient"] = []
    register_code = "2.01"

    def __init__(self, host, port, endpoint, lifetime, *, psk_identity=None, psk=None, objects=(),
                 on_observe=None, on_write=None, on_read=None, on_execute=None, ack_timeout=2.0,
                 max_retransmit=4, gate=None):
        self.args = dict(host=host, port=port, endpoint=endpoint, lifetime=lifetime,
                         psk_identity=psk_identity, psk=psk, objects=objects,
                         ack_timeout=ack_timeout, max_retransmit=max_retransmit)
        self.on_observe, self.on_write, self.on_read = on_observe, on_write, on_read
        self.on_execute = on_execute
        self.notes: list[tuple] = []
        self.calls: list[tuple] = []
        self.closed = False
        FakeClient.instances.append(self)

    gate: asyncio.Event | None = None  # set: register() waits for it (a slow server)

    async def register(self):
        self.calls.append(("register",))
        if FakeClient.gate is not None:
            await FakeClient.gate.wait()
        code = FakeClient.register_code
        return SimpleNamespace(ok=code.startswith("2."), code=code, mid=1)

    update_gate: asyncio.Event | None = None  # set: update() waits for it

    async def update(self, lifetime=None, binding=None):
        self.calls.append(("update", lifetime, binding))
        if FakeClient.update_gate is not None:
            await FakeClient.update_gate.wait()
        return SimpleNamespace(ok=True, code="2.04", mid=2)

    async def deregister(self):
        self.calls.append(("deregister",))
        return SimpleNamespace(ok=True, code="2.02", mid=3)

    def notify(self, path, payload, confirmable=False):
        fut = asyncio.get_running_loop().create_future()
        if not confirmable:
            fut.set_result("sent")
        self.notes.append((tuple(path), payload, confirmable, fut))
        return SimpleNamespace(mid=99, confirmable=confirmable, seq=1, result=fut)

    async def close(self):
        self.closed = True


@pytest.fixture
async def rig(monkeypatch):
    monkeypatch.setattr(lwm2m_exec, "Lwm2mClient", FakeClient)
    FakeClient.instances.clear()
    FakeClient.register_code = "2.01"
    FakeClient.gate = None
    FakeClient.update_gate = None
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e", {"lwm2m_mid_seed": 13859})],
                   ephemeral=True, with_pty=False, with_tcp=False, backends=[], follow_wall=False)
    emu.internet.add_name("lwm2m.ctwing.cn", "221.229.214.202")
    emu.internet.add_route("221.229.214.202", 5683, ("127.0.0.1", 15683), "ctwing-lwm2m")
    await emu.start()
    port = emu.ports["ec800e"]
    buf = bytearray()
    port.sinks.append(buf.extend)
    r = SimpleNamespace(emu=emu, port=port, buf=buf)

    async def until(text: str) -> str:
        for _ in range(500):
            if text.encode() in buf:
                out = buf.decode()
                buf.clear()
                return out
            await asyncio.sleep(0.001)
        raise AssertionError(f"{text!r} not in {bytes(buf)!r}")

    def send(line: str) -> None:
        port.feed(line.encode() + b"\r")

    r.until, r.send = until, send
    send("ATE0")
    await until("OK")
    yield r
    await emu.stop()


async def settle(cond) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never met")


async def register(rig) -> FakeClient:
    rig.send('AT+QLWCFG="lifetime_enable",0')
    rig.send(CONFIG)
    rig.send("AT+QLWADDOBJ=19,0,1,0")
    rig.send("AT+QLWADDOBJ=19,1,1,0")
    rig.send("AT+QLWREG")
    await rig.until("+QLWREG: 0")
    return FakeClient.instances[-1]


async def test_register_routes_through_the_fake_internet(rig) -> None:
    client = await register(rig)
    assert client.args["host"] == "127.0.0.1" and client.args["port"] == 15683
    assert client.args["endpoint"] == "868543060974334"
    assert client.args["objects"] == [(19, 0, [0]), (19, 1, [0])]
    assert (client.args["ack_timeout"], client.args["max_retransmit"]) == (2.0, 4)
    assert rig.port.resources["lwm2m"].client is client


async def test_observe_notify_write_deregister(rig) -> None:
    client = await register(rig)
    fut = client.on_observe(44297, (19, 0, 0), False)
    await rig.until('+QLWURC: "observe",44297,0,19,0,0')
    assert not fut.done()
    rig.send(f'AT+QLWOBSRSP=44297,1,19,0,0,2,10,"{HELLO}",0')
    await rig.until("+QLWOBSRSP: 44297,0")
    code, payload = await asyncio.wait_for(fut, 1)
    assert (int(code), payload) == (0x45, b"helloworld")

    rig.send(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    await rig.until("+QLWNOTIFY: 0")
    await settle(lambda: len(client.notes) == 1)
    path, data, con, note = client.notes[-1]
    assert (path, data, con) == ((19, 0, 0), b"helloworld", True)
    note.set_result("ack")
    assert '+QLWURC: "report_ack",0,13859' in await rig.until("report_ack")

    rig.send(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
    await rig.until("+QLWNOTIFY: 0")
    await settle(lambda: len(client.notes) == 2)
    client.notes[-1][3].set_result("timeout")  # the client's own retransmissions ran out
    assert '+QLWURC: "report_ack",1,13860' in await rig.until("report_ack")

    wfut = client.on_write(44299, (19, 1, 0), b"helloworld ack")
    await rig.until('+QLWURC: "write",44299,19,1,0,2,14,68656C6C6F776F726C642061636B,0')
    rig.send("AT+QLWWRRSP=44299,2")
    await rig.until("+QLWWRRSP: 44299,0")
    code, _ = await asyncio.wait_for(wfut, 1)
    assert int(code) == 0x44

    rig.send("AT+QLWUPDATE=0,3600")
    assert "+QLWUPDATE: 0,13861" in await rig.until("+QLWUPDATE")
    assert ("update", 3600, None) in client.calls

    rig.send("AT+QLWDEREG")
    await rig.until("+QLWDEREG: 0")
    assert client.closed and "lwm2m" not in rig.port.resources


async def test_request_on_unknown_object_and_when_not_answerable(rig) -> None:
    client = await register(rig)
    code, _ = await asyncio.wait_for(client.on_write(5, (3303, 0, 5700), b"1"), 1)
    assert int(code) == 0x84  # the module answered 4.04 itself
    rig.send("AT+QLWDEREG")
    await rig.until("+QLWDEREG: 0")
    code, _ = await asyncio.wait_for(client.on_read(6, (19, 0, 0)), 1)
    assert int(code) == 0xA3  # not registered any more: 5.03, never a hang


async def test_refused_endpoint_and_unknown_host(rig) -> None:
    FakeClient.register_code = "4.03"
    rig.send(CONFIG)
    rig.send("AT+QLWREG")
    await rig.until("+QLWREG: -9")
    assert FakeClient.instances[-1].closed and "lwm2m" not in rig.port.resources
    rig.send('AT+QLWCONFIG=0,"nowhere.invalid",5683,"868543060974334",86400,3,0')
    rig.send("AT+QLWREG")
    await rig.until("+QLWREG: -3")
    rig.send('AT+QLWCONFIG=0,"221.229.214.202",9999,"868543060974334",86400,3,0')
    rig.send("AT+QLWREG")
    await rig.until("+QLWREG: -1")  # no route to that port: refused
    rig.send("AT")
    await rig.until("OK")


async def test_dropped_route_times_out_on_the_virtual_clock(rig) -> None:
    from emulator.net.internet import Fault
    rig.emu.internet.add_fault("221.229.214.202", 5683, Fault("drop"))
    rig.send(CONFIG)
    rig.send("AT+QLWREG")
    await rig.until("OK")
    assert not FakeClient.instances
    rig.emu.advance(62)
    await rig.until("+QLWREG: -2")


async def test_modem_gives_up_on_a_slow_register(rig) -> None:
    FakeClient.gate = asyncio.Event()
    rig.send(CONFIG)
    rig.send("AT+QLWREG")
    await rig.until("OK")
    await settle(lambda: len(FakeClient.instances) == 1)
    rig.emu.advance(62)  # the modem's retransmission budget, on the virtual clock
    await rig.until("+QLWREG: -2")
    await settle(lambda: FakeClient.instances[0].closed)
    assert "lwm2m" not in rig.port.resources
    FakeClient.gate.set()  # the stale registration answers at last: nothing happens
    await asyncio.sleep(0.01)
    rig.send("AT+QLWSTATUS?")
    out = await rig.until("OK")
    assert "+QLWSTATUS: 0" in out and "+QLWREG" not in out


async def test_platform_requests_during_update_follow_its_result(rig) -> None:
    """Guide 001 §4.1.3.1: "+QLWUPDATE: 0,<mid>" comes before the "write" the Update triggered,
    even when the client hands the write over first (aiocoap does not order the two)."""
    client = await register(rig)
    FakeClient.update_gate = asyncio.Event()
    rig.send("AT+QLWUPDATE=0,86400")
    await rig.until("OK")
    wfut = client.on_write(44299, (19, 1, 0), b"helloworld ack")
    await asyncio.sleep(0.01)
    assert b"write" not in rig.buf and not wfut.done()  # held while the Update is in flight
    FakeClient.update_gate.set()
    out = await rig.until('"write"')
    assert out.index("+QLWUPDATE: 0,") < out.index('+QLWURC: "write",44299,19,1,0,2,14,')
    rig.send("AT+QLWWRRSP=44299,2")
    await rig.until("+QLWWRRSP: 44299,0")
    assert int((await asyncio.wait_for(wfut, 1))[0]) == 0x44


async def test_observe_during_register_follows_its_result(rig) -> None:
    FakeClient.gate = asyncio.Event()
    rig.send(CONFIG)
    rig.send("AT+QLWADDOBJ=19,0,1,0")
    rig.send("AT+QLWREG")
    await settle(lambda: len(FakeClient.instances) == 1)
    fut = FakeClient.instances[0].on_observe(44297, (19, 0, 0), False)
    await asyncio.sleep(0.01)
    assert b"observe" not in rig.buf
    FakeClient.gate.set()
    out = await rig.until('"observe"')
    assert out.index("+QLWREG: 0") < out.index('+QLWURC: "observe",44297,0,19,0,0')
    assert not fut.done()  # waiting for the host's AT+QLWOBSRSP
