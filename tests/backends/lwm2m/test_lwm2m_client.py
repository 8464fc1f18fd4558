"""emulator.net.lwm2m_client.Lwm2mClient against the embedded LwM2M server, end to end on loopback:
the AT-layer shaped flow of seed 001 §4.1.3 (register, observe answered later, CON notify with
report_ack, Update triggers the downlink write answered later, de-register)."""

from __future__ import annotations

import asyncio

import pytest
from aiocoap import Code

from emulator.backends.lwm2m import dtls_adapter
from emulator.net.lwm2m_client import Lwm2mClient, Lwm2mClientError
from lwm2m_support import DEV, IMEI, PSK

pytestmark = pytest.mark.slow


class AtLayer:
    """Stands in for the modem's AT handlers: records URC-like events, answers later."""

    def __init__(self):
        self.urcs: asyncio.Queue = asyncio.Queue()

    def on_observe(self, mid, path, cancel):
        self.urcs.put_nowait(("observe", mid, 1 if cancel else 0, path))
        return None  # answered later by AT+QLWOBSRSP

    def on_write(self, mid, path, payload):
        self.urcs.put_nowait(("write", mid, path, payload))
        return None  # answered later by AT+QLWWRRSP

    async def next(self, kind):
        urc = await asyncio.wait_for(self.urcs.get(), 5)
        assert urc[0] == kind, urc
        return urc


def make_client(server, at, secure=False, **kw):
    key = "ctwing_lwm2m_dtls" if secure else "ctwing_lwm2m"
    host, port = server.endpoints[key]
    extra = {"psk_identity": IMEI, "psk": PSK} if secure else {}
    ep = f"urn:imei:{IMEI}" if secure else IMEI
    return Lwm2mClient(host, port, ep, 86400, on_observe=at.on_observe, on_write=at.on_write, **extra, **kw)


async def run_guide_flow(server, hooks, client, at):
    reg = await client.register()
    assert reg.ok and reg.code == "2.01" and reg.location == "/rd/0" and isinstance(reg.mid, int)
    _, mid, flag, path = await at.next("observe")  # +QLWURC: "observe",<mid>,0,19,0,0
    assert (flag, path) == (0, (19, 0, 0))
    with pytest.raises(Lwm2mClientError):
        client.notify((19, 0, 0), b"too early")  # not observed until the module answers
    assert client.observe_response(mid, b"helloworld")  # AT+QLWOBSRSP=<mid>,1,...
    for _ in range(100):  # the first response travels to the platform
        if (19, 0, 0) in server.registrations.get("/rd/0").observations:
            break
        await asyncio.sleep(0.01)
    note = client.notify((19, 0, 0), b"helloworld", confirmable=True)  # AT+QLWNOTIFY=...,0,1
    assert isinstance(note.mid, int)
    assert await asyncio.wait_for(note.result, 5) == "ack"  # +QLWURC: "report_ack",0,<mid>
    assert hooks.uplinks == [(DEV, b"helloworld", True)]
    non = client.notify((19, 0, 0), b"non", confirmable=False)
    assert await non.result == "sent"
    await hooks.wait_for(lambda e: e[0] == "uplink" and e[2] == b"non")

    hooks.queue(DEV, 1, b"helloworld ack")
    upd = await client.update(86400)  # AT+QLWUPDATE=0,86400 triggers the downlink
    assert upd.ok and upd.code == "2.04" and upd.mid != reg.mid
    _, wmid, wpath, payload = await at.next("write")  # +QLWURC: "write",<mid>,19,1,0,2,14,...
    assert (wpath, payload) == ((19, 1, 0), b"helloworld ack")
    assert client.write_response(wmid, Code.CHANGED)  # AT+QLWWRRSP=<mid>,2
    await hooks.wait_for(lambda e: e[0] == "result")
    assert hooks.results == [(DEV, 1, True, "2.04 Changed")]

    dereg = await client.deregister()
    assert dereg.ok and dereg.code == "2.02"
    assert hooks.events[-1] == ("deregistered", DEV, "deregistered")


async def test_plain_client_guide_flow(server, hooks):
    at = AtLayer()
    client = make_client(server, at)
    try:
        await run_guide_flow(server, hooks, client, at)
        # the platform talked to the socket the client registered from
        assert client.local_address[1] > 0
    finally:
        await client.close()


