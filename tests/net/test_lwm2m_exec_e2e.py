"""AT+QLW* end to end: modem -> lwm2m_exec -> real Lwm2mClient (aiocoap) -> the embedded LwM2M
server, plain CoAP and DTLS-PSK, on loopback (guide 001 §4.1.3.1 / §4.1.3.2 flows).

Skipped until the client (``emulator/net/lwm2m_client.py``) and the server
(``emulator/backends/lwm2m``) are in the tree (they are built on another branch). Waiting here
is bounded polling for real socket I/O only; no protocol timer runs on the wall clock.
"""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

pytest.importorskip("emulator.net.lwm2m_client")
server_mod = pytest.importorskip("emulator.backends.lwm2m.server")
dtls_adapter = pytest.importorskip("emulator.backends.lwm2m.dtls_adapter")

from emulator.config import Config, ModemSpec  # noqa: E402
from emulator.net import lwm2m_exec  # noqa: E402,F401 - registers the executors
from emulator.transport.runner import Emulator  # noqa: E402

pytestmark = pytest.mark.slow
IMEI = "868543060974334"
PSK_HEX = "5459766f69546b333444334e5a36474e"  # TYvoiTk34D3NZ6GN (docs/guides.md)
HELLO = "68656c6c6f776f726c64"


class Hooks:
    """The platform side in a few dicts (the CTWing backend does this for real)."""

    def __init__(self) -> None:
        self.uplinks: list[bytes] = []
        self.queue: deque[tuple[int, bytes]] = deque()
        self.results: list[bool] = []

    def authorize(self, endpoint, dtls_identity):
        return "dev1" if endpoint.rsplit(":", 1)[-1] == IMEI else None

    def psk_for(self, identity):
        return bytes.fromhex(PSK_HEX) if identity == IMEI else None

    def on_registered(self, device_id, reg):
        pass

    def on_deregistered(self, device_id, reason):
        pass

    def on_uplink(self, device_id, payload, confirmable, content_format=None):
        self.uplinks.append(payload)

    def next_downlink(self, device_id):
        return self.queue.popleft() if self.queue else None

    def downlink_result(self, device_id, command_id, ok, reason):
        self.results.append(ok)


async def _start(secure: bool):
    hooks = Hooks()
    emu = Emulator(Config(), modems=[ModemSpec("ec800e", "ec800e", {"lwm2m_mid_seed": 13859})],
                   ephemeral=True, with_pty=False, with_tcp=False, backends=[], follow_wall=False)
    srv = server_mod.Lwm2mServer(hooks, emu.clock, port=0, dtls_port=0 if secure else None,
                                 ack_timeout=0.2, max_retransmit=1)
    endpoints = await srv.start()
    key = "ctwing_lwm2m_dtls" if secure else "ctwing_lwm2m"
    if key not in endpoints:
        await srv.stop()
        pytest.skip("DTLS listener not available")
    emu.internet.add_name("lwm2m.ctwing.cn", "221.229.214.202")
    emu.internet.add_route("221.229.214.202", 5684 if secure else 5683, endpoints[key])
    await emu.start()
    port = emu.ports["ec800e"]
    buf = bytearray()
    port.sinks.append(buf.extend)

    async def until(text: str) -> str:
        for _ in range(2500):
            if text.encode() in buf:
                out = buf.decode()
                buf.clear()
                return out
            await asyncio.sleep(0.002)
        raise AssertionError(f"{text!r} not in {bytes(buf)!r}")

    def send(line: str) -> None:
        port.feed(line.encode() + b"\r")
    send("ATE0")
    await until("OK")
    return emu, srv, hooks, send, until


