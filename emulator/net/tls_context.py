"""A real TLS client context (Python's ``ssl``) from an AT+QSSLCFG context's settings.

``client_context(settings)`` maps :class:`TlsSettings` (``modules/handlers/quectel_ssl_effects``)
to an :class:`ssl.SSLContext`: ``sslversion`` to the minimum/maximum protocol (the BG96 speaks
up to TLS 1.2 [doc: BG96 SSL AT Commands Manual V1.0 §2.1]: 4 "all" is TLS 1.0-1.2), a single
``ciphersuite`` to its OpenSSL name, ``seclevel`` 0 to no verification, 1 to verifying the
server against the uploaded CA, 2 to that plus the uploaded client certificate and key;
``ignorelocaltime`` 1 (the default) skips the validity dates (OpenSSL's
``X509_V_FLAG_NO_CHECK_TIME``); 0 checks them against the *module's* clock, not the host's:
OpenSSL's own date check (always the wall clock) stays off and ``valid_at_local_time``, which
``dial.py`` calls once the handshake is done, compares the server certificate and the uploaded
CA that issued it with ``TlsSettings.local_time`` (the module's RTC on the virtual clock: a
scenario that moves time past a certificate's end sees the open fail, whatever the host's date);
``checkhost`` turns on the name check. Raises ``ssl.SSLError`` / ``ValueError`` for material
OpenSSL refuses (the open then fails like a bad handshake).

Must not: dial anything or keep state; the key material goes to a private temporary directory
only for as long as OpenSSL needs to read it (``load_cert_chain`` takes files).
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from pathlib import Path

from cryptography import x509

from ..modules.handlers.quectel_ssl_effects import ALL_SUITES, SUITES, TlsSettings

X509_V_FLAG_NO_CHECK_TIME = 0x200000  # OpenSSL x509_vfy.h; not in Python's ssl.VerifyFlags
VERSIONS = {0: ssl.TLSVersion.TLSv1, 1: ssl.TLSVersion.TLSv1, 2: ssl.TLSVersion.TLSv1_1,
            3: ssl.TLSVersion.TLSv1_2}  # 0 SSL 3.0: OpenSSL has none; TLS 1.0 is the nearest


def client_context(settings: TlsSettings) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    # The module speaks what its sslversion allows, whatever the host's OpenSSL policy (Debian:
    # TLS 1.2 minimum, security level 2, under which a TLS 1.0/1.1 ClientHello has no cipher):
    # security level 0 and the protocol range set here, so TLS 1.0/1.1 servers are reachable.
    if settings.sslversion in VERSIONS:
        ctx.minimum_version = ctx.maximum_version = VERSIONS[settings.sslversion]
    else:
        ctx.minimum_version, ctx.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_2
    suites = "DEFAULT" if settings.ciphersuite == ALL_SUITES else SUITES[settings.ciphersuite]
    ctx.set_ciphers(f"{suites}:@SECLEVEL=0")
    if settings.seclevel == 0:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=(settings.cacert or b"").decode("latin-1"))
    ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME  # dates: the module's clock, below, never the host's
    if not settings.ignorelocaltime and settings.local_time is not None:
        ctx.modemu_settings = settings  # type: ignore[attr-defined] # read by valid_at_local_time
    if settings.ignorecertchain:  # only the leaf's signer must be known: partial chains are fine
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    ctx.check_hostname = bool(settings.checkhost)
    if settings.seclevel >= 2:
        with tempfile.TemporaryDirectory(prefix="modemu-tls-") as tmp:
            cert, key = Path(tmp) / "client.pem", Path(tmp) / "client.key"
            cert.write_bytes(settings.clientcert or b"")
            key.write_bytes(settings.clientkey or b"")
            key.chmod(0o600)
            ctx.load_cert_chain(cert, key)
    return ctx


def _valid(cert: x509.Certificate, when: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def valid_at_local_time(ctx: ssl.SSLContext, peer_der: bytes | None) -> bool:
    """After a verified handshake with ``ctx``: are the server certificate and the uploaded CA
    certificate that issued it valid at the module's time (``ignorelocaltime`` 0)? True when
    the context does not check dates."""
    settings: TlsSettings | None = getattr(ctx, "modemu_settings", None)
    if settings is None or settings.local_time is None:
        return True
    when = datetime.datetime.fromtimestamp(settings.local_time, tz=datetime.timezone.utc)
    if peer_der is None:
        return False
    leaf = x509.load_der_x509_certificate(peer_der)
    if not _valid(leaf, when):
        return False
    try:
        cas = x509.load_pem_x509_certificates(settings.cacert or b"")
    except ValueError:
        cas = []
    return all(_valid(ca, when) for ca in cas if ca.subject == leaf.issuer)


def server_hostname(settings: TlsSettings, host: str) -> str:
    """The name for SNI / the name check; "" sends none (``sni`` 0 and no ``checkhost``)."""
    if settings.checkhost:
        return settings.checkhost
    return host if settings.sni else ""
