"""aiocoap plumbing for the LwM2M server: build a Context with exactly the listeners we want.

aiocoap's ``Context.create_server_context`` binds every selected transport to the same ``bind``
(and the DTLS one to port + 1), so it cannot give us "plain CoAP on port A, DTLS on port B, both
ephemeral". This file assembles the Context by hand from aiocoap's own transports and reads back
the ports the OS picked. It is the only place (with ``dtls_adapter.py``) that touches aiocoap
internals (``Context._append_tokenmanaged_messagemanaged_transport``, ``_pool``); pinned to
aiocoap 0.4.17.

Must not: hold LwM2M state or import the models.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiocoap
from aiocoap.transports.simplesocketserver import MessageInterfaceSimpleServer, _Address


def new_context(site: Any, loggername: str) -> aiocoap.Context:
    """An empty server Context (no transports yet) serving ``site``."""
    return aiocoap.Context(loop=asyncio.get_running_loop(), serversite=site, loggername=loggername)


async def add_plain_listener(ctx: aiocoap.Context, host: str, port: int) -> tuple[str, int]:
    """Plain CoAP on exactly ``host:port`` (0 = ephemeral); returns the bound address.

    ``simplesocketserver`` (single-address UDP) is used instead of ``udp6`` because its remotes
    (``_Address``) are recognised for *outgoing* requests, so the platform's Observe and Write go
    out of the same socket to the address the registration came from (NAT-friendly, as a real
    LwM2M server must do).
    """
    interfaces: list[Any] = []

    async def make(mman):
        iface = await MessageInterfaceSimpleServer.create_server((host, port), mman, log=ctx.log, loop=ctx.loop)
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
