"""What the embedded platforms see as "now" while ``serve`` follows the wall clock.

The virtual clock only moves when the runner's driver wakes (at the next timer, at most once a
second when idle) or when a modem gets host input; a platform taking a timestamp in between
(an uplink from a client that is not a modem, or the second of two uplinks 100 ms apart) would
read the last tick. :class:`LiveClockView` answers ``now()`` with the virtual time at that
moment (the wall-clock target the driver is heading to, at the clock's full resolution) and
schedules relative to it; everything else is the one :class:`VirtualClock`.

:class:`NetClock` is the clock as executors and platforms get it: their timers are marked as
network timers, so a live advance knows when a deadline may have put bytes on loopback.

Must not: move the clock or fire timers (a timestamp read must not run other code); the live
view must not be used where time is driven by hand (scenarios, tests: ``follow_wall=False``
gives the clock itself, wrapped only by :class:`NetClock`).
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


class NetClock:
    """The clock as the network side (executors, platforms) gets it: timers armed through it
    are network timers, and each one that fires tells ``fired()`` before its callback runs.

    A live clock advance (``transport/advance.py``) uses that to know that a deadline may have
    put bytes on a loopback socket (a keepalive PINGREQ, a retransmission, an idle close), so it
    lets the loop settle before the next deadline; modem-side timers reach the network only
    through effects, which the port counts itself."""

    def __init__(self, clock: Any, fired: Callable[[], None]) -> None:
        self._clock, self._fired = clock, fired

    def _wrap(self, callback: Callable[[], None]) -> Callable[[], None]:
        fired = self._fired

        def fire() -> None:
            fired()
            callback()
        return fire

    def call_later(self, delay: float, callback: Callable[[], None], name: str = "") -> Timer:
        return self._clock.call_later(delay, self._wrap(callback), name)

    def call_at(self, deadline: float, callback: Callable[[], None], name: str = "") -> Timer:
        return self._clock.call_at(deadline, self._wrap(callback), name)

    def quiet_call_at(self, deadline: float, callback: Callable[[], None], name: str = "") -> Timer:
        """A watchdog that usually only re-checks and re-arms (a broker's keepalive check): its
        firing counts as network activity only if the callback says so with :meth:`touched`."""
        return self._clock.call_at(deadline, callback, name)

    def touched(self) -> None:
        """The caller is about to put something on the wire (a watchdog closing a connection)."""
        self._fired()

    def __getattr__(self, name: str) -> Any:  # now, pending, next_deadline ...
        return getattr(self._clock, name)
