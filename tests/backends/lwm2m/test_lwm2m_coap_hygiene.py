"""Bad bytes on the LwM2M listener (issue 16 item 5): a registration payload or a Uri-Path /
Uri-Query option that is not UTF-8 gets 4.00 and one log line, never a traceback; a seeded
bounded fuzz of random and mutated datagrams leaves no traceback and the server still answers.

Raw UDP sockets stand for a broken device; the valid requests are made by plain aiocoap; libcoap's
coap-client (an independent peer, percent-escapes in the URI become raw option bytes) checks the
plain and the DTLS listener."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import socket

import aiocoap
import pytest
from aiocoap import Code

from emulator.backends.lwm2m import dtls_adapter
from lwm2m_support import IMEI, PSK, Device, register

pytestmark = pytest.mark.slow

RD_PATH = bytes([0xB2]) + b"rd"  # option 11 Uri-Path, length 2
EP_QUERY = b"ep=" + IMEI.encode()  # option 15 Uri-Query (delta 4 from 11), 18 bytes: 13 + 5
VALID_REGISTER = (bytes([0x42, 0x02, 0x12, 0x34]) + b"\xaa\xbb" + RD_PATH
                  + bytes([0x4D, len(EP_QUERY) - 13]) + EP_QUERY + b"\xff" + b'</>;rt="oma.lwm2m",</19/0>')


def _con_post(mid: int, token: bytes, options: bytes) -> bytes:
    return bytes([0x40 | len(token), 0x02, mid >> 8, mid & 0xFF]) + token + options


class RawPeer:
    def __init__(self, server):
        self.addr = server.endpoints["ctwing_lwm2m"]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendto(self.sock, data, self.addr)

    async def recv(self, timeout: float = 2.0) -> aiocoap.Message:
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 2048), timeout)
        return aiocoap.Message.decode(data)

    def close(self) -> None:
        self.sock.close()


def _no_tracebacks(caplog) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


async def test_registration_payload_not_utf8_is_400_with_one_log_line(server, hooks, caplog):
    caplog.set_level(logging.INFO)
    async with Device() as dev:
        resp = await register(dev, server, links=b'</>;rt="oma.lwm2m",</19/0>\xff\xfe')
        assert resp.code == Code.BAD_REQUEST
        assert b"UTF-8" in resp.payload
    assert len(server.registrations) == 0 and hooks.events == []
    lines = [r for r in caplog.records if "not UTF-8" in r.getMessage()]
    assert len(lines) == 1
    _no_tracebacks(caplog)


@pytest.mark.parametrize("options", [
    bytes([0xB2]) + b"\xff\xfe",                              # Uri-Path not UTF-8
    RD_PATH + bytes([0x42]) + b"\xc3\x28",                    # Uri-Query: bad continuation byte
    RD_PATH + bytes([0x43]) + b"ep\xf0",                      # Uri-Query: truncated sequence
], ids=["uri-path", "uri-query", "uri-query-truncated"])
async def test_option_not_utf8_is_400_piggybacked_with_one_log_line(server, hooks, caplog, options):
    caplog.set_level(logging.INFO)
    peer = RawPeer(server)
    try:
        await peer.send(_con_post(0x0101, b"\x01\x02", options))
        reply = await peer.recv()
    finally:
        peer.close()
    assert (reply.mtype, reply.mid, reply.token, reply.code) == (aiocoap.ACK, 0x0101, b"\x01\x02", Code.BAD_REQUEST)
    lines = [r for r in caplog.records if "not UTF-8" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    _no_tracebacks(caplog)
    assert len(server.registrations) == 0


async def test_non_request_with_bad_option_is_ignored_and_the_server_goes_on(server, hooks, caplog):
    caplog.set_level(logging.INFO)
    peer = RawPeer(server)
    try:
        non = bytes([0x50, 0x02, 0x00, 0x07]) + bytes([0xB2]) + b"\xff\xfe"  # NON POST
        await peer.send(non)
        with pytest.raises(asyncio.TimeoutError):
            await peer.recv(timeout=0.3)  # RFC 7252 §4.3: silently ignored (negative check)
        await peer.send(VALID_REGISTER)
        reply = await peer.recv()
        assert reply.code == Code.CREATED and reply.mid == 0x1234
    finally:
        peer.close()
    _no_tracebacks(caplog)


def _mutate(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        kind = rnd.random()
        pos = rnd.randrange(len(out)) if out else 0
        if kind < 0.5 and out:
            out[pos] = rnd.getrandbits(8)
        elif kind < 0.75:
            out.insert(pos, rnd.getrandbits(8))
        elif out:
            del out[pos]
    return bytes(out)


@pytest.mark.parametrize("seed", [1, 16])
async def test_seeded_fuzz_leaves_no_traceback_and_the_server_answers(server, hooks, caplog, seed):
    """500 datagrams: random bytes, and the valid Register with a few bytes changed."""
    caplog.set_level(logging.INFO)
    rnd = random.Random(seed)
    peer = RawPeer(server)
    try:
        for i in range(500):
            if i % 2:
                data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(0, 64)))
            else:
                data = _mutate(rnd, VALID_REGISTER)
            await peer.send(data)
            if i % 25 == 0:
                await asyncio.sleep(0.01)  # let the server read (bounded UDP buffer)
        await asyncio.sleep(0.2)
    finally:
        peer.close()
    _no_tracebacks(caplog)
    async with Device() as dev:  # a valid device is still served
        resp = await register(dev, server)
        assert resp.code == Code.CREATED


@pytest.mark.needs_libcoap
@pytest.mark.skipif(shutil.which("coap-client-openssl") is None,
                    reason="coap-client-openssl missing (apt-get install libcoap3-bin)")
@pytest.mark.parametrize("scheme,key", [
    ("coap", "ctwing_lwm2m"),
    pytest.param("coaps", "ctwing_lwm2m_dtls", marks=[pytest.mark.needs_dtls, pytest.mark.skipif(
        not dtls_adapter.DTLS_AVAILABLE, reason=dtls_adapter.DTLS_MISSING_REASON or "DTLS")]),
])
async def test_libcoap_client_with_a_non_utf8_path_gets_400(server, hooks, caplog, scheme, key):
    caplog.set_level(logging.INFO)
    host, port = server.endpoints[key]
    proc = await asyncio.create_subprocess_exec(
        "coap-client-openssl", "-B", "3", "-u", IMEI, "-k", PSK.decode(), "-m", "post",
        f"{scheme}://{host}:{port}/rd%FF%FE?ep={IMEI}", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert out.decode(errors="replace").startswith("4.00"), out
    assert len([r for r in caplog.records if "not UTF-8" in r.getMessage()]) == 1
    _no_tracebacks(caplog)
    assert len(server.registrations) == 0
