"""Pure data of the Quectel TLS stack (``AT+QSSL*``): SSL contexts, TLS settings, effects, stimuli.

An SSL context (0-5, ``AT+QSSLCFG``) holds the settings; :class:`TlsSettings` is what the
executor (``emulator/net/tls_sockets.py``, ``net/tls_context.py``) needs to build a real TLS
client: versions, cipher suite, verification level and the certificate/key *contents* read from
the module's file system when a connection opens (so the executor never sees the file system).
The MQTT stack uses the same settings for ``AT+QMTCFG="ssl",<id>,1,<ctx>``.

Must not: import asyncio, ssl, socket or time, or know AT syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.events import Effect
from ...core.stimuli import Downlink, Stimulus

OPENING, CONNECTED, CLOSING = 1, 2, 4  # AT+QSSLSTATE <socket_state>, as AT+QISTATE
BUFFER, PUSH, TRANSPARENT = 0, 1, 2
ALL_SUITES = 0xFFFF
# AT+QSSLCFG="ciphersuite" codes -> OpenSSL names [doc: BG96 SSL AT Commands Manual V1.0 §2.1]
SUITES = {
    0x0035: "AES256-SHA", 0x002F: "AES128-SHA", 0x0005: "RC4-SHA", 0x0004: "RC4-MD5",
    0x000A: "DES-CBC3-SHA", 0x003D: "AES256-SHA256", 0xC011: "ECDHE-RSA-RC4-SHA",
    0xC012: "ECDHE-RSA-DES-CBC3-SHA", 0xC013: "ECDHE-RSA-AES128-SHA", 0xC014: "ECDHE-RSA-AES256-SHA",
    0xC027: "ECDHE-RSA-AES128-SHA256", 0xC028: "ECDHE-RSA-AES256-SHA384",
    0xC02F: "ECDHE-RSA-AES128-GCM-SHA256",
}


@dataclass(frozen=True)
class TlsSettings:
    """One SSL context's settings with the certificate/key files' bytes (None: not set)."""

    sslversion: int = 4  # 0 SSL 3.0, 1 TLS 1.0, 2 TLS 1.1, 3 TLS 1.2, 4 all
    ciphersuite: int = ALL_SUITES
    seclevel: int = 0  # 0 no authentication, 1 verify the server, 2 mutual
    cacert: bytes | None = None
    clientcert: bytes | None = None
    clientkey: bytes | None = None
    sni: bool = False
    checkhost: str = ""  # "" = do not check the server's name against its certificate
    ignorelocaltime: bool = True
    # the module's RTC (UTC seconds: virtual clock + the offset AT+CCLK/AT+QNTP set) when the
    # settings were taken; ``ignorelocaltime`` 0 checks the certificates' dates against it
    local_time: float | None = None
    ignorecertchain: bool = False
    negotiatetime: int = 300
    missing: str = ""  # a configured file that is not in the file system: the open fails


@dataclass
class SslContext:
    """``AT+QSSLCFG`` values of one context (0-5), as set; defaults per the Quectel BG96 SSL AT Commands Manual V1.0 and real units."""

    values: dict[str, Any] = field(default_factory=lambda: {
        "sslversion": 4, "ciphersuite": ALL_SUITES, "cacert": "", "clientcert": "", "clientkey": "",
        "seclevel": 0, "sni": 0, "checkhost": 0, "ignorecertchain": 0, "ignorelocaltime": 1,
        "negotiatetime": 300})


@dataclass
class SslClient:
    client_id: int
    pdp: int
    ssl_ctx: int
    host: str
    port: int
    access: int
    gen: int
    state: int = OPENING
    rx: bytearray = field(default_factory=bytearray)
    notified: bool = False
    total_sent: int = 0
    total_recv: int = 0


@dataclass
class SslState:
    contexts: dict[int, SslContext] = field(default_factory=lambda: {i: SslContext() for i in range(6)})
    clients: dict[int, SslClient] = field(default_factory=dict)
    gen: int = 0
    transparent: Any = None  # the SslTransparentLine while a client is in transparent mode
    escaped_id: int | None = None  # the client left with +++ (ATO goes back to it)

    def next_gen(self) -> int:
        self.gen += 1
        return self.gen


# --- effects (modem -> executor) -----------------------------------------------------------
@dataclass(frozen=True)
class TlsOpen(Effect):
    client_id: int
    gen: int
    host: str
    port: int
    settings: TlsSettings


@dataclass(frozen=True)
class TlsSend(Effect):
    client_id: int
    gen: int
    data: bytes


@dataclass(frozen=True)
class TlsClose(Effect):
    client_id: int
    gen: int


# --- stimuli (executor -> modem) -----------------------------------------------------------
@dataclass(frozen=True)
class TlsOpened(Stimulus):
    """TCP and the handshake are done (``err`` 0) or failed (565 DNS, 566 connect/handshake)."""

    client_id: int
    gen: int
    err: int = 0


@dataclass(frozen=True)
class TlsData(Downlink):
    client_id: int
    gen: int
    data: bytes


@dataclass(frozen=True)
class TlsSent(Stimulus):
    client_id: int
    gen: int
    nbytes: int


@dataclass(frozen=True)
class TlsClosed(Downlink):
    client_id: int
    gen: int
