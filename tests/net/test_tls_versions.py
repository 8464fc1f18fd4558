"""AT+QSSLCFG "sslversion" against real TLS 1.0 / 1.1 / 1.2 servers on loopback: 1 and 2 reach the
servers of their own version, 3 only TLS 1.2, 4 ("all") each of them, whatever the host's
OpenSSL policy (Debian's TLS 1.2 minimum / security level 2 left a TLS 1.0 ClientHello without
a cipher, so "sslversion" 1, 2 and 4 could not reach an old server the module reaches)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import warnings
from pathlib import Path

import pytest

from emulator.modules.handlers.quectel_ssl_effects import TlsSettings
from emulator.net.tls_context import client_context

from .test_tls_local_time import _pki

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 are deprecated names
    OLD = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1, "1.2": ssl.TLSVersion.TLSv1_2}
REACHES = {1: {"1.0"}, 2: {"1.1"}, 3: {"1.2"}, 4: {"1.0", "1.1", "1.2"}}


async def _handshake(tmp: Path, server_version: str, sslversion: int) -> bool:
    _ca, server_ctx = _pki(tmp, dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server_ctx.minimum_version = server_ctx.maximum_version = OLD[server_version]
        server_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")

    async def close(reader, writer):
        writer.close()
    server = await asyncio.start_server(close, "127.0.0.1", 0, ssl=server_ctx)
    try:
        _r, w = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1],
                                              ssl=client_context(TlsSettings(sslversion=sslversion)),
                                              server_hostname="")
        w.close()
        return True
    except (OSError, ssl.SSLError):
        return False
    finally:
        server.close()


@pytest.mark.parametrize("server_version", sorted(OLD))
@pytest.mark.parametrize("sslversion", sorted(REACHES))
async def test_sslversion_reaches_the_servers_of_its_versions(tmp_path: Path, server_version: str,
                                                              sslversion: int) -> None:
    assert await _handshake(tmp_path, server_version, sslversion) == (server_version in REACHES[sslversion])
