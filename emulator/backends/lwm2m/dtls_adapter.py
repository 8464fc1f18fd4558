"""DTLS-PSK listener for the LwM2M server: aiocoap's ``tinydtls_server`` with two fixes.

aiocoap 0.4.17 ships a DTLS *server* transport (``aiocoap.transports.tinydtls_server``, built on
DTLSSocket/tinydtls, cipher TLS_PSK_WITH_AES_128_CCM_8 only). As shipped it cannot serve as a
LwM2M server (external-checks.md, "CoAP / LwM2M / DTLS"):

1. Server-initiated requests. A LwM2M server must send Observe and Write *to the device over the
   DTLS session the device opened*. aiocoap routes an outgoing request by asking each transport
   ``recognize_remote(remote)``; the DTLS server inherits simplesocketserver's check
   ``isinstance(remote, simplesocketserver._Address)``, which the DTLS remote type
   (``_AddressDTLS``, not a subclass) never passes -> ``NoRequestInterface``. The subclass below
   recognises its own sessions. Everything else (encryption via ``_AddressDTLS.send``, message
   IDs, retransmission, matching the response by token) then works unchanged, because the
   session object is the same one incoming requests carry.
2. Port choice. ``create_server`` adds ``COAPS_PORT - COAP_PORT`` (= 1) to the bind port, so
   binding port 0 for an ephemeral port would ask for port 1. We bind the exact port.

PSKs come from a callback (``psk_for(identity)``) through a credentials object exposing the
one method the transport calls, ``find_dtls_psk(identity) -> (psk, claims)``; the claims (the
identity string) show up in ``request.remote.authenticated_claims``.

Wall clock: tinydtls handshake retransmissions are driven by ``time.time()``/``asyncio.sleep``
inside aiocoap, not by the VirtualClock; handshakes on loopback never need them.

Must not: know about LwM2M registrations; pinned to aiocoap 0.4.17 internals (``_pool``,
``_protocol``, ``_psk_store``, ``_AddressDTLS``).
"""

from __future__ import annotations

from typing import Any, Callable

try:  # DTLSSocket is an optional extra (pyproject: modemu[dtls])
    import DTLSSocket  # noqa: F401
    from aiocoap.transports.tinydtls_server import MessageInterfaceTinyDTLSServer, _AddressDTLS

    DTLS_AVAILABLE = True
    DTLS_MISSING_REASON = ""
except ImportError as exc:  # pragma: no cover - depends on the environment
    DTLS_AVAILABLE = False
    DTLS_MISSING_REASON = f"DTLSSocket is not importable ({exc}); install modemu[dtls]"
    MessageInterfaceTinyDTLSServer = object  # type: ignore[assignment,misc]
    _AddressDTLS = None  # type: ignore[assignment]

from .coap_adapter import DecodeGuard, bound_address


class PskLookup:
    """The duck-typed ``server_credentials`` the DTLS transport consults during a handshake."""

    def __init__(self, psk_for: Callable[[str], bytes | None]) -> None:
        self._psk_for = psk_for

    def find_dtls_psk(self, identity: bytes | str) -> tuple[bytes, str]:
        ident = identity.decode("utf-8", "replace") if isinstance(identity, (bytes, bytearray)) else str(identity)
        psk = self._psk_for(ident)
        if not psk:
            raise KeyError(ident)  # tinydtls then fails the handshake (unknown identity)
        return bytes(psk), ident


class ServerDtlsInterface(DecodeGuard, MessageInterfaceTinyDTLSServer):  # type: ignore[misc,valid-type]
    """``tinydtls_server`` that binds the exact port, can send requests back over a session and
    never lets a decrypted datagram's decoding error escape (``DecodeGuard``)."""

    @classmethod
    async def create_exact(cls, bind: tuple[str, int], mman: Any, log: Any, loop: Any, credentials: PskLookup):
        self = cls(mman, log, loop)
        # same steps as MessageInterfaceSimpleServer.create_server, minus the "+1" port shift
        self._pool = await self._serversocket.create(bind, log, loop, self)
        self._pool._server_credentials = credentials
        return self

    async def recognize_remote(self, remote: Any) -> bool:
        # Fix 1 (see module docstring): a DTLS session accepted by *this* listener is ours.
        return isinstance(remote, _AddressDTLS) and remote._protocol is self._pool


async def add_dtls_listener(ctx: Any, host: str, port: int, psk_for: Callable[[str], bytes | None]) -> tuple[str, int]:
    """Add a DTLS-PSK listener on exactly ``host:port`` to ``ctx``; returns the bound address."""
    if not DTLS_AVAILABLE:
        raise RuntimeError(DTLS_MISSING_REASON)
    made: list[Any] = []
    credentials = PskLookup(psk_for)

    async def make(mman):
        iface = await ServerDtlsInterface.create_exact((host, port), mman, ctx.log, ctx.loop, credentials)
        made.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    return bound_address(made[0])


def dtls_identity(remote: Any) -> str | None:
    """The PSK identity a DTLS remote authenticated with; None for plain remotes."""
    if not DTLS_AVAILABLE or not isinstance(remote, _AddressDTLS):
        return None
    claims = remote._psk_store._claims
    return claims if isinstance(claims, str) else None


def dtls_remote_address(remote: Any) -> tuple[str, int] | None:
    if not DTLS_AVAILABLE or not isinstance(remote, _AddressDTLS):
        return None
    host, port, *_ = remote._underlying_address.address
    return host, port
