"""Dialling a stream connection (TCP, or TLS over it) for the modem's MQTT stacks, bounded in
virtual time.

``dial`` asks the FakeInternet where ``host:port`` really goes, applies the route's fault
(``drop``: nothing answers until the timeout; ``delay``: virtual wait first; ``cut``: the caller
resets the connection right after it opened) and opens the connection, TLS included, within
``timeout`` *virtual* seconds: a module gives up on an open after its own limit (QMTOPEN: 75 s
maximum response time, Quectel BG96 MQTT Application Note V1.0), whether the SYN or the TLS handshake got no answer.
That covers MQTTS dialled at a plain-MQTT port: the broker reads the ClientHello as a broken
MQTT packet and waits for more, so without this bound asyncio's own handshake timeout (60 s of
wall time) decided. When the virtual bound runs out while a handshake is still under way on
loopback, it gets ``SETTLE_S`` wall seconds to finish (loopback I/O settling, so a clock that a
scenario jumped ahead does not fail a handshake that was about to complete; not a protocol
timer, and shorter than the scenario engine's 0.2 s grace so expectations still see the result).

Must not: dial anything but what ``FakeInternet.connect_target`` returns, or keep state.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import Any

from ..core.clock import VirtualClock
from .internet import FakeInternet
from .netutil import make_ssl_context, virtual_sleep
from .tls_context import valid_at_local_time

log = logging.getLogger("modemu.dial")

SETTLE_S = 0.1
HANDSHAKE_WALL_CAP = 600.0  # asyncio needs a number; the virtual bound above always ends first


@dataclass
class Dialled:
    outcome: str  # "ok" | "dns" | "refused" | "timeout" | "error"
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    cut: bool = False  # the route resets this connection as soon as it is up


async def dial(clock: VirtualClock, internet: FakeInternet, host: str, port: int, *, tls: bool = False,
               ca_file: str | None = None, timeout: float = 75.0, name: str = "dial",
               ssl_context: ssl.SSLContext | None = None, server_hostname: str | None = None) -> Dialled:
    """``ssl_context`` (a client context from ``tls_context.py``: an AT+QSSLCFG context) replaces
    the ``ca_file`` one; ``server_hostname`` "" sends no SNI (None: the dialled name)."""
    endpoint, err, fault = internet.connect_target(host, port)
    if err:
        return Dialled(err)
    assert endpoint is not None
    if fault is not None and fault.kind == "drop":  # black-holed: the open times out
        await virtual_sleep(clock, timeout)
        return Dialled("timeout")
    if fault is not None and fault.kind == "delay":
        await virtual_sleep(clock, fault.seconds)
    extra: dict[str, Any] = {}
    if tls or ssl_context is not None:
        extra = {"ssl": ssl_context or make_ssl_context(ca_file),
                 "server_hostname": host if server_hostname is None else server_hostname,
                 "ssl_handshake_timeout": HANDSHAKE_WALL_CAP}
    loop = asyncio.get_running_loop()
    opening = loop.create_task(asyncio.open_connection(endpoint[0], endpoint[1], **extra))
    expired = loop.create_future()
    timer = clock.call_later(timeout, lambda: expired.done() or expired.set_result(None), f"{name}-open")
    try:
        await asyncio.wait({opening, expired}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():
            await asyncio.wait({opening}, timeout=SETTLE_S)
    finally:
        timer.cancel()
    if not opening.done():
        opening.cancel()
        try:
            await opening
        except (asyncio.CancelledError, OSError, ssl.SSLError):
            pass
        log.info("%s: open %s:%s via %s: no %s within %ss", name, host, port, endpoint,
                 "TLS handshake" if "ssl" in extra else "connection", timeout)
        return Dialled("timeout")
    try:
        reader, writer = opening.result()
    except (OSError, ssl.SSLError) as exc:
        log.info("%s: open %s:%s via %s failed: %s", name, host, port, endpoint, exc)
        return Dialled("refused" if isinstance(exc, ConnectionRefusedError) else "error")
    if ssl_context is not None:
        ssl_obj = writer.get_extra_info("ssl_object")
        if not valid_at_local_time(ssl_context, ssl_obj.getpeercert(binary_form=True) if ssl_obj else None):
            log.info("%s: open %s:%s: certificate not valid at the module's time", name, host, port)
            writer.close()
            return Dialled("error")
    return Dialled("ok", reader, writer, cut=fault is not None and fault.kind == "cut")
