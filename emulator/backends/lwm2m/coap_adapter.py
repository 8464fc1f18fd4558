"""aiocoap plumbing for the LwM2M server: build a Context with exactly the listeners we want.

aiocoap's ``Context.create_server_context`` binds every selected transport to the same ``bind``
(and the DTLS one to port + 1), so it cannot give us "plain CoAP on port A, DTLS on port B, both
ephemeral". This file assembles the Context by hand from aiocoap's own transports and reads back
the ports the OS picked. It is the only place (with ``dtls_adapter.py``) that touches aiocoap
internals (``Context._append_tokenmanaged_messagemanaged_transport``, ``_pool``,
``GenericMessageInterface._received_datagram``); pinned to aiocoap 0.4.17.

Bad input from the network never raises out of the receive path (:class:`DecodeGuard`): aiocoap
0.4.17 decodes string options (Uri-Path, Uri-Query, ...) with ``bytes.decode("utf-8")`` inside
``Message.decode`` and only catches its own ``UnparsableMessage``, so a non-UTF-8 option raised a
UnicodeDecodeError into asyncio's datagram callback (a traceback per datagram). Here such a CON
request gets 4.00 Bad Request (piggybacked, RFC 7252 §5.2.1) and one log line; other CON
messages are rejected with RST and NON ones ignored (RFC 7252 §4.2 / §4.3 on message format
errors), each with one log line.

Must not: hold LwM2M state or import the models.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiocoap
from aiocoap import error as coap_error
from aiocoap.message import Message
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type
from aiocoap.transports.simplesocketserver import MessageInterfaceSimpleServer, _Address, _DatagramServerSocketSimple
from aiocoap.util import hostportjoin


class DecodeGuard:
    """Mixin for aiocoap message interfaces: decode each datagram without letting a decoding
    error escape (module docstring). Must come before the aiocoap class in the bases."""

    _log: Any
    _mman: Any

    def _received_datagram(self, address: Any, datagram: bytes) -> None:
        try:
            message = Message.decode(datagram, remote=address)
        except coap_error.UnparsableMessage:
            self._log.warning("Ignoring unparsable message from %s", address)
            return
        except UnicodeDecodeError:
            reject_bad_utf8(self._log, address, datagram)
            return
        except Exception as exc:  # noqa: BLE001 - any other library decode error: one line, no traceback
            self._log.warning("Ignoring undecodable CoAP message from %s: %r", _who(address), exc)
            return
        if self._mman is not None:
            self._mman.dispatch_message(message)


def _who(address: Any) -> str:
    """``host:port`` of a plain or DTLS remote, for one short log line."""
    inner = getattr(address, "_underlying_address", address)
    addr = getattr(inner, "address", None)
    return f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) >= 2 else repr(address)


def reject_bad_utf8(log: Any, address: Any, datagram: bytes) -> None:
    """Answer a datagram whose header is fine but a string option is not UTF-8 (module docstring).

    Only the fixed 4-byte header and the token are read here (RFC 7252 §3: Ver|T|TKL, Code,
    Message ID, Token); the reply is built and encoded by aiocoap."""
    who = _who(address)
    if len(datagram) < 4 or datagram[0] >> 6 != 1 or (datagram[0] & 0x0F) > 8:
        log.warning("Ignoring unparsable message from %s", who)
        return
    mtype, tkl, code = (datagram[0] >> 4) & 0x03, datagram[0] & 0x0F, datagram[1]
    mid, token = int.from_bytes(datagram[2:4], "big"), datagram[4:4 + tkl]
    is_request = code >> 5 == 0 and code != 0
    if mtype == Type.CON and is_request:
        log.info("CoAP request from %s has an option that is not UTF-8: 4.00", who)
        reply = Message(mtype=Type.ACK, mid=mid, code=Code.BAD_REQUEST, token=token,
                        payload=b"option value is not valid UTF-8")
    elif mtype == Type.CON:
        log.info("CoAP message from %s has an option that is not UTF-8: RST", who)
        reply = Message(mtype=Type.RST, mid=mid, code=Code.EMPTY)
    else:
        log.info("CoAP message from %s has an option that is not UTF-8: ignored", who)
        return
    try:
        address.send(reply.encode())
    except Exception as exc:  # noqa: BLE001 - the socket may be gone; still one line
        log.info("could not answer %s: %r", who, exc)


class PlainServerInterface(DecodeGuard, MessageInterfaceSimpleServer):
    """aiocoap's single-address UDP server interface with :class:`DecodeGuard`."""


def new_context(site: Any, loggername: str) -> aiocoap.Context:
    """An empty server Context (no transports yet) serving ``site``."""
    return aiocoap.Context(loop=asyncio.get_running_loop(), serversite=site, loggername=loggername)


async def add_plain_listener(ctx: aiocoap.Context, host: str, port: int,
                             sock: socket.socket | None = None) -> tuple[str, int]:
    """Plain CoAP on exactly ``host:port`` (0 = ephemeral), or on the UDP socket ``sock`` bound
    before (``../prebind.py``: datagrams that came meanwhile are read now); returns the bound address.

    ``simplesocketserver`` (single-address UDP) is used instead of ``udp6`` because its remotes
    (``_Address``) are recognised for *outgoing* requests, so the platform's Observe and Write go
    out of the same socket to the address the registration came from (NAT-friendly, as a real
    LwM2M server must do).
    """
    interfaces: list[Any] = []

    async def make(mman):
        if sock is None:
            iface = await PlainServerInterface.create_server((host, port), mman, log=ctx.log, loop=ctx.loop)
        else:  # what MessageInterfaceSimpleServer.create_server does, on the given socket
            iface = PlainServerInterface(mman, ctx.log, ctx.loop)
            ready = ctx.loop.create_future()
            _t, protocol = await ctx.loop.create_datagram_endpoint(
                lambda: _DatagramServerSocketSimple(ready.set_result, iface, ctx.log), sock=sock)
            protocol.hostinfo_local = hostportjoin(*sock.getsockname()[:2])
            iface._pool = await ready
            iface._pool._loop = ctx.loop
        interfaces.append(iface)
        return iface

    await ctx._append_tokenmanaged_messagemanaged_transport(make)
    return bound_address(interfaces[0])


def bound_address(iface: Any) -> tuple[str, int]:
    sockname = iface._pool._transport.get_extra_info("sockname")
    return sockname[0], sockname[1]


def plain_remote_address(remote: Any) -> tuple[str, int] | None:
    """(host, port) of a plain-CoAP remote, None for other kinds."""
    if isinstance(remote, _Address):
        return remote.address[0], remote.address[1]
    return None


def end_observation(request: Any) -> None:
    """Stop a server-initiated Observe *now*, so the device's next notification is answered RST
    (RFC 7641 §3.6: a client no longer interested rejects a notification with RST).

    aiocoap 0.4.17 ``ClientObservation.cancel()`` only marks the observation; the token stays
    with the token manager until the *next* notification, which is still matched and ACKed
    (see ``protocol.Request._run``). Dropping the request's interest in its pipe (the private
    ``Request._stop_interest``) releases the token at once."""
    if not request.observation.cancelled:
        request.observation.cancel()
    stop = getattr(request, "_stop_interest", None)
    if stop is not None:
        stop()
