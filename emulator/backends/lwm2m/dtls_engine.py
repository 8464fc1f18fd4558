"""Sans-IO DTLS 1.2 PSK server sessions on python-mbedtls (Mbed TLS 2.28, manylinux wheels).

Datagrams in, datagrams and plaintext out: :meth:`DtlsServerEngine.receive` takes one datagram
from a peer and returns the records to send back, the decrypted application data and whether the
session ended; :meth:`send` encrypts; :meth:`close` sends close_notify. The aiocoap transport in
``dtls_adapter.py`` does the socket part.

Protocol facts this relies on (cite when changing):

- LwM2M 1.0 TS §7.1.7 / 1.1-1.2 Transport TS "Pre-Shared Keys": "If a LwM2M Server supports
  the pre-shared key credentials it MUST support TLS_PSK_WITH_AES_128_CCM_8 (RFC 6655, mandated
  in RFC 7925) [and] TLS_PSK_WITH_AES_128_CBC_SHA256 (RFC 5487)"; the client SHOULD NOT use the
  CBC one (RFC 7457). Both are offered, CCM_8 preferred (the server's order decides).
- RFC 6347 §4.2.1: the server answers a ClientHello without a valid cookie with
  HelloVerifyRequest and keeps no state; Mbed TLS then raises ``HelloVerifyRequest`` and needs a
  fresh context for the ClientHello that carries the cookie (cookies are bound to the peer's
  address with ``setcookieparam``).
- RFC 4279 §2: an unknown PSK identity is refused with the fatal alert unknown_psk_identity (115);
  Mbed TLS sends it when the key lookup raises ``KeyError``.
- A wrong key shows first as the client's Finished failing record protection; Mbed TLS (ssl_msg.c,
  "Except when waiting for Finished as a bad mac here probably means something went wrong in
  the handshake (eg wrong psk used ...)") sends the fatal alert bad_record_mac (20) and fails the
  handshake at once, instead of silently dropping the record as DTLS does otherwise (RFC 6347
  §4.1.2.7).
- RFC 5746 renegotiation_info and RFC 7627 extended_master_secret are optional: Mbed TLS's
  default legacy-renegotiation policy (MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION) accepts a ClientHello
  without them (older tinydtls, e.g. Wakaama's pinned copy).
- RFC 5246 §7.2.1: close_notify from the peer ends the session (``closed`` in the result).

Every failed handshake becomes a :class:`DtlsFailure` (peer, identity, reason, alert) passed to
``on_failure``. Handshake retransmission timers are Mbed TLS's and only run when we feed it data;
on loopback the client's own retransmissions drive it.

Must not: know CoAP or LwM2M, open sockets, or use asyncio.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Iterator

try:
    from mbedtls import tls as _tls
    from mbedtls.exceptions import TLSError as _TLSError

    MBEDTLS_AVAILABLE = True
    MBEDTLS_MISSING_REASON = ""
except ImportError as exc:  # pragma: no cover - a platform without python-mbedtls wheels
    MBEDTLS_AVAILABLE = False
    MBEDTLS_MISSING_REASON = (f"python-mbedtls is not importable ({exc}); it has wheels for Python 3.11/3.12 on Linux "
                              "x86_64, Windows, Apple-silicon macOS; elsewhere pip install 'modemu[dtls]' builds it")

# LwM2M 1.0 TS §7.1.7 mandatory PSK suites, in our order of preference (Mbed TLS names)
PSK_SUITES = ("TLS-PSK-WITH-AES-128-CCM-8", "TLS-PSK-WITH-AES-128-CBC-SHA256")

# RFC 5246 §7.2 / RFC 4279 §2 alert descriptions we may name
ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 40: "handshake_failure",
          47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error", 70: "protocol_version",
          71: "insufficient_security", 80: "internal_error", 115: "unknown_psk_identity"}

# Mbed TLS 2.28 error codes (include/mbedtls/ssl.h) -> (reason, alert we sent)
_ERR_UNKNOWN_IDENTITY = 0x6C80
_ERR_INVALID_MAC = 0x7180
_ERR_PEER_CLOSE_NOTIFY = 0x7880
_ERR_FATAL_ALERT = 0x7780
_ERR_NO_CIPHER = 0x7380
_ERR_BAD_HS_CLIENT_HELLO = 0x7900
_ERR_HELLO_VERIFY = 0x6A80
_REASONS = {
    _ERR_UNKNOWN_IDENTITY: ("unknown PSK identity", 115),
    _ERR_INVALID_MAC: ("wrong PSK: the client's Finished failed verification", 20),
    _ERR_NO_CIPHER: ("no shared cipher suite (offer TLS_PSK_WITH_AES_128_CCM_8 or _CBC_SHA256)", 40),
    _ERR_BAD_HS_CLIENT_HELLO: ("malformed ClientHello", None),
    _ERR_FATAL_ALERT: ("the client sent a fatal alert", None),
}
# sessions kept (established + handshakes in progress); when full, the oldest handshake in
# progress goes first, an established session only when there is none (reported in ``evicted``)
MAX_SESSIONS = 256


@dataclass
class DtlsFailure:
    """One failed handshake: who, with which identity (None: not sent yet), why, and the alert
    we answered with (None when the peer aborted or nothing was sent)."""

    peer: tuple[str, int]
    identity: str | None
    reason: str
    alert: str | None

    def line(self) -> str:
        who = f"{self.peer[0]}:{self.peer[1]}"
        ident = "no identity" if self.identity is None else f"identity {self.identity!r}"
        sent = f", alert {self.alert}" if self.alert else ""
        return f"DTLS handshake from {who} ({ident}) failed: {self.reason}{sent}"


@dataclass
class DtlsResult:
    """What one received datagram produced."""

    records: list[bytes] = field(default_factory=list)   # to send back to the peer, in order
    plaintext: list[bytes] = field(default_factory=list)  # decrypted application data
    established: bool = False  # the handshake completed with this datagram
    closed: str | None = None  # the session ended (reason) with this datagram
    replaced: bool = False  # a new handshake from the same address replaced an older session
    evicted: list[tuple[str, int]] = field(default_factory=list)  # established sessions dropped (full)


class _KeyLookup(Mapping):
    """The ``pre_shared_key_store`` Mbed TLS consults during a handshake: asks ``psk_for`` and
    remembers which identity the handshake in progress asked for."""

    def __init__(self, psk_for: Callable[[str], bytes | None]) -> None:
        self._psk_for = psk_for
        self.asked: str | None = None

    def __getitem__(self, identity: str) -> bytes:
        ident = identity.decode("utf-8", "replace") if isinstance(identity, (bytes, bytearray)) else str(identity)
        self.asked = ident
        psk = self._psk_for(ident)
        if not psk:
            raise KeyError(ident)
        return bytes(psk)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


class _Session:
    def __init__(self, buffer: object) -> None:
        self.buffer = buffer
        self.identity: str | None = None
        self.established = False


class DtlsServerEngine:
    def __init__(self, psk_for: Callable[[str], bytes | None],
                 on_failure: Callable[[DtlsFailure], None] | None = None,
                 ciphers: tuple[str, ...] = PSK_SUITES) -> None:
        if not MBEDTLS_AVAILABLE:
            raise RuntimeError(MBEDTLS_MISSING_REASON)
        self._keys = _KeyLookup(psk_for)
        self._on_failure = on_failure
        conf = _tls.DTLSConfiguration(
            ciphers=list(ciphers), pre_shared_key_store=self._keys, validate_certificates=False,
            lowest_supported_version=_tls.DTLSVersion.DTLSv1_2)
        self._context = _tls.ServerContext(conf)
        self.bound: tuple[str, int] | None = None  # set by the transport that owns this engine
        self._sessions: OrderedDict[tuple[str, int], _Session] = OrderedDict()
        # (peer, identity, cipher suite) of the newest established sessions, for logs and tests
        self.established: deque[tuple[tuple[str, int], str | None, str | None]] = deque(maxlen=MAX_SESSIONS)

    # queries -------------------------------------------------------------------------------

    def identity(self, peer: tuple[str, int]) -> str | None:
        sess = self._sessions.get(peer)
        return sess.identity if sess is not None and sess.established else None

    def is_established(self, peer: tuple[str, int]) -> bool:
        sess = self._sessions.get(peer)
        return sess is not None and sess.established

    def cipher(self, peer: tuple[str, int]) -> str | None:
        sess = self._sessions.get(peer)
        if sess is None or not sess.established:
            return None
        name = sess.buffer.cipher()
        return name[0] if isinstance(name, tuple) else name

    # datagrams -----------------------------------------------------------------------------

    def receive(self, peer: tuple[str, int], data: bytes) -> DtlsResult:
        result = DtlsResult()
        sess = self._sessions.get(peer)
        if sess is not None and sess.established and _is_initial_client_hello(data):
            # the device restarted its DTLS stack from the same address (RFC 6347 §4.2.8)
            self._sessions.pop(peer)
            sess, result.replaced = None, True
        if sess is None:
            if not _is_initial_client_hello(data):
                return result  # a stray record for a session we do not have: drop silently
            sess = self._new_session(peer, result)
        else:
            self._sessions.move_to_end(peer)
        self._feed(peer, sess, data, result)
        return result

    def send(self, peer: tuple[str, int], plaintext: bytes) -> list[bytes]:
        sess = self._sessions.get(peer)
        if sess is None or not sess.established:
            raise ConnectionError(f"no DTLS session with {peer[0]}:{peer[1]}")
        sess.buffer.write(plaintext)
        return _drain(sess.buffer)

    def close(self, peer: tuple[str, int]) -> list[bytes]:
        """End the session with close_notify (returned to send); no-op for unknown peers."""
        sess = self._sessions.pop(peer, None)
        if sess is None or not sess.established:
            return []
        try:
            sess.buffer.shutdown()
        except _TLSError:
            return []
        return _drain(sess.buffer)

    def peers(self) -> list[tuple[str, int]]:
        return list(self._sessions)

    # internals -----------------------------------------------------------------------------

    def _new_session(self, peer: tuple[str, int], result: DtlsResult) -> _Session:
        self._sessions.pop(peer, None)  # a handshake from this address that gets a fresh context
        while len(self._sessions) >= MAX_SESSIONS:
            victim = next((p for p, s in self._sessions.items() if not s.established), None)
            if victim is None:  # only established sessions: the least recently active one goes
                victim = next(iter(self._sessions))
                result.evicted.append(victim)
            del self._sessions[victim]
        buffer = self._context.wrap_buffers()
        buffer.setcookieparam(f"{peer[0]}:{peer[1]}".encode())
        sess = _Session(buffer)
        self._sessions[peer] = sess
        return sess

    def _feed(self, peer: tuple[str, int], sess: _Session, data: bytes, result: DtlsResult,
              retry: bool = True) -> None:
        sess.buffer.receive_from_network(data)
        before = len(result.records)
        try:
            if not sess.established:
                self._keys.asked = None
                try:
                    self._handshake(sess, result)
                finally:
                    if self._keys.asked is not None:
                        sess.identity = self._keys.asked
                if not sess.established:
                    result.records += _drain(sess.buffer)
                    return
                result.established = True
                self.established.append((peer, sess.identity, self.cipher(peer)))
            while True:
                chunk = sess.buffer.read(4096)
                if not chunk:
                    break
                result.plaintext.append(chunk)
        except _tls.HelloVerifyRequest:
            # RFC 6347 §4.2.1 (module docstring): Mbed TLS needs a fresh context after a
            # HelloVerifyRequest. When it was just written, wait for the ClientHello with the
            # cookie; when it was raised on that ClientHello itself, feed it to the fresh context.
            result.records += _drain(sess.buffer)
            fresh = self._new_session(peer, result)
            if len(result.records) == before and retry:
                self._feed(peer, fresh, data, result, retry=False)
            return
        except (_tls.WantReadError, _tls.WantWriteError):
            pass
        except _TLSError as exc:
            result.records += _drain(sess.buffer)
            self._sessions.pop(peer, None)
            result.closed = self._ended(peer, sess, exc, result.records)
            return
        result.records += _drain(sess.buffer)

    def _handshake(self, sess: _Session, result: DtlsResult) -> None:
        """Step Mbed TLS until it needs the peer's next flight; a full output buffer
        (WantWrite, e.g. after the final flight, state FLUSH_BUFFERS) is drained and stepping
        goes on, so the handshake completes with the datagram that finishes it."""
        while sess.buffer._handshake_state is not _tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                sess.buffer.do_handshake()
            except _tls.WantWriteError:
                drained = _drain(sess.buffer)
                if not drained:
                    raise
                result.records += drained
        sess.established = True

    def _ended(self, peer: tuple[str, int], sess: _Session, exc: Exception, sent: list[bytes]) -> str:
        code = getattr(exc, "err", 0)
        if code == _ERR_PEER_CLOSE_NOTIFY:
            return "close_notify from the client"
        reason, alert = _REASONS.get(code, (f"{exc}", None))
        if code == _ERR_UNKNOWN_IDENTITY and sess.identity is not None:
            reason = f"unknown PSK identity {sess.identity!r}"
        alert_name = ALERTS.get(alert) if alert is not None else _plain_alert(sent)
        if not sess.established:
            failure = DtlsFailure(peer, sess.identity, reason, alert_name)
            if self._on_failure is not None:
                self._on_failure(failure)
            return failure.reason
        return reason


def _drain(buffer: object) -> list[bytes]:
    out = []
    while True:
        chunk = buffer.peek_outgoing(16384)
        if not chunk:
            return out
        buffer.consume_outgoing(len(chunk))
        out.append(bytes(chunk))


def _is_initial_client_hello(data: bytes) -> bool:
    """RFC 6347 §4.1: record type 22 (handshake), epoch 0, first message ClientHello (1)."""
    return len(data) > 13 and data[0] == 22 and data[3:5] == b"\x00\x00" and data[13] == 1


def _plain_alert(records: list[bytes]) -> str | None:
    """The description of an unencrypted (epoch 0) alert record we sent, if any."""
    for rec in records:
        if len(rec) >= 15 and rec[0] == 21 and rec[3:5] == b"\x00\x00":
            return ALERTS.get(rec[14], str(rec[14]))
    return None
