"""DTLS-PSK listener (python-mbedtls): libcoap's coap-client-openssl and coap-client-gnutls as
independent peers with both LwM2M 1.0 TS §7.1.7 suites, a wrong key and a wrong identity (the
alert they report and the failure the platform logs), and the modem's own mbedtls client as a
device for the full round trip (register, Observe and Write back over the device's session)."""

from __future__ import annotations

import asyncio
import logging
import shutil

import aiocoap
import pytest
from aiocoap import CON, Code
from aiocoap.numbers.constants import Reliable

from emulator.backends.lwm2m import dtls_adapter
from emulator.backends.lwm2m.server import Lwm2mServer
from emulator.net.dtls_client import open_dtls_transport
from lwm2m_support import DEV, IMEI, LINKS, PSK, Device

EP = "urn:imei:" + IMEI
CCM_8, CBC_SHA256 = "TLS-PSK-WITH-AES-128-CCM-8", "TLS-PSK-WITH-AES-128-CBC-SHA256"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_dtls,
    pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS"),
]
CLIENTS = ["coap-client-openssl", "coap-client-gnutls"]


def libcoap(fn):
    return pytest.mark.needs_libcoap(fn)


def _need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} missing (apt-get install libcoap3-bin)")


async def coap_client(server, identity, key, path, method="post", payload=LINKS, tool="coap-client-openssl"):
    """Run a libcoap client; it exits 0 even when the handshake fails, so return its output."""
    _need(tool)
    host, port = server.endpoints["ctwing_lwm2m_dtls"]
    proc = await asyncio.create_subprocess_exec(
        tool, "-v", "6", "-B", "3", "-u", identity, "-k", key, "-m", method,
        "-e", payload.decode(), f"coaps://{host}:{port}/{path}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace")


@pytest.fixture
async def server_with(hooks, clock):
    made = []

    async def make(ciphers):
        srv = Lwm2mServer(hooks, clock, port=0, dtls_port=0, ack_timeout=0.2, max_retransmit=1,
                          dtls_ciphers=ciphers)
        await srv.start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        await srv.stop()


@libcoap
@pytest.mark.parametrize("tool", CLIENTS)
@pytest.mark.parametrize("suite", [CCM_8, CBC_SHA256])
async def test_libcoap_registers_with_each_mandatory_suite(server_with, hooks, tool, suite):
    """LwM2M 1.0 TS §7.1.7: both PSK suites are mandatory; the listener offers only ``suite`` here,
    so the handshake can only succeed on it."""
    server = await server_with((suite,))
    out = await coap_client(server, IMEI, PSK.decode(), f"rd?ep={EP}&lt=300&b=U", tool=tool)
    assert "2.01" in out, out
    [reg] = list(server.registrations)
    assert (reg.endpoint, reg.dtls_identity) == (EP, IMEI)
    assert [(ident, cipher) for _peer, ident, cipher in server.dtls.established] == [(IMEI, suite)]
    assert server.events == []


@libcoap
@pytest.mark.parametrize("tool", CLIENTS)
async def test_wrong_psk_is_refused_at_once_and_logged(server, hooks, tool, caplog):
    caplog.set_level(logging.INFO, "modemu.lwm2m.dtls")
    out = await coap_client(server, IMEI, "wrong-key-000000", f"rd?ep={EP}&lt=300", tool=tool)
    assert "bad record mac" in out.lower() or "Alert '20'" in out, out  # openssl / gnutls wording
    assert len(server.registrations) == 0 and hooks.events == []
    [event] = server.events
    assert event["type"] == "dtls_handshake_failed" and event["identity"] == IMEI
    assert event["alert"] == "bad_record_mac" and "wrong PSK" in event["reason"]
    assert any(f"identity '{IMEI}'" in r.getMessage() and "wrong PSK" in r.getMessage() for r in caplog.records)


@libcoap
@pytest.mark.parametrize("tool", CLIENTS)
async def test_unknown_identity_gets_unknown_psk_identity(server, hooks, tool, caplog):
    caplog.set_level(logging.INFO, "modemu.lwm2m.dtls")
    out = await coap_client(server, "860000000000001", PSK.decode(), f"rd?ep={EP}", tool=tool)
    # the alert as each library reports it: openssl by name, gnutls by number (RFC 4279 §2: 115)
    assert "unknown psk identity" in out.lower() or "Alert '115'" in out, out
    assert len(server.registrations) == 0
    [event] = server.events
    assert event["identity"] == "860000000000001" and event["alert"] == "unknown_psk_identity"
    assert any("'860000000000001'" in r.getMessage() and "unknown PSK identity" in r.getMessage()
               for r in caplog.records)


