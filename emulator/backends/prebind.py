"""Listeners bound now, protocol served a moment later: how a platform starts without its library.

``modemu serve`` writes the ready file once every endpoint in it accepts connections; the
protocol libraries behind them (amqtt, aiocoap, python-mbedtls, cryptography) cost more to import
than the modems themselves. So a backend started with ``BackendContext.attach_later`` binds its
sockets here first (:func:`listen_tcp`, :func:`bind_udp`: a TCP socket listens, a UDP socket is
bound), returns their endpoints, and a :class:`BringUp` task imports the library in a worker
thread and attaches the server to those very sockets on the loop. A client that connects or
sends a datagram in between waits in the kernel (the TCP backlog, the UDP receive buffer) and is
served once the server is up. If the bring-up fails, one log line says why and the sockets are
closed, so clients are refused instead of waiting forever.

Must not: speak any protocol, or bind anything but the loopback address it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import socket
import sys
from typing import Any, Awaitable, Callable

log = logging.getLogger("modemu.backends")

BACKLOG = 128  # connections that may wait while a platform loads (asyncio's default is 100)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen_tcp(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: ephemeral), as ``asyncio.start_server`` makes it."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_udp(host: str, port: int) -> socket.socket:
    """A bound UDP socket on ``host:port`` (0: ephemeral); datagrams queue in its buffer until read."""
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def endpoint(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return host, port


def _threads_usable() -> bool:
    """False in a process whose threads gevent has patched (a Locust worker, emulator/loadtest):
    there a "worker thread" is a greenlet of a hub that never runs on this loop's thread, so
    ``asyncio.to_thread`` would wait for ever (the fleet's start-up hung so with Locust 2.47)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is None or not monkey.is_module_patched("threading")


async def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker thread (the loop keeps serving meanwhile), or inline where
    threads are gevent's (see :func:`_threads_usable`)."""
    if _threads_usable():
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


async def import_in_thread(*names: str) -> None:
    """Import ``names`` in a worker thread, so the loop keeps serving the modems meanwhile."""
    def load() -> None:
        for name in names:
            importlib.import_module(name)
    await off_loop(load)


class BringUp:
    """The task that attaches a backend's servers to its pre-bound sockets (module doc).

    ``start(label, attach, sockets, cleanup=, later=)`` awaits ``attach()`` at once, or with
    ``later`` runs it as a task; if it fails, ``cleanup()`` stops what it had started and the
    sockets are closed (at once: the error goes up; later: one log line). ``wait()`` returns once
    the servers are attached (raises what ``attach`` raised). A backend's ``stop()`` calls
    ``cancel()``, stops its servers, then ``close_sockets()`` (those never handed over)."""

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.sockets: list[socket.socket] = []
        self.error: BaseException | None = None

    async def start(self, label: str, attach: Callable[[], Awaitable[Any]], sockets: list[socket.socket], *,
                    cleanup: Callable[[], Awaitable[Any]], later: Any) -> None:
        """``later``: False (attach now), True (in a task) or an ``asyncio.Event`` the task waits for."""
        self.sockets, self.error = list(sockets), None
        if not later:
            await self._attach(attach, cleanup)
            return

        async def run() -> None:
            try:
                if isinstance(later, asyncio.Event):
                    await later.wait()
                await self._attach(attach, cleanup)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one line; its clients are refused from now on
                self.error = exc
                log.error("%s could not start: %s", label, exc)
        self.task = asyncio.get_running_loop().create_task(run())

    async def _attach(self, attach: Callable[[], Awaitable[Any]], cleanup: Callable[[], Awaitable[Any]]) -> None:
        try:
            await attach()
        except asyncio.CancelledError:
            raise  # stop() cancelled it and cleans up itself
        except BaseException:
            with contextlib.suppress(Exception):
                await cleanup()
            self.close_sockets()
            raise
        self.sockets = []  # the servers own them now

    async def wait(self) -> None:
        if self.task is not None:
            await asyncio.shield(self.task)
        if self.error is not None:
            raise self.error

    @property
    def pending(self) -> bool:
        return self.task is not None and not self.task.done()

    async def cancel(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    def close_sockets(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()
        self.sockets = []