@pytest.mark.needs_dtls
@pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")
async def test_dtls_client_guide_flow(server, hooks):
    at = AtLayer()
    client = make_client(server, at, secure=True)
    try:
        await run_guide_flow(server, hooks, client, at)
        assert hooks.events[0] == ("registered", DEV, "/rd/0")
    finally:
        await client.close()


async def test_unknown_endpoint_registration_refused(server, hooks):
    host, port = server.endpoints["ctwing_lwm2m"]
    client = Lwm2mClient(host, port, "860000000000001", 300)
    try:
        res = await client.register()
        assert not res.ok and res.code == "4.03"  # the module prints +QLWREG: -9 (seed 001 §7)
        assert client.location is None
        with pytest.raises(Lwm2mClientError):
            await client.update(300)
    finally:
        await client.close()


async def test_immediate_answers_and_rejected_write(server, hooks):
    """auto_ack-style callbacks that answer at once; a rejected write is a failed downlink."""
    host, port = server.endpoints["ctwing_lwm2m"]
    client = Lwm2mClient(host, port, IMEI, 300, on_observe=lambda mid, path, cancel: b"auto",
                         on_write=lambda mid, path, payload: Code.BAD_REQUEST)
    try:
        hooks.queue(DEV, 4, b"cmd")
        assert (await client.register()).ok
        await hooks.wait_for(lambda e: e[0] == "result")
        assert hooks.results == [(DEV, 4, False, "4.00 Bad Request")]
        for _ in range(100):
            if client.observed:
                break
            await asyncio.sleep(0.01)
        assert client.observed == [(19, 0, 0)]
    finally:
        await client.close()