@libcoap
async def test_close_notify_ends_the_session_and_its_observe(server, hooks, caplog):
    """coap-client sends close_notify when it exits: the platform's Observe of /19/0/0 that went
    out over that session must fail at once (no retransmissions into a closed session)."""
    caplog.set_level(logging.INFO, "modemu.lwm2m")
    out = await coap_client(server, IMEI, PSK.decode(), f"rd?ep={EP}&lt=300&b=U")
    assert "2.01" in out, out
    assert any("ended: close_notify from the client" in r.getMessage() for r in caplog.records)
    assert server.dtls.peers() == []
    await asyncio.sleep(0.05)
    assert server._observers == {}  # the Observe request failed with the session, not by timeout


@libcoap
async def test_identity_must_match_endpoint_imei(server, hooks):
    other = "860000000000009"
    hooks.psks[other] = b"another-psk-1234"
    out = await coap_client(server, other, "another-psk-1234", f"rd?ep={EP}")
    assert "4.03" in out, out
    assert len(server.registrations) == 0


async def dtls_device_context(server, dev: Device, identity=IMEI, psk=PSK):
    """A device on the modem's own DTLS client (emulator.net.dtls_client) serving ``dev.site``."""
    ctx = aiocoap.Context(loop=asyncio.get_running_loop(), serversite=dev.site)
    remote = await open_dtls_transport(ctx, "127.0.0.1", server.endpoints["ctwing_lwm2m_dtls"], identity, psk)
    return ctx, remote


def req(remote, code, path, payload=b""):
    path, _, query = path.partition("?")
    msg = aiocoap.Message(code=code, payload=payload, uri_path=tuple(path.split("/")),
                          uri_query=tuple(q for q in query.split("&") if q))
    msg.remote = remote
    return msg


async def test_dtls_register_observe_write_round_trip(server, hooks):
    dev = Device()
    ctx, base = await dtls_device_context(server, dev)
    try:
        resp = await ctx.request(req(base, Code.POST, f"rd?ep={EP}&lt=300&b=U&lwm2m=1.0", LINKS)).response
        assert resp.code == Code.CREATED
        await asyncio.wait_for(dev.uplink.observed.wait(), 5)  # Observe came back over DTLS
        await asyncio.sleep(0)
        dev.uplink.updated_state(aiocoap.Message(code=Code.CONTENT, payload=b"secure", transport_tuning=Reliable()))
        await hooks.wait_for(lambda e: e[0] == "uplink")
        assert hooks.uplinks == [(DEV, b"secure", True)]
        hooks.queue(DEV, 9, b'{"taskId":1}')
        server.kick(DEV)
        assert await asyncio.wait_for(dev.downlink.writes.get(), 5) == (b'{"taskId":1}', 42, CON)
        await hooks.wait_for(lambda e: e[0] == "result")
        assert hooks.results == [(DEV, 9, True, "2.04 Changed")]
        # Update and De-register over the same session
        assert (await ctx.request(req(base, Code.POST, "rd/0?lt=600")).response).code == Code.CHANGED
        assert (await ctx.request(req(base, Code.DELETE, "rd/0")).response).code == Code.DELETED
        assert hooks.events[-1] == ("deregistered", DEV, "deregistered")
    finally:
        await ctx.shutdown()


async def test_plain_update_of_dtls_registration_forbidden(server, hooks):
    dev = Device()
    ctx, base = await dtls_device_context(server, dev)
    try:
        resp = await ctx.request(req(base, Code.POST, f"rd?ep={EP}", LINKS)).response
        assert resp.code == Code.CREATED
        async with Device() as plain:
            assert (await plain.send(server, Code.POST, "rd/0")).code == Code.FORBIDDEN
            assert (await plain.send(server, Code.DELETE, "rd/0")).code == Code.FORBIDDEN
        assert len(server.registrations) == 1
    finally:
        await ctx.shutdown()


