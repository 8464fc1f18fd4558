"""``AT+QSSLCFG="ignorelocaltime",<ctx>,0``: certificate dates are checked against the module's
clock (virtual clock + RTC offset, ``TlsSettings.local_time``), never the host's. A real TLS
server on loopback whose certificates are valid only in 2030 is dialled with the module's RTC
inside and outside that window (the host's own date is neither)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.core.clock import VirtualClock
from emulator.modules.handlers.quectel_ssl_effects import TlsSettings
from emulator.net.dial import dial
from emulator.net.internet import FakeInternet
from emulator.net.tls_context import client_context

UTC = dt.timezone.utc


def _cert(cn: str, key, issuer, issuer_key, start: dt.datetime, end: dt.datetime, ca: bool):
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pki(tmp: Path, ca_end: dt.datetime):
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "2030 CA")])
    ca = _cert("2030 CA", ca_key, ca_name, ca_key, dt.datetime(2029, 12, 1, tzinfo=UTC), ca_end, True)
    leaf = _cert("tls.test", key, ca_name, ca_key, dt.datetime(2030, 1, 1, tzinfo=UTC),
                 dt.datetime(2030, 12, 31, tzinfo=UTC), False)
    (tmp / "srv.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp / "srv.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "srv.pem", tmp / "srv.key")
    return ca.public_bytes(serialization.Encoding.PEM), server


async def _open(tmp: Path, *, at: dt.datetime, ignore: bool, ca_end=dt.datetime(2031, 1, 1, tzinfo=UTC)) -> str:
    cacert, server_ctx = _pki(tmp, ca_end)

    async def echo(reader, writer):
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
    net = FakeInternet()
    net.add_route("tls.test", 443, ("127.0.0.1", server.sockets[0].getsockname()[1]))
    settings = TlsSettings(seclevel=1, cacert=cacert, ignorelocaltime=ignore, local_time=at.timestamp(), sni=True)
    try:
        dialled = await dial(VirtualClock(), net, "tls.test", 443, ssl_context=client_context(settings),
                             server_hostname="tls.test", timeout=10)
        if dialled.writer is not None:
            dialled.writer.close()
        return dialled.outcome
    finally:
        server.close()


async def test_dates_are_checked_against_the_module_clock(tmp_path: Path) -> None:
    assert await _open(tmp_path, at=dt.datetime(2030, 6, 1, tzinfo=UTC), ignore=False) == "ok"
    assert await _open(tmp_path, at=dt.datetime(2031, 6, 1, tzinfo=UTC), ignore=False) == "error"  # expired
    assert await _open(tmp_path, at=dt.datetime(2029, 6, 1, tzinfo=UTC), ignore=False) == "error"  # not yet
    assert await _open(tmp_path, at=dt.datetime(2031, 6, 1, tzinfo=UTC), ignore=True) == "ok"  # the default


async def test_an_issuing_ca_expired_at_the_module_time_fails(tmp_path: Path) -> None:
    ca_end = dt.datetime(2030, 3, 1, tzinfo=UTC)
    assert await _open(tmp_path, at=dt.datetime(2030, 2, 1, tzinfo=UTC), ignore=False, ca_end=ca_end) == "ok"
    assert await _open(tmp_path, at=dt.datetime(2030, 6, 1, tzinfo=UTC), ignore=False, ca_end=ca_end) == "error"
