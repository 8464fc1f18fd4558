"""The only asyncio loop: modems <-> ports, effects <-> executors, wall clock -> VirtualClock.

``Emulator`` owns one :class:`VirtualClock`, the :class:`FakeInternet`, the backends and a
:class:`~.modemport.ModemPort` per modem (``modemport.py``; re-exported here). Each port hands the effect executors of ``emulator/net`` its
:class:`~emulator.net.context.NetContext` (built by ``netwiring.py``), never itself. In
``serve`` the clock follows the wall clock (times ``time_scale``) and can be pushed forward
(``advance``); scenarios run with ``follow_wall=False`` and move time themselves. Host links (``hostlink.py``)
attach to each port from ``on_port`` listeners, before its power-on output; what users ask of a
running emulator goes through ``emulator/control.py``.

Must not: contain protocol logic (features, executors and backends do) or know the console API,
scenarios or tests.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..backends import available_backends, load_backend
from ..backends.base import Backend, BackendContext
from ..config import Config, ModemSpec
from ..core.clock import VirtualClock
from ..net.internet import FakeInternet
from ..observe.bus import EventBus
from . import shutdown
from .clockview import LiveClockView, NetClock
from .modemport import ModemPort

if TYPE_CHECKING:  # pragma: no cover
    from .advance import AdvanceReport

log = logging.getLogger("modemu")



__all__ = ["Emulator", "ModemPort"]


class Emulator:
    """Modems, platforms and the virtual clock on one asyncio loop: start, drive time, stop."""

    def __init__(self, config: Config, *, modems: list[ModemSpec], link_dir: Path | None = None,
                 ephemeral: bool = False, follow_wall: bool = True, time_scale: float | None = None,
                 routes: list[str] | None = None, with_pty: bool = True, with_tcp: bool = True,
                 backends: list[str] | None = None, tcp_base_port: int = 7001,
                 clock: VirtualClock | None = None) -> None:
        self.config = config
        self.clock = clock or VirtualClock()
        self.internet = FakeInternet()
        self.events = EventBus(now=self.clock.now)  # live events: API /api/events, serve's lines
        self.ephemeral = ephemeral
        self.follow_wall = follow_wall
        self.time_scale = time_scale if time_scale is not None else config.time_scale
        self.link_dir = link_dir
        self.made_link_dir = False  # start() created link_dir: shutdown removes it once empty
        self.with_pty, self.with_tcp = with_pty, with_tcp
        self.tcp_base_port = tcp_base_port
        self.backend_names = backends if backends is not None else available_backends()
        self.backends: dict[str, Backend] = {}
        self.endpoints: dict[str, tuple[str, int]] = {}
        self.ports: dict[str, ModemPort] = {}
        self._specs = modems
        self._routes = list(config.routes) + list(routes or [])
        self._wake = asyncio.Event()
        self._driver: asyncio.Task | None = None
        self.driving = True  # shutdown clears it: the wall-clock driver's loop ends
        # serve: set once the ready file is written; the platforms' libraries attach to their
        # pre-bound sockets then (backends/prebind.py). None: they attach inside start()
        self.attach_later: asyncio.Event | None = None
        self._activity_listeners: list[Callable[[], None]] = []
        self._port_listeners: list[Callable[[ModemPort], None]] = []
        self.api_url: str | None = None
        self._clock_anchor: tuple[float, float] | None = None  # (loop time, virtual time)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.net_seq = 0  # bumped when the network may have moved: effects, network timers (advance.py)
        self.net_clock = NetClock(self.clock, self.note_net)  # the clock executors and platforms get
        self._advance_lock = asyncio.Lock()
        self._advancing = False  # a live advance moves the clock: the wall target does not meanwhile

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        from .fleet import check_room
        check_room(len(self._specs) if self.with_pty else 0, len(self._specs) if self.with_tcp else 0)
        loop = self.loop = asyncio.get_running_loop()
        if self.follow_wall:
            import time as _time  # the runner is the one place that reads the wall clock
            self.clock.advance_to(max(self.clock.now(), _time.time()))
            self._clock_anchor = (loop.time(), self.clock.now())
        # the platforms timestamp at the virtual time of the moment, not at the driver's last tick
        view: Any = LiveClockView(self.clock, self.live_now) if self.follow_wall else self.clock
        ctx = BackendContext(clock=NetClock(view, self.note_net), internet=self.internet, ephemeral=self.ephemeral,
                             publish=self.events.publish, attach_later=self.attach_later or False)
        for name in self.backend_names:
            backend = load_backend(name)(self.config.backends.get(name), ctx)
            self.endpoints.update(await backend.start())
            self.backends[name] = backend
        for spec in self._routes:
            self.internet.add_user_route(spec)
        import gc
        collecting = gc.isenabled()
        gc.disable()  # a fleet allocates millions of objects that all stay: no GC passes over them now
        try:
            await self._start_ports()
        finally:
            if collecting:
                gc.enable()
        self.clock.on_schedule(self._timer_added)
        if self.follow_wall:
            self._driver = loop.create_task(self._drive_clock())

    async def _start_ports(self) -> None:
        names = [s.name for s in self._specs]
        if len(set(names)) != len(names):
            from ..errors import ConfigError
            twice = sorted({n for n in names if names.count(n) > 1}) if len(names) < 2000 else ["..."]
            raise ConfigError(f"modem names must be unique; more than once: {', '.join(twice)}")
        if self.with_pty and self.link_dir is not None:
            self.made_link_dir = not self.link_dir.exists()
            from .pty import clean_stale_links
            clean_stale_links(self.link_dir)  # links of a killed run (pty.py: record_links)
        first_link = True
        for i, spec in enumerate(self._specs):
            port = ModemPort(self, spec)
            self.ports[spec.name] = port
            if self.with_pty:
                from .pty import PtyPort
                link = (self.link_dir / spec.name) if self.link_dir else None
                port.pty = PtyPort(port.feed, link)
                port.pty.start()
                if self.link_dir:  # recorded as soon as it exists: the first rewrites, the rest append
                    from .pty import append_link, record_links
                    if first_link:
                        record_links(self.link_dir, [port.pty])
                        first_link = False
                    else:
                        append_link(self.link_dir, port.pty)
                port.sinks.append(port.pty.write)
            if self.with_tcp:
                from .tcp import TcpPort
                port.tcp = TcpPort(port.feed, port=0 if self.ephemeral else self.tcp_base_port + i)
                await port.tcp.start()
                port.sinks.append(port.tcp.write)
            for listener in list(self._port_listeners):
                listener(port)  # host links attach here, before the power-on output
            port.drain()

    def stop_intake(self) -> None:
        """First step of shutdown, at once: no host input is read any more, no client accepted."""
        shutdown.stop_intake(self)

    def remove_links(self) -> None:
        shutdown.remove_links(self)

    async def stop(self) -> None:
        await shutdown.stop_emulator(self)  # in order, every wait capped (shutdown.py)

    # --- time -----------------------------------------------------------------------------
    def _wall_target(self) -> float:
        assert self._clock_anchor is not None
        loop_t0, virt_t0 = self._clock_anchor
        return virt_t0 + (asyncio.get_running_loop().time() - loop_t0) * self.time_scale

    def _timer_added(self) -> None:
        if not self._advancing:  # a live advance fires them itself; it wakes us at its end
            self._wake.set()

    async def _drive_clock(self) -> None:
        while self.driving:
            if not self._advancing:  # (an advance re-anchors the wall target when it ends)
                self.clock.advance_to(max(self.clock.now(), self._wall_target()))
            self.drain_all()
            self._wake.clear()
            deadline = self.clock.next_deadline()
            timeout = 1.0 if deadline is None else max(0.0, (deadline - self.clock.now()) / self.time_scale)
            try:
                await asyncio.wait_for(self._wake.wait(), min(timeout, 1.0))
            except asyncio.TimeoutError:
                pass

    def live_now(self) -> float | None:
        """Following the wall clock: the virtual time it is now (the clock catches up to it at
        its next sync); else None, and None during a live advance (the clock is "now" then)."""
        if self._clock_anchor is None or self._advancing or self.loop is None or not self.loop.is_running():
            return None
        loop_t0, virt_t0 = self._clock_anchor
        return virt_t0 + (self.loop.time() - loop_t0) * self.time_scale

    def sync_clock(self) -> None:
        """Following the wall clock: bring virtual time up to now before input is handled
        (the driver task only catches up when it wakes). Not during a live advance: the wall
        target may overtake it (a fast ``--time-scale``, a slow advance) and jumping to it would
        fire deadlines back to back without letting I/O settle; the host sees the advance's time."""
        if self._clock_anchor is not None and not self._advancing:
            target = self._wall_target()  # (once: this runs before every host input)
            if target > self.clock.now() and self.clock.advance_to(target):
                self.drain_all()

    def advance(self, seconds: float) -> int:
        """Push virtual time forward now (console API, scenarios): fire all that is due."""
        fired = self.clock.advance(seconds)
        self.events.publish("clock", advanced=float(seconds), fired=fired)
        if self._clock_anchor is not None:
            loop_t0, virt_t0 = self._clock_anchor
            self._clock_anchor = (loop_t0, virt_t0 + seconds)
        self.drain_all()
        return fired

    async def advance_live(self, seconds: float) -> int:
        """``advance`` for a live emulator; returns how many timers fired (``advance_report``)."""
        return (await self.advance_report(seconds)).fired

    async def advance_report(self, seconds: float) -> "AdvanceReport":
        """``advance`` for a live emulator (console API): deadline by deadline, loopback I/O
        let settle wherever a fired timer caused some, so an automatic LwM2M Update or an MQTT
        ping is answered before the next timer is due, whatever the machine's load
        (``transport/advance.py``). The same advance on an idle and a loaded machine does the same."""
        from .advance import advance_live
        async with self._advance_lock:
            self.sync_clock()  # from the present moment ...
            self._advancing = True
            try:
                report = await advance_live(self, seconds)
            finally:
                self._advancing = False
            if self._clock_anchor is not None and self.loop is not None:
                # ... to exactly ``seconds`` later: the wall time the advance itself took is not
                # added on top (a month taking 40 s on a loaded machine used to be followed by 40 s
                # fired back to back with no I/O: a PINGREQ, then its PINGRESP timeout)
                self._clock_anchor = (self.loop.time(), self.clock.now())
            self.events.publish("clock", advanced=round(report.advanced, 3), fired=report.fired)
        self._wake.set()  # the driver re-arms on the timers the advance left
        return report

    def on_loop(self, fn: Callable[..., Any], *args: Any, timeout: float = 30.0) -> Any:
        """Run ``fn(*args)`` on the emulator's event loop and return its result. The console
        API's sync routes run in worker threads; modems, executors and backends must only be
        touched from the loop (they create tasks and write to transports)."""
        loop = self.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop or not loop.is_running():
            return fn(*args)

        async def call() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(call(), loop).result(timeout)

    def drain_all(self) -> None:
        for port in self.ports.values():
            port.modem._pump()
            port.drain()

    def notify_activity(self) -> None:
        for listener in list(self._activity_listeners):
            listener()

    def note_net(self) -> None:
        """Something may have gone onto a loopback socket (an effect, a network timer)."""
        self.net_seq += 1

    def on_activity(self, listener: Callable[[], None]) -> None:
        self._activity_listeners.append(listener)

    def on_port(self, listener: Callable[["ModemPort"], None]) -> None:
        """Call ``listener(port)`` for each modem port ``start()`` creates, once its pty/TCP
        exist and before its first output (the power-on URCs) is drained: where a host link
        (``transport/hostlink.py``) attaches to read the boot. Register before ``start()``."""
        self._port_listeners.append(listener)

    # --- reporting ------------------------------------------------------------------------
    def ready_info(self) -> dict[str, Any]:
        return {"modems": [p.info() for p in self.ports.values()],
                "backends": {k: f"{h}:{p}" for k, (h, p) in sorted(self.endpoints.items())},
                "api": self.api_url}
