"""The event bus: every live event of an emulator (AT lines, platform logins, uplinks, downlink
status, faults, clock advances, power changes) as one JSON-able dict, to any number of subscribers.

Sans-IO: ``publish`` is a plain call that stamps ``ts`` (the virtual clock; a ``ts`` field given
by the publisher, stamped when the thing happened, is kept) and appends to each
subscriber's bounded deque; a subscriber that reads too slowly loses its oldest events (counted,
and told with a ``dropped`` event) and never blocks the publisher or grows memory. A subscriber
may register a ``wake`` callback (the SSE route sets an asyncio.Event there). A small ring of recent events lets a new
subscriber (a page opened late) start with context.

Must not: do I/O, know HTTP/asyncio, or raise into the publisher (a bad listener is dropped).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

log = logging.getLogger("modemu.events")

QUEUE_LIMIT = 2000   # events per subscriber before the oldest are dropped
RECENT_LIMIT = 500   # events kept for a late subscriber's back-fill


class Subscription:
    """One reader's bounded queue (``get_all`` takes what is there)."""

    def __init__(self, bus: "EventBus", limit: int, wake: Callable[[], None] | None) -> None:
        self.bus = bus
        self.queue: deque[dict[str, Any]] = deque(maxlen=limit)
        self.dropped = 0
        self.wake = wake
        self.closed = False  # the bus was closed (the API is stopping): the reader should end

    def put(self, event: dict[str, Any]) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.dropped += 1
        self.queue.append(event)
        if self.wake is not None:
            self.wake()

    def get_all(self) -> list[dict[str, Any]]:
        """What arrived since the last call; when events were lost (the reader was slow), a
        ``{"type": "dropped", "count": N}`` event comes first, so the loss is never silent."""
        out = list(self.queue)
        self.queue.clear()
        if self.dropped:
            out.insert(0, {"type": "dropped", "ts": round(float(self.bus.now()), 3), "count": self.dropped})
            self.dropped = 0
        return out

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus:
    """Publish/subscribe for live events; ``now`` gives the virtual time for ``ts``."""

    def __init__(self, now: Callable[[], float] = lambda: 0.0) -> None:
        self.now = now
        self.seq = 0
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT_LIMIT)

    def publish(self, type: str, **fields: Any) -> dict[str, Any]:  # noqa: A002 - the event's "type"
        self.seq += 1
        event = {"type": type, "ts": round(float(self.now()), 3), "seq": self.seq, **fields}
        self.recent.append(event)
        for sub in list(self._subs) if self._subs else ():
            sub.put(event)
        for listener in list(self._listeners) if self._listeners else ():
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a printer must not break the emulator
                log.exception("event listener failed; removed")
                self._listeners.remove(listener)
        return event

    def subscribe(self, limit: int = QUEUE_LIMIT, wake: Callable[[], None] | None = None,
                  backfill: bool = False, after: int | None = None) -> Subscription:
        """A new reader; ``backfill`` starts it with the recent events, those after sequence
        number ``after`` when given (a reconnecting reader's last one; a number this bus never
        reached means another run: all of them)."""
        sub = Subscription(self, limit, wake)
        if backfill:
            resume = after is not None and after <= self.seq
            sub.queue.extend(e for e in self.recent if not resume or e["seq"] > after)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def close(self) -> None:
        """End every subscription (the console API is stopping): each is marked ``closed`` and
        woken, so an open ``/api/events`` stream ends like any response instead of being cut."""
        subs, self._subs = self._subs, []
        for sub in subs:
            sub.closed = True
            if sub.wake is not None:
                sub.wake()

    def listen(self, fn: Callable[[dict[str, Any]], None]) -> None:
        """A synchronous listener (``serve``'s printer): called for every event, in order."""
        self._listeners.append(fn)

    @property
    def subscribers(self) -> int:
        return len(self._subs)
