"""DtlsServerEngine without sockets: a hand-built legacy ClientHello (no extensions at all, as
older tinydtls builds send it) must get HelloVerifyRequest and then ServerHello, not an alert;
an in-memory Mbed TLS client exercises establishment, close_notify and the failure report."""

from __future__ import annotations

import os

import pytest

from emulator.backends.lwm2m import dtls_engine

pytestmark = pytest.mark.skipif(not dtls_engine.MBEDTLS_AVAILABLE, reason=dtls_engine.MBEDTLS_MISSING_REASON or "")
PEER = ("127.0.0.1", 40000)
PSKS = {"dev-1": b"0123456789abcdef"}


def client_hello(seq: int, cookie: bytes = b"") -> bytes:
    """RFC 6347 §4.2.2/§4.3.2 ClientHello, DTLS 1.2, PSK suites CCM_8 (0xC0A8) and CBC_SHA256
    (0x00AE), null compression, and no extensions: no renegotiation_info (RFC 5746), no
    extended_master_secret (RFC 7627), no SCSV."""
    body = (b"\xfe\xfd" + os.urandom(32) + b"\x00" + bytes([len(cookie)]) + cookie
            + b"\x00\x04\xc0\xa8\x00\xae" + b"\x01\x00")
    n = len(body).to_bytes(3, "big")
    handshake = b"\x01" + n + seq.to_bytes(2, "big") + b"\x00\x00\x00" + n + body
    return b"\x16\xfe\xfd" + b"\x00\x00" + seq.to_bytes(6, "big") + len(handshake).to_bytes(2, "big") + handshake


def handshake_types(records: list[bytes]) -> list[int]:
    """Handshake message types in the (possibly multi-record) datagrams, alerts as -level."""
    out = []
    for dgram in records:
        pos = 0
        while pos + 13 <= len(dgram):
            ctype, length = dgram[pos], int.from_bytes(dgram[pos + 11:pos + 13], "big")
            frag = dgram[pos + 13:pos + 13 + length]
            out.append(frag[0] if ctype == 22 else -frag[1] if ctype == 21 else ctype * 1000)
            pos += 13 + length
    return out


def test_client_hello_without_renegotiation_info_is_accepted():
    failures = []
    engine = dtls_engine.DtlsServerEngine(PSKS.get, failures.append)
    first = engine.receive(PEER, client_hello(0))
    assert handshake_types(first.records) == [3]  # HelloVerifyRequest
    hvr = first.records[0][13 + 12:]  # skip record header and handshake header
    cookie = hvr[3:3 + hvr[2]]
    second = engine.receive(PEER, client_hello(1, cookie))
    assert handshake_types(second.records) == [2, 14]  # ServerHello, ServerHelloDone; no alert
    assert failures == [] and second.closed is None


def _pair(identity: str, key: bytes, failures: list, engine=None):
    from mbedtls import tls

    engine = engine or dtls_engine.DtlsServerEngine(PSKS.get, failures.append)
    conf = tls.DTLSConfiguration(ciphers=list(dtls_engine.PSK_SUITES), pre_shared_key=(identity, key),
                                 validate_certificates=False)
    client = tls.ClientContext(conf).wrap_buffers(None)
    return engine, client


def _run_handshake(engine, client, rounds=8, peer=PEER):
    """Drive the client (one Mbed TLS step per do_handshake call) against the engine; returns
    (last engine result, whether the client was refused with a fatal alert)."""
    from mbedtls import tls

    result = None
    for _ in range(rounds):
        try:
            while client._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
                client.do_handshake()
        except (tls.WantReadError, tls.WantWriteError):
            pass
        except Exception:  # noqa: BLE001 - the client read a fatal alert
            return result, True
        if client._handshake_state is tls.HandshakeStep.HANDSHAKE_OVER:
            return result, False
        out = client.peek_outgoing(16384)
        if out:
            client.consume_outgoing(len(out))
            result = engine.receive(peer, bytes(out))
            for rec in result.records:
                client.receive_from_network(rec)
    return result, False


def test_established_session_decrypts_and_ends_on_close_notify():
    failures = []
    engine, client = _pair("dev-1", PSKS["dev-1"], failures)
    _result, refused = _run_handshake(engine, client)
    assert not refused and engine.identity(PEER) == "dev-1" and failures == []
    assert engine.cipher(PEER) == "TLS-PSK-WITH-AES-128-CCM-8"  # the first mandatory suite wins
    client.write(b"hello")
    got = engine.receive(PEER, bytes(client.peek_outgoing(4096)))
    assert got.plaintext == [b"hello"]
    client.consume_outgoing(len(client.peek_outgoing(4096)))
    client.shutdown()
    bye = engine.receive(PEER, bytes(client.peek_outgoing(4096)))
    assert bye.closed == "close_notify from the client" and engine.peers() == [] and failures == []


@pytest.mark.parametrize("identity, key, alert, reason", [
    ("dev-1", b"wrong-key-000000", "bad_record_mac", "wrong PSK"),
    ("nobody", PSKS["dev-1"], "unknown_psk_identity", "unknown PSK identity 'nobody'"),
])
def test_refused_handshake_reports_identity_reason_and_alert(identity, key, alert, reason):
    failures = []
    engine, client = _pair(identity, key, failures)
    _result, refused = _run_handshake(engine, client)
    assert refused  # the client read a fatal alert at once
    [failure] = failures
    assert (failure.identity, failure.alert) == (identity, alert) and reason in failure.reason
    assert engine.peers() == []


def test_a_flood_of_client_hellos_does_not_evict_established_sessions(monkeypatch):
    """When the session table is full, handshakes in progress make room first; an established
    session goes only when nothing else can, and is reported (``evicted``) so the transport can
    fail its requests and log it, instead of its records being dropped as strays."""
    monkeypatch.setattr(dtls_engine, "MAX_SESSIONS", 2)
    engine, client = _pair("dev-1", PSKS["dev-1"], [])
    _result, refused = _run_handshake(engine, client)
    assert not refused and engine.is_established(PEER)
    for port in range(41000, 41005):  # ClientHellos without cookie, each from a new address
        assert engine.receive(("127.0.0.1", port), client_hello(0)).evicted == []
    assert engine.is_established(PEER)
    other = ("127.0.0.1", 42000)
    _engine, client2 = _pair("dev-1", PSKS["dev-1"], [], engine)
    _result, refused = _run_handshake(engine, client2, peer=other)
    assert not refused and engine.is_established(other) and engine.is_established(PEER)
    third = engine.receive(("127.0.0.1", 43000), client_hello(0))
    assert third.evicted == [PEER] and not engine.is_established(PEER) and engine.is_established(other)
