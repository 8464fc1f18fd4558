"""DTLS-PSK listener: libcoap's coap-client-openssl as an independent peer, and an aiocoap
tinydtls device for the full round trip (register, Observe and Write back over the device's
session -- the path dtls_adapter.py exists for)."""

from __future__ import annotations

import asyncio
import shutil

import aiocoap
import pytest
from aiocoap import CON, Code
from aiocoap.numbers.constants import Reliable

from emulator.backends.lwm2m import dtls_adapter
from lwm2m_support import DEV, IMEI, LINKS, PSK, Device

EP = "urn:imei:" + IMEI
pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_dtls,
    pytest.mark.skipif(not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS"),
]
_no_libcoap = pytest.mark.skipif(shutil.which("coap-client-openssl") is None,
                                 reason="coap-client-openssl missing (apt-get install libcoap3-bin)")


def libcoap(fn):
    return pytest.mark.needs_libcoap(_no_libcoap(fn))


async def coap_client(server, identity, key, path, method="post", payload=LINKS):
    """Run coap-client-openssl; it exits 0 even when the handshake fails, so return its output."""
    host, port = server.endpoints["ctwing_lwm2m_dtls"]
    proc = await asyncio.create_subprocess_exec(
        "coap-client-openssl", "-B", "3", "-u", identity, "-k", key, "-m", method,
        "-e", payload.decode(), f"coaps://{host}:{port}/{path}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode(errors="replace")


@libcoap
async def test_right_psk_registers(server, hooks):
    out = await coap_client(server, IMEI, PSK.decode(), f"rd?ep={EP}&lt=300&b=U")
    assert "ERR" not in out and "4." not in out, out
    [reg] = list(server.registrations)
    assert (reg.endpoint, reg.dtls_identity, reg.lifetime) == (EP, IMEI, 300)
    assert hooks.events[0] == ("registered", DEV, "/rd/0")


@libcoap
async def test_wrong_psk_fails_handshake(server, hooks):
    out = await coap_client(server, IMEI, "wrong-key-000000", f"rd?ep={EP}&lt=300")
    assert "cannot send" in out or "ERR" in out, out
    assert len(server.registrations) == 0 and hooks.events == []


@libcoap
async def test_unknown_identity_fails_handshake(server, hooks):
    out = await coap_client(server, "860000000000001", PSK.decode(), f"rd?ep={EP}")
    assert "ERR" in out, out
    assert len(server.registrations) == 0


@libcoap
async def test_identity_must_match_endpoint_imei(server, hooks):
    other = "860000000000009"
    hooks.psks[other] = b"another-psk-1234"
    out = await coap_client(server, other, "another-psk-1234", f"rd?ep={EP}")
    assert "4.03" in out, out
    assert len(server.registrations) == 0


async def dtls_device_context(server, dev: Device, identity=IMEI, psk=PSK):
    host, port = server.endpoints["ctwing_lwm2m_dtls"]
    ctx = await aiocoap.Context.create_client_context(transports=["tinydtls"])
    ctx.serversite = dev.site  # requests arriving over the DTLS session are served here
    ctx.client_credentials.load_from_dict(
        {f"coaps://{host}:{port}/*": {"dtls": {"psk": psk, "client-identity": identity.encode()}}})
    return ctx, f"coaps://{host}:{port}"


async def test_dtls_register_observe_write_round_trip(server, hooks):
    dev = Device()
    ctx, base = await dtls_device_context(server, dev)
    try:
        resp = await ctx.request(aiocoap.Message(
            code=Code.POST, uri=f"{base}/rd?ep={EP}&lt=300&b=U&lwm2m=1.0", payload=LINKS)).response
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
        assert (await ctx.request(aiocoap.Message(code=Code.POST, uri=f"{base}/rd/0?lt=600")).response).code == Code.CHANGED
        assert (await ctx.request(aiocoap.Message(code=Code.DELETE, uri=f"{base}/rd/0")).response).code == Code.DELETED
        assert hooks.events[-1] == ("deregistered", DEV, "deregistered")
    finally:
        await ctx.shutdown()


async def test_plain_update_of_dtls_registration_forbidden(server, hooks):
    dev = Device()
    ctx, base = await dtls_device_context(server, dev)
    try:
        resp = await ctx.request(aiocoap.Message(code=Code.POST, uri=f"{base}/rd?ep={EP}", payload=LINKS)).response
        assert resp.code == Code.CREATED
        async with Device() as plain:
            assert (await plain.send(server, Code.POST, "rd/0")).code == Code.FORBIDDEN
            assert (await plain.send(server, Code.DELETE, "rd/0")).code == Code.FORBIDDEN
        assert len(server.registrations) == 1
    finally:
        await ctx.shutdown()


async def test_stock_tinydtls_server_still_needs_the_adapter(server):
    """Canary: if aiocoap starts recognising DTLS sessions for outgoing requests itself, this fails
    and dtls_adapter.ServerDtlsInterface.recognize_remote can go."""
    from aiocoap.transports.tinydtls_server import MessageInterfaceTinyDTLSServer, _AddressDTLS

    iface = next(ri.token_interface.message_interface for ri in server._ctx.request_interfaces
                 if isinstance(ri.token_interface.message_interface, dtls_adapter.ServerDtlsInterface))
    session = _AddressDTLS(iface._pool, ("127.0.0.1", 9))
    try:
        assert await iface.recognize_remote(session)
        assert not await MessageInterfaceTinyDTLSServer.recognize_remote(iface, session)
    finally:
        session._retransmission_task.cancel()
