"""Pure data of the Quectel HTTP(S) client (``AT+QHTTP*``): the request effect, its result
stimulus, the client's state and the error codes.

Error codes (``<err>`` in the result URCs or ``+CME ERROR: <n>``): Quectel BG96 HTTP(S) AT
Commands Manual V1.0 ch. 4, as the quectel-develop bg95_http.c table lists them (Quectel BG96 HTTP(S) AT Commands Manual V1.0).

Must not: import asyncio, socket, ssl or h11, or know AT syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.events import Effect
from ...core.stimuli import Stimulus
from .quectel_ssl_effects import TlsSettings

OK_ERR, UNKNOWN, TIMEOUT, BUSY, NO_REQUEST = 0, 701, 702, 703, 705
NET_DEACTIVATED, URL_ERROR, EMPTY_URL, DNS_ERROR = 709, 711, 712, 714
SOCKET_CONNECT, SOCKET_READ, SOCKET_WRITE, SOCKET_CLOSED = 716, 717, 718, 719
ENCODE_ERROR, DECODE_ERROR, INPUT_TIMEOUT, RSP_TIMEOUT, INVALID_PARAM = 720, 721, 726, 728, 730

CONTENT_TYPES = {0: "application/x-www-form-urlencoded", 1: "text/plain",
                 2: "application/octet-stream", 3: "multipart/form-data"}


@dataclass(frozen=True)
class HttpRequest(Effect):
    """One request. ``raw`` (``requestheader`` 1): the host's own request bytes, sent as they
    are after the executor parsed them; else ``method``/``target``/``headers``/``body``.
    ``tls`` (https): the SSL context's settings."""

    token: int
    host: str
    port: int
    method: str = "GET"
    target: str = "/"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    raw: bytes | None = None
    tls: TlsSettings | None = None
    timeout: float = 60.0


@dataclass(frozen=True)
class HttpCancel(Effect):
    token: int


@dataclass(frozen=True)
class HttpResult(Stimulus):
    """The response (``err`` 0) or the failure (``err`` 7xx)."""

    token: int
    err: int
    status: int = 0
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    http_version: str = "1.1"
    content_length: int | None = None


@dataclass
class HttpState:
    cfg: dict[str, int] = field(default_factory=lambda: {
        "contextid": 1, "requestheader": 0, "responseheader": 0, "sslctxid": 1, "contenttype": 0})
    url: str = ""
    token: int = 0
    running: str = ""  # "GET" / "POST" / "POSTFILE" while a request is in flight
    timer: Any = None
    response: HttpResult | None = None

    def next_token(self) -> int:
        self.token += 1
        return self.token
