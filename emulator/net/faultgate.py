"""Standing route faults applied to sessions that are already open (drop / delay mid-session).

:class:`RouteGate` answers, per datagram or write, what the route of an open session does to
it now (``FakeInternet.standing_fault``): pass, lose (``drop``) or hold it ``seconds`` of
*virtual* time (``delay``). :class:`StreamLane` is one direction of a stream (TCP, MQTT over
TCP): items keep their order; while the route drops they wait (TCP keeps retransmitting, so
nothing is lost unless the connection dies), each is held until ``delay`` seconds after it was
queued, and a lane may give up (``give_up`` virtual seconds with its head stuck: the module's
TCP retransmissions are exhausted) and call ``on_give_up``. Datagrams (UDP, CoAP) use
:meth:`RouteGate.datagram`: a dropped one is gone, a delayed one is sent later.

Must not: open sockets, read the wall clock, or know any protocol.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable

from ..core.clock import VirtualClock
from .internet import Fault, FakeInternet, Route

log = logging.getLogger("modemu.faults")


class RouteGate:
    def __init__(self, internet: FakeInternet, route: Route | None, clock: VirtualClock,
                 sync: Callable[[], None] | None = None) -> None:
        self.internet, self.route, self.clock = internet, route, clock
        self._sync = sync or (lambda: None)
        # every datagram and stream write of a modem passes here, both ways: the runner's
        # NetClock counts it as network activity (a live advance settles until it stops)
        self.touched: Callable[[], None] = getattr(clock, "touched", None) or (lambda: None)

    def fault(self) -> Fault | None:
        return self.internet.standing_fault(self.route)

    def changed(self) -> tuple[asyncio.Future, Callable[[], None]]:
        """A future that resolves once the faults change (thread-safe: the console may change
        them), and the function that stops watching (call it when done waiting)."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def wake() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(None))
        return fut, self.internet.on_change(wake)

    def later(self, seconds: float, fn: Callable[[], None], name: str) -> Any:
        self._sync()  # arm against the current virtual time (serve: between runner ticks)
        return self.clock.call_later(seconds, fn, name)

    def datagram(self, send: Callable[[], None], name: str = "datagram") -> bool:
        """Send one datagram through the route: now, later (delay) or never (drop)."""
        self.touched()
        fault = self.fault()
        if fault is None:
            send()
            return True
        if fault.kind == "drop":
            return False
        self.later(fault.seconds, lambda: self._late(send), f"{name}-delay")
        return True

    def _late(self, send: Callable[[], None]) -> None:
        fault = self.fault()
        if fault is None or fault.kind != "drop":  # a drop installed meanwhile loses it too
            try:
                send()
            except Exception:  # noqa: BLE001 - the socket closed meanwhile: the datagram is lost
                log.debug("late datagram lost", exc_info=True)

    async def passage(self, stamp: float, give_up: float | None = None) -> bool:
        """Wait until traffic queued at virtual ``stamp`` may pass; False when the route has
        dropped it for ``give_up`` seconds after ``stamp`` (None: wait for ever)."""
        while True:
            fault = self.fault()
            if fault is None:
                return True
            self._sync()
            now = self.clock.now()
            if fault.kind == "drop":
                if give_up is not None and now >= stamp + give_up:
                    return False
                until = None if give_up is None else stamp + give_up
            else:
                if now >= stamp + fault.seconds:
                    return True
                until = stamp + fault.seconds
            change, unwatch = self.changed()
            waits = [change]
            timer = None
            if until is not None:
                tick = asyncio.get_running_loop().create_future()
                timer = self.clock.call_at(until, lambda: tick.done() or tick.set_result(None), "route-fault")
                waits.append(tick)
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                unwatch()  # a wait ended by its timer must not leave its watcher behind
                if timer is not None:
                    timer.cancel()
                for fut in waits:
                    fut.cancel()


class StreamLane:
    """One direction of a stream through a gate: ``put(item)`` delivers in order."""

    def __init__(self, gate: RouteGate, deliver: Callable[[Any], None], *, give_up: float | None = None,
                 on_give_up: Callable[[], None] | None = None) -> None:
        self.gate, self.deliver = gate, deliver
        self.give_up, self.on_give_up = give_up, on_give_up
        self.queue: deque[tuple[float, Any]] = deque()
        self.task: asyncio.Task | None = None

    def put(self, item: Any) -> None:
        self.gate.touched()
        if not self.queue and self.gate.fault() is None:
            self.deliver(item)  # the usual case: no fault, nothing held, no task
            return
        self.gate._sync()
        self.queue.append((self.gate.clock.now(), item))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._pump())

    @property
    def held(self) -> int:
        return len(self.queue)

    async def _pump(self) -> None:
        try:
            while self.queue:
                stamp, _item = self.queue[0]
                if not await self.gate.passage(stamp, self.give_up):
                    self.queue.clear()
                    if self.on_give_up is not None:
                        self.on_give_up()
                    return
                _stamp, item = self.queue.popleft()
                self.deliver(item)
        finally:
            self.task = None

    def close(self) -> None:
        self.queue.clear()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self.task = None