@pytest.mark.parametrize("secure", [False, True], ids=["coap", "dtls-psk"])
async def test_guide_flow_over_real_coap(secure: bool) -> None:
    emu, srv, hooks, send, until = await _start(secure)
    try:
        send('AT+QLWCFG="lifetime_enable",0')
        if secure:
            send(f'AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5684,"urn:imei:{IMEI}",86400,0,"{IMEI}","{PSK_HEX}"')
        else:
            send(f'AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5683,"{IMEI}",86400,3,0')
        send("AT+QLWADDOBJ=19,0,1,0")
        send("AT+QLWADDOBJ=19,1,1,0")
        send("AT+QLWREG")
        out = await until('"observe"')
        assert "+QLWREG: 0" in out
        msgid = int(out.split('"observe",')[1].split(",")[0])
        assert out.endswith(f'+QLWURC: "observe",{msgid},0,19,0,0\r\n')
        send(f'AT+QLWOBSRSP={msgid},1,19,0,0,2,10,"{HELLO}",0')
        await until(f"+QLWOBSRSP: {msgid},0")
        for _ in range(500):  # the observe response travels to the platform
            reg = srv.registrations.get("/rd/0")
            if reg is not None and (19, 0, 0) in reg.observations:
                break
            await asyncio.sleep(0.002)
        send(f'AT+QLWNOTIFY=19,0,0,2,10,"{HELLO}",0,1')
        out = await until('"report_ack"')
        assert out.endswith('+QLWURC: "report",13859\r\n\r\n+QLWNOTIFY: 0\r\n\r\n+QLWURC: "report_ack",0,13859\r\n')
        assert hooks.uplinks == [b"helloworld"]
        hooks.queue.append((1, b"helloworld ack"))
        send("AT+QLWUPDATE=0,86400")
        out = await until('"write"')
        assert "+QLWUPDATE: 0,13860" in out
        wid = int(out.split('"write",')[1].split(",")[0])
        assert f'+QLWURC: "write",{wid},19,1,0,2,14,68656C6C6F776F726C642061636B,0' in out
        send(f"AT+QLWWRRSP={wid},2")
        await until(f"+QLWWRRSP: {wid},0")
        for _ in range(500):
            if hooks.results:
                break
            await asyncio.sleep(0.002)
        assert hooks.results == [True]
        send("AT+QLWDEREG")
        assert "+QLWDEREG: 0" in await until("+QLWDEREG")
    finally:
        await emu.stop()
        await srv.stop()


async def test_unknown_endpoint_is_refused_with_minus_9() -> None:
    emu, srv, hooks, send, until = await _start(False)
    try:
        send('AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5683,"000000000000000",86400,3,0')
        send("AT+QLWREG")
        assert "+QLWREG: -9" in await until("+QLWREG")
        send("AT+QLWSTATUS?")
        assert "+QLWSTATUS: 0" in await until("OK")
    finally:
        await emu.stop()
        await srv.stop()


async def test_wrong_psk_fails_registration_and_stores_nothing() -> None:
    """A PSK the platform does not have: the platform answers the client's Finished with the
    fatal alert bad_record_mac at once (issue 15: it used to drop it silently and the module
    learnt it 62 s later), the module reports +QLWREG: -1 without waiting for retransmissions,
    the platform logs the failed handshake with the identity and holds no registration."""
    emu, srv, hooks, send, until = await _start(True)
    try:
        wrong = PSK_HEX[:-2] + "4f"
        send(f'AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5684,"urn:imei:{IMEI}",86400,0,"{IMEI}","{wrong}"')
        send("AT+QLWREG")
        await until("OK")
        assert "+QLWREG: -1" in await until("+QLWREG")  # no virtual time advanced: the alert ended it
        assert [(e["identity"], e["alert"]) for e in srv.events] == [(IMEI, "bad_record_mac")]
        await asyncio.sleep(0.05)  # the module dropped its client (Lwm2mClose) on loopback
        assert "lwm2m" not in emu.ports["ec800e"].resources
        assert len(srv.registrations) == 0 and hooks.uplinks == []
        send("AT+QLWSTATUS?")
        assert "+QLWSTATUS: 0" in await until("OK")
    finally:
        await emu.stop()
        await srv.stop()


async def test_platform_execute_reaches_the_host() -> None:
    """A server's Execute (POST on an announced resource, LwM2M 1.0 §5.4.5) is the host's to
    answer: +QLWURC: "execute",<msgid>,19,1,0 then AT+QLWEXERSP=<msgid>,2 -> 2.04 on the wire
    (the client used to answer 4.05 by itself, so the URC and AT+QLWEXERSP were unreachable)."""
    from aiocoap import Code
    emu, srv, hooks, send, until = await _start(False)
    try:
        send('AT+QLWCFG="lifetime_enable",0')
        send(f'AT+QLWCONFIG=0,"lwm2m.ctwing.cn",5683,"{IMEI}",86400,3,0')
        send("AT+QLWADDOBJ=19,0,1,0")
        send("AT+QLWADDOBJ=19,1,1,0")
        send("AT+QLWREG")
        await until('"observe"')
        resp = asyncio.ensure_future(srv._request("/rd/0", code=Code.POST, uri_path=("19", "1", "0")).response)
        out = await until('"execute"')
        msgid = int(out.split('"execute",')[1].split(",")[0])
        assert out.endswith(f'+QLWURC: "execute",{msgid},19,1,0\r\n')
        assert not resp.done()
        send(f"AT+QLWEXERSP={msgid},2")
        await until(f"+QLWEXERSP: {msgid},0")
        assert (await asyncio.wait_for(resp, 2)).code == Code.CHANGED
    finally:
        await emu.stop()
        await srv.stop()
