"""Small helpers for executors: waiting on virtual time from asyncio, TLS client contexts.

Must not: keep state or dial anything.
"""

from __future__ import annotations

import asyncio
import ssl

from ..core.clock import VirtualClock


def virtual_sleep(clock: VirtualClock, seconds: float) -> asyncio.Future:
    """A future that completes after ``seconds`` of *virtual* time."""
    fut = asyncio.get_running_loop().create_future()
    clock.call_later(seconds, lambda: fut.done() or fut.set_result(None), "virtual-sleep")
    return fut


def make_ssl_context(ca_file: str | None = None) -> ssl.SSLContext:
    """TLS client context: verify the broker against ``ca_file`` when given, else accept any."""
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not ca_file:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
