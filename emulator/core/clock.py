"""The one clock of the emulator: virtual time and the timers that run on it.

Everything that waits inside the model -- reply delays, CON retransmissions, LwM2M lifetimes,
keepalives, PSM timers -- is a timer on a :class:`VirtualClock`. Time only moves when somebody
calls :meth:`VirtualClock.advance` / :meth:`VirtualClock.advance_to`; due timers then fire in
deadline order (ties in scheduling order), and a timer scheduled by a firing callback for a
moment inside the advanced window fires in the same call.

Must not: read the wall clock, sleep, or import asyncio. ``transport/runner.py`` is the only
place that maps wall time onto this clock (optionally scaled); scenarios advance it explicitly.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable


@dataclass(order=True)
class Timer:
    """A scheduled callback. ``cancel()`` is idempotent; a cancelled timer never fires."""

    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    name: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)

    __hash__ = object.__hash__  # seq makes every timer unique; sets of timers need a hash

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Monotonic virtual seconds; starts at ``start`` (an epoch-like value for timestamps)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None], name: str = "") -> Timer:
        return self.call_at(self._now + max(0.0, float(delay)), callback, name)

    def call_at(self, deadline: float, callback: Callable[[], None], name: str = "") -> Timer:
        timer = Timer(max(deadline, self._now), next(self._seq), callback, name)
        heapq.heappush(self._heap, timer)
        for listener in list(self._listeners):
            listener()
        return timer

    def on_schedule(self, listener: Callable[[], None]) -> None:
        """Register a listener told whenever a timer is added (the runner re-arms its wait)."""
        self._listeners.append(listener)

    def next_deadline(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].deadline if self._heap else None

    def pending(self) -> list[Timer]:
        return sorted(t for t in self._heap if not t.cancelled)

    def advance(self, seconds: float) -> int:
        """Move time forward by ``seconds`` firing everything due; returns how many fired."""
        return self.advance_to(self._now + max(0.0, float(seconds)))

    def advance_to(self, target: float) -> int:
        fired = 0
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            timer = heapq.heappop(self._heap)
            self._now = max(self._now, timer.deadline)
            fired += 1
            timer.callback()
        self._now = max(self._now, target)
        return fired