async def test_listener_says_why_when_the_library_is_missing(hooks, clock, monkeypatch, caplog):
    """A platform without python-mbedtls wheels: plain CoAP still starts, the DTLS listener does
    not, and start-up says why (dtls_status and one warning)."""
    monkeypatch.setattr(dtls_adapter, "DTLS_AVAILABLE", False)
    monkeypatch.setattr(dtls_adapter, "DTLS_MISSING_REASON",
                        "python-mbedtls is not importable (No module named 'mbedtls'); pip install python-mbedtls")
    caplog.set_level(logging.WARNING, "modemu.lwm2m")
    srv = Lwm2mServer(hooks, clock, port=0, dtls_port=0)
    try:
        endpoints = await srv.start()
        assert "ctwing_lwm2m" in endpoints and "ctwing_lwm2m_dtls" not in endpoints
        assert srv.dtls_status.startswith("unavailable: python-mbedtls is not importable")
        assert any("DTLS listener not started" in r.getMessage() and "mbedtls" in r.getMessage()
                   for r in caplog.records)
    finally:
        await srv.stop()


async def test_write_into_a_session_the_client_closed_fails_cleanly(server, hooks, caplog):
    """A client that sends close_notify right after its 2.01 (libcoap's coap-client does) may be
    gone before the platform's Observe or Write leaves: the request fails at once with the
    session's reason -- no traceback, no "report this as a bug in aiocoap", and no CoAP
    retransmissions scheduled into the closed session."""
    caplog.set_level(logging.INFO)
    dev = Device()
    ctx, base = await dtls_device_context(server, dev)
    try:
        links = b'</>;rt="oma.lwm2m",</1/0>,</19/1>'  # no 19/0: no Observe, only the Write below
        resp = await ctx.request(req(base, Code.POST, f"rd?ep={EP}&lt=300&b=U&lwm2m=1.0", links)).response
        assert resp.code == Code.CREATED
    finally:
        await ctx.shutdown()  # close_notify
    for _ in range(200):  # loopback delivery of the close_notify datagram (bounded)
        if server.dtls.peers() == []:
            break
        await asyncio.sleep(0.01)
    assert server.dtls.peers() == [] and len(server.registrations) == 1
    hooks.queue(DEV, 7, b"cmd")
    server.kick(DEV)
    await hooks.wait_for(lambda e: e[0] == "result")
    [(dev_id, cmd, ok, reason)] = hooks.results
    assert (dev_id, cmd, ok) == (DEV, 7, False) and "DTLS session ended" in reason, reason
    bad = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert bad == [], bad
    [mman] = [ri.token_interface for ri in server._ctx.request_interfaces  # the DTLS listener's
              if isinstance(ri.token_interface.message_interface, dtls_adapter.ServerDtlsInterface)]
    assert not mman._active_exchanges, mman._active_exchanges  # no retransmission left pending


async def test_a_session_dropped_for_room_is_logged_and_fails_its_requests(server, hooks, caplog, monkeypatch):
    """The session table is full of established sessions (dtls_engine.MAX_SESSIONS, 1 here): the
    oldest goes, with a warning, and a Write to it fails with the reason instead of vanishing."""
    from emulator.backends.lwm2m import dtls_engine

    monkeypatch.setattr(dtls_engine, "MAX_SESSIONS", 1)
    caplog.set_level(logging.INFO, "modemu.lwm2m")
    first, second = Device(), Device()
    ctx1, base1 = await dtls_device_context(server, first)
    ctx2 = None
    try:
        links = b'</>;rt="oma.lwm2m",</1/0>,</19/1>'
        resp = await ctx1.request(req(base1, Code.POST, f"rd?ep={EP}&lt=300&b=U&lwm2m=1.0", links)).response
        assert resp.code == Code.CREATED
        ctx2, base2 = await dtls_device_context(server, second)
        assert (await ctx2.request(req(base2, Code.GET, "rd")).response).code == Code.METHOD_NOT_ALLOWED
        assert any("dropped" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
        hooks.queue(DEV, 8, b"cmd")
        server.kick(DEV)
        await hooks.wait_for(lambda e: e[0] == "result")
        [(_dev, cmd, ok, reason)] = hooks.results
        assert (cmd, ok) == (8, False) and "DTLS session ended" in reason, reason
    finally:
        await ctx1.shutdown()
        if ctx2 is not None:
            await ctx2.shutdown()
