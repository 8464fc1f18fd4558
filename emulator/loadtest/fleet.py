"""One emulator per process for load tests: N in-process modems, each reachable as a socket.

Why a native thread and a socket pair (Locust runs on gevent, the emulator on asyncio):
``import locust`` calls ``gevent.monkey.patch_all()``, so ``threading.Thread`` makes greenlets and
``selectors.DefaultSelector`` is gevent's. An asyncio loop on those would only run when the
users yield, and its locks would be greenlet locks shared with the users. So :class:`Fleet`
starts the emulator's loop on a real OS thread (``_thread.start_new_thread`` as it was before the
patch) with a real epoll selector (the unpatched ``selectors.EpollSelector``). Between that thread
and the users there is no shared Python object at all: each modem's line is a kernel socket pair
(``_socket.socketpair``, never patched). The loop side is an asyncio transport whose bytes go to
``ModemPort.feed`` and whose writes are the port's sink; the user side is wrapped as a *gevent*
socket when gevent is patched in (so a user waiting for a reply yields to the other users) and
as a plain blocking socket otherwise (tests, scripts). The kernel does the hand-over between the
threads, exactly like a UART.

Everything the emulator dials or binds stays on loopback (the embedded platforms; ``routes``
point hostnames at the user's own broker or LwM2M server on 127.0.0.1/::1 only).

Must not: know Locust, interpret AT lines (steps.py does) or touch the virtual clock (the
emulator follows the wall clock, ``time_scale`` 1 by default).
"""

from __future__ import annotations

import _socket
import _thread
import asyncio
import os
import queue
import selectors
import socket
import threading
from typing import Any

START_TIMEOUT = 120.0  # wall seconds for the emulator (backends + N modems) to be ready


def _original(module: str, name: str, default: Any) -> Any:
    """``module.name`` as it was before gevent's monkey patching (``default`` when not patched)."""
    try:
        from gevent import monkey
    except ImportError:
        return default
    return monkey.get_original(module, name) if monkey.is_module_patched(module) else default


