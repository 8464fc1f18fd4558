"""What the embedded platforms see as "now" while ``serve`` follows the wall clock.

The virtual clock only moves when the runner's driver wakes (at the next timer, at most once a
second when idle) or when a modem gets host input; a platform taking a timestamp in between
(an uplink from a client that is not a modem, or the second of two uplinks 100 ms apart) would
read the last tick. :class:`LiveClockView` answers ``now()`` with the virtual time at that
moment (the wall-clock target the driver is heading to, at the clock's full resolution) and
schedules relative to it; everything else is the one :class:`VirtualClock`.

Must not: move the clock or fire timers (a timestamp read must not run other code), or be
used where time is driven by hand (scenarios, tests: ``follow_wall=False`` gives the clock).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.clock import Timer, VirtualClock


class LiveClockView:
    """``clock`` as of now: ``max(clock.now(), target())``; ``target`` is the runner's wall target."""

    def __init__(self, clock: VirtualClock, target: Callable[[], float | None]) -> None:
        self._clock, self._target = clock, target

    def now(self) -> float:
        virtual = self._clock.now()
        live = self._target()
        return virtual if live is None or live < virtual else live

    def call_later(self, delay: float, callback: Callable[[], None], name: str = "") -> Timer:
        return self._clock.call_at(self.now() + max(0.0, float(delay)), callback, name)

    def __getattr__(self, name: str) -> Any:  # call_at, pending, next_deadline, advance ...
        return getattr(self._clock, name)