async def test_con_register_to_dead_server_times_out():
    """Retransmission parameters are honoured (aiocoap's wall-clock timers: 0.05 s x 1 retry)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # bound, never answers
        sink.bind(("127.0.0.1", 0))
        client = Lwm2mClient("127.0.0.1", sink.getsockname()[1], IMEI, 300, ack_timeout=0.05, max_retransmit=1)
        try:
            res = await asyncio.wait_for(client.register(), 5)
            assert not res.ok and res.code == "timeout"
        finally:
            await client.close()


async def test_update_before_observe_answer_does_not_reobserve(server, hooks):
    at = AtLayer()
    client = make_client(server, at)
    try:
        assert (await client.register()).ok
        _, mid, _, _ = await at.next("observe")  # not answered yet
        hooks.queue(DEV, 2, b"x")
        assert (await client.update()).ok
        _, wmid, _, _ = await at.next("write")  # the downlink, not a second observe
        client.write_response(wmid)
        assert client.observe_response(mid, b"late")
        await hooks.wait_for(lambda e: e[0] == "result")
    finally:
        await client.close()


async def test_reachability_window_defers_kick(hooks, clock):
    """With reachable_for (PSM-like), a kick long after the last contact waits for the next Update."""
    from emulator.backends.lwm2m.server import Lwm2mServer

    srv = Lwm2mServer(hooks, clock, dtls_port=None, reachable_for=20)
    await srv.start()
    at = AtLayer()
    client = make_client(srv, at)
    client.on_write = lambda mid, path, payload: Code.CHANGED
    try:
        assert (await client.register()).ok
        clock.advance(21)
        hooks.queue(DEV, 3, b"wake")
        srv.kick(DEV)
        await asyncio.sleep(0.1)  # negative check: nothing may be written
        assert hooks.results == []
        assert (await client.update()).ok
        await hooks.wait_for(lambda e: e[0] == "result")
        assert hooks.results == [(DEV, 3, True, "2.04 Changed")]
    finally:
        await client.close()
        await srv.stop()


@pytest.mark.needs_dtls
@pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")
async def test_dtls_client_wrong_psk_fails(server, hooks):
    host, port = server.endpoints["ctwing_lwm2m_dtls"]
    client = Lwm2mClient(host, port, f"urn:imei:{IMEI}", 300, psk_identity=IMEI, psk=b"not-the-right-psk",
                          ack_timeout=0.2, max_retransmit=1)
    try:
        # the server answers the bad Finished with a fatal alert: the Register fails at once
        # with the reason (before the CON Register's first retransmission timer could matter)
        res = await asyncio.wait_for(client.register(), 10)
        assert not res.ok and res.code == "error" and "fatal alert" in res.error, res
        assert len(server.registrations) == 0 and hooks.events == []
        assert [e["alert"] for e in server.events] == ["bad_record_mac"]
    finally:
        await client.close()


async def test_notification_after_lifetime_expiry_is_reset_not_acked(server, hooks, clock):
    """Once the platform's lifetime for the registration ran out (virtual clock) it stopped
    observing: the device's next CON notification must get RST (RFC 7641 §3.6: a client no
    longer interested rejects a notification), not an ACK that makes the module print
    "report_ack",0 for data the platform threw away."""
    at = AtLayer()
    client = make_client(server, at)
    try:
        assert (await client.register()).ok
        _, mid, _, _ = await at.next("observe")
        assert client.observe_response(mid, b"")
        for _ in range(100):
            if (19, 0, 0) in server.registrations.get("/rd/0").observations:
                break
            await asyncio.sleep(0.01)
        clock.advance(86400 + 1)
        assert len(server.registrations) == 0
        note = client.notify((19, 0, 0), b"too late", confirmable=True)
        assert await asyncio.wait_for(note.result, 5) == "rst"
        assert [e for e in hooks.events if e[0] == "uplink"] == []
    finally:
        await client.close()


async def test_unanswered_write_fails_when_the_registration_ends_and_does_not_block_the_queue(server, hooks):
    """A downlink write the host never answered (no AT+QLWWRRSP) must not stay "sent" forever
    nor hold back every later command of the device: when the registration ends it is failed,
    and after the next registration the next command is delivered."""
    at = AtLayer()
    client = make_client(server, at)
    try:
        assert (await client.register()).ok
        _, mid, _, _ = await at.next("observe")
        assert client.observe_response(mid, b"")
        hooks.queue(DEV, 1, b"one")
        server.kick(DEV)
        await at.next("write")  # +QLWURC: "write",... and the host stays silent
        assert (await client.deregister()).ok
        event = await hooks.wait_for(lambda e: e[0] == "result")
        assert event == ("result", DEV, 1, False)
        assert "registration ended" in hooks.results[0][3]
        assert (await client.register()).ok
        _, mid, _, _ = await at.next("observe")
        assert client.observe_response(mid, b"")
        hooks.queue(DEV, 2, b"two")
        server.kick(DEV)
        _, wmid, _, payload = await at.next("write")
        assert payload == b"two" and client.write_response(wmid, Code.CHANGED)
        assert await hooks.wait_for(lambda e: e[0] == "result" and e[2] == 2) == ("result", DEV, 2, True)
    finally:
        await client.close()


class CountingGate:
    """A route gate (faultgate.RouteGate's ``datagram`` contract): passes or drops each datagram."""

    def __init__(self, drop: bool):
        self.drop, self.seen = drop, []

    def datagram(self, send, name="datagram"):
        self.seen.append(name)
        if self.drop:
            return False
        send()
        return True


@pytest.mark.needs_dtls
@pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")
@pytest.mark.parametrize("drop", [False, True])
async def test_dtls_client_handshake_passes_the_route_gate(server, hooks, drop):
    """The DTLS session is gated from its first datagram (the handshake too); a route that drops
    everything ends the Register by the CoAP retransmission timeout ("timeout", +QLWREG: -2),
    not by a wall-clock handshake deadline."""
    gate = CountingGate(drop)
    host, port = server.endpoints["ctwing_lwm2m_dtls"]
    client = Lwm2mClient(host, port, f"urn:imei:{IMEI}", 300, psk_identity=IMEI, psk=PSK,
                         ack_timeout=0.2, max_retransmit=1, gate=gate)
    try:
        res = await asyncio.wait_for(client.register(), 10)
        if drop:
            assert not res.ok and res.code == "timeout", res
            assert set(gate.seen) == {"coap-out"} and len(server.registrations) == 0
        else:
            assert res.ok, res
            # ClientHello twice (cookie), ClientKeyExchange flight, the Register; and answers
            assert gate.seen.count("coap-out") >= 4 and gate.seen.count("coap-in") >= 4
    finally:
        await client.close()