def _gevent_patched() -> bool:
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def raise_fd_limit(needed: int) -> None:
    """Each modem holds two descriptors: lift the soft limit towards the hard one if needed."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _get(box: queue.SimpleQueue, timeout: float, default: Any) -> Any:
    """The next item the loop thread puts in ``box``. Blocking the OS thread would stop every
    greenlet, so under gevent this polls with ``gevent.sleep`` (20 ms steps: fleet start and
    growth only, never on an AT command's path)."""
    if _gevent_patched():
        import gevent
        waited = 0.0
        while waited < timeout:
            try:
                return box.get_nowait()
            except queue.Empty:
                gevent.sleep(0.02)
                waited += 0.02
        return default
    try:
        return box.get(timeout=timeout)
    except queue.Empty:
        return default


class _LineProtocol(asyncio.Protocol):
    """The emulator's end of one modem's line: socket bytes -> ``ModemPort.feed``."""

    def __init__(self, port: Any) -> None:
        self.port = port

    def data_received(self, data: bytes) -> None:
        self.port.feed(data)


class Fleet:
    """``count`` modems of ``module`` (names ``<prefix>-0001``...) in one emulator on its own thread.

    ``take()`` hands out the host end of a free modem's line (a connected socket), ``give_back``
    returns it; when none is free it first adds ``grow_by`` modems (a Locust worker does not know
    how many users it will get). ``stop()`` shuts the emulator down and closes every line.
    """

    def __init__(self, module: str, count: int, *, prefix: str = "modem", backends: list[str] | None = None,
                 routes: list[str] | None = None, overrides: dict[str, Any] | None = None,
                 time_scale: float = 1.0, grow_by: int = 50, limit: int = 100_000) -> None:
        if count < 1:
            raise ValueError("a fleet needs at least one modem")
        self.module, self.count, self.prefix = module, count, prefix
        self.backends, self.routes = backends, list(routes or [])
        self.overrides = dict(overrides or {})
        self.time_scale = time_scale
        self.grow_by, self.limit = max(1, grow_by), limit
        self.names = [self._name(i) for i in range(1, count + 1)]
        self.emulator: Any = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._host_ends: dict[str, socket.socket] = {}
        # one box per modem: the loop puts True once its line is connected and the boot output
        # written to it, so a user never takes a line whose boot URCs are still in flight (they
        # would land inside the first command's answer)
        self._connected: dict[str, queue.SimpleQueue] = {}
        self._free: list[str] = list(reversed(self.names))
        self._started: queue.SimpleQueue = queue.SimpleQueue()  # real-thread safe (C implementation)
        self._done = _original("_thread", "allocate_lock", _thread.allocate_lock)()
        self.error: BaseException | None = None
        self._growing = threading.Lock()  # users' side only (gevent's lock when patched)

    def _name(self, number: int) -> str:
        return f"{self.prefix}-{number:04d}"

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Fleet":
        raise_fd_limit(2 * self.count + 256)
        self._done.acquire()
        start_thread = _original("_thread", "start_new_thread", _thread.start_new_thread)
        start_thread(self._main, ())
        ok = self._wait_started()
        if not ok:
            raise RuntimeError(f"the fleet's emulator did not start: {self.error}") from self.error
        return self

    def _wait_started(self) -> bool:
        return _get(self._started, START_TIMEOUT, False)

    def _main(self) -> None:
        selector_cls = _original("selectors", "DefaultSelector", selectors.DefaultSelector)
        loop = self.loop = asyncio.SelectorEventLoop(selector_cls())
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self.error = exc
            if self.emulator is not None:  # what did start (backends, ports) goes again
                try:
                    loop.run_until_complete(self.emulator.stop())
                except BaseException:  # noqa: BLE001 - the first error is the one to report
                    pass
            self._started.put(False)
            loop.close()
            self._done.release()
            return
        self._started.put(True)
        try:
            loop.run_forever()
        finally:
            loop.close()
            self._done.release()

    async def _start(self) -> None:
        from ..config import Config, ModemSpec
        from ..transport.runner import Emulator
        specs = [ModemSpec(name, self.module, dict(self.overrides)) for name in self.names]
        self.emulator = Emulator(Config(), modems=specs, ephemeral=True, with_pty=False, with_tcp=False,
                                 follow_wall=True, time_scale=self.time_scale, backends=self.backends,
                                 routes=self.routes)
        self.emulator.on_port(self._attach)
        await self.emulator.start()

    def _attach(self, port: Any) -> None:
        """On the loop, before the modem's power-on output: connect its line to a socket pair."""
        mine, theirs = _socket.socketpair()
        real_socket = _original("socket", "socket", socket.socket)
        sock = real_socket(fileno=mine.detach())
        sock.setblocking(False)
        pending = bytearray()  # the boot output, until the transport exists
        state: dict[str, Any] = {}

        def sink(data: bytes) -> None:
            transport = state.get("transport")
            if transport is None:
                pending.extend(data)
            elif not transport.is_closing():
                transport.write(data)
        port.sinks.append(sink)

        connected: queue.SimpleQueue = queue.SimpleQueue()
        self._connected[port.name] = connected

        async def connect() -> None:
            transport, _ = await self.loop.connect_accepted_socket(lambda: _LineProtocol(port), sock=sock)
            state["transport"] = transport
            if pending:
                transport.write(bytes(pending))
                pending.clear()
            connected.put(True)
        task = self.loop.create_task(connect())
        port.tasks.add(task)
        task.add_done_callback(port.tasks.discard)
        self._host_ends[port.name] = theirs  # wrapped for the user in take()

    def stop(self, timeout: float = 30.0) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed() and self.emulator is not None:
            async def shutdown() -> None:
                await self.emulator.stop()
                loop.stop()
            try:
                loop.call_soon_threadsafe(lambda: loop.create_task(shutdown()))
            except RuntimeError:  # the loop already closed
                pass
            self._wait_done(timeout)
        for raw in self._host_ends.values():
            try:
                raw.close()
            except OSError:  # pragma: no cover - already closed by a user socket
                pass
        self._host_ends.clear()

    def _wait_done(self, timeout: float) -> None:
        if _gevent_patched():
            import gevent
            waited = 0.0
            while waited < timeout and not self._done.acquire(False):
                gevent.sleep(0.02)
                waited += 0.02
            return
        if self._done.acquire(timeout=timeout):
            self._done.release()

    # --- lines for users ---------------------------------------------------------------------
    def take(self) -> tuple[str, socket.socket]:
        """(name, host end of its line) of a free modem, adding ``grow_by`` modems when none is free;
        RuntimeError past ``limit`` modems or when the emulator cannot add them."""
        with self._growing:  # users spawned together grow the fleet once
            if not self._free:
                self.grow(min(self.grow_by, self.limit - self.count))
            name = self._free.pop()
        box = self._connected.pop(name, None)  # only the first take of a modem waits
        if box is not None and not _get(box, START_TIMEOUT, False):
            raise RuntimeError(f"{name}: its line did not connect")
        raw = self._host_ends[name]
        fd = os.dup(raw.fileno())
        sock = socket.socket(fileno=fd)  # gevent's socket class when gevent is patched in
        sock.setblocking(True)
        return name, sock

    def grow(self, n: int) -> None:
        """Add ``n`` modems to the running emulator (on its loop; powered on like the first ones)."""
        if n < 1:
            raise RuntimeError(f"all {self.count} modems are taken (limit {self.limit})")
        names = [self._name(i) for i in range(self.count + 1, self.count + n + 1)]
        box: queue.SimpleQueue = queue.SimpleQueue()

        def add() -> None:
            try:
                from ..config import ModemSpec
                from ..transport.runner import ModemPort
                emulator = self.emulator
                for name in names:  # what Emulator.start does for a port without pty/TCP
                    port = ModemPort(emulator, ModemSpec(name, self.module, dict(self.overrides)))
                    emulator.ports[name] = port
                    self._attach(port)
                    port.drain()
                box.put(None)
            except BaseException as exc:  # noqa: BLE001 - handed to the user that asked
                box.put(exc)
        raise_fd_limit(2 * (self.count + n) + 256)
        assert self.loop is not None
        self.loop.call_soon_threadsafe(add)
        error = _get(box, START_TIMEOUT, TimeoutError("the emulator did not add modems in time"))
        if error is not None:
            raise RuntimeError(f"the fleet could not add {n} modems: {error}") from error
        self.names += names
        self.count += n
        self._free[:0] = list(reversed(names))

    def give_back(self, name: str, sock: socket.socket) -> None:
        sock.close()  # the duplicate only: the line itself stays open for the next user
        self._free.append(name)
